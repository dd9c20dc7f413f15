"""The database, not only the app, makes a supervisor state a purpose, and audits every write.

Signed in through psql as the supervisor, a supervisee's private events are
markers without text; the text comes only from ``caseline_read_private``,
and only after an ``event.read_private`` row with a purpose has been
*committed* (a row in the same transaction would vanish with a rollback).
Any app login's write to an event or a review note is refused at commit
unless its audit row was appended in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import ACTORS, Practice
from viewer.db.engine import make_engine
from viewer.services.audit import AuditKey, append
from viewer.services.event_history import load_versions
from viewer.services.timeline_copy import copy_private_markers, copy_timeline
from viewer.services.timeline_query import fetch_event, fetch_private_markers, fetch_timeline

KEY = AuditKey(bytes(range(32)))
PRIVATE_TEXT = "SELECT title FROM caseline_read_private(:e)"


@pytest.fixture
def supervisor(practice: Practice) -> Iterator[sa.Engine]:
    engine = practice.engine_for("supervisor")
    yield engine
    engine.dispose()


def _refused(conn: sa.Connection, statement: str, params: dict[str, object]) -> str | None:
    try:
        with conn.begin_nested():
            conn.execute(sa.text(statement), params).all()
    except sa.exc.DBAPIError as exc:
        return str(exc.orig).splitlines()[0]
    return None


def _purpose(engine: sa.Engine, event_id: uuid.UUID, purpose: str = "Weekly supervision review") -> None:
    with engine.begin() as conn:
        append(conn, KEY, "event.read_private", event_id=event_id, detail={"purpose": purpose})


def test_a_plain_select_shows_a_supervisor_no_private_text(practice: Practice, supervisor: sa.Engine) -> None:
    with supervisor.connect() as conn:
        rows = conn.execute(sa.text("SELECT title FROM timeline_events WHERE is_private")).all()
        versions = conn.execute(sa.text("SELECT snapshot FROM timeline_event_versions")).all()
        markers = (
            conn.execute(
                sa.text("SELECT * FROM caseline_private_markers(:p)"), {"p": practice.patients["P1"]}
            )
            .mappings()
            .all()
        )
    assert rows == [] and versions == []
    assert [m["id"] for m in markers] == [practice.events["e2"]]
    assert not {"title", "description", "metadata", "event_subtype"} & set(
        markers[0]
    )  # markers carry no text


def test_no_purpose_no_text(practice: Practice, supervisor: sa.Engine) -> None:
    private = practice.events["e4"]
    with supervisor.connect() as conn:
        refused = _refused(conn, PRIVATE_TEXT, {"e": private})
        conn.rollback()
    assert refused is not None and "needs a stated purpose" in refused


def test_a_purpose_in_the_same_transaction_is_not_enough(practice: Practice, supervisor: sa.Engine) -> None:
    """Otherwise: append, read, ROLLBACK, and the read left no trace."""
    private = practice.events["e4"]
    with supervisor.connect() as conn:
        append(conn, KEY, "event.read_private", event_id=private, detail={"purpose": "Review"})
        refused = _refused(conn, PRIVATE_TEXT, {"e": private})
        conn.rollback()
    assert refused is not None and "needs a stated purpose" in refused


def test_a_blank_purpose_is_not_a_purpose(practice: Practice, supervisor: sa.Engine) -> None:
    private = practice.events["e6"]
    _purpose(supervisor, private, "   ")
    with supervisor.connect() as conn:
        refused = _refused(conn, PRIVATE_TEXT, {"e": private})
        conn.rollback()
    assert refused is not None and "needs a stated purpose" in refused


def test_a_committed_purpose_opens_that_event_only(practice: Practice, supervisor: sa.Engine) -> None:
    private, other = practice.events["e2"], practice.events["e4"]
    _purpose(supervisor, private)
    with supervisor.connect() as conn:
        title = conn.execute(sa.text(PRIVATE_TEXT), {"e": private}).scalar_one()
        refused = _refused(conn, PRIVATE_TEXT, {"e": other})
        conn.rollback()
    assert title == "Event e2"
    assert refused is not None


def test_a_purpose_opens_nothing_for_someone_who_may_not_read_it(practice: Practice) -> None:
    """The colleague (on P1) and the admin can write a purpose row; it gets them nothing, like a missing id."""
    private = practice.events["e2"]
    for actor in ("colleague", "admin", "qa", "outsider"):
        engine = practice.engine_for(actor)
        _purpose(engine, private)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(PRIVATE_TEXT), {"e": private}).all()
            missing = conn.execute(sa.text(PRIVATE_TEXT), {"e": uuid.uuid4()}).all()
            marker = conn.execute(sa.text("SELECT * FROM caseline_private_marker(:e)"), {"e": private}).all()
        engine.dispose()
        assert (rows, missing, marker) == ([], [], []), actor


def test_the_app_shows_a_supervisor_markers_and_text_only_with_a_purpose(
    practice: Practice, supervisor: sa.Engine
) -> None:
    private, patient = practice.events["e2"], practice.patients["P1"]
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        before = conn.execute(
            sa.text("SELECT count(*) FROM audit_log WHERE event_id = :e"), {"e": private}
        ).scalar()
    with supervisor.connect() as conn:
        loaded = copy_timeline(conn, patient)
        paged = fetch_timeline(conn, patient, page_size=2)
        assert loaded is not None
        for columns in (loaded, paged):
            ids = [columns.event_id(row) for row in range(len(columns))]
            assert private in ids
            assert columns.is_private[ids.index(private)]
            assert list(columns.time_ms) == sorted(columns.time_ms)
        assert [loaded.event_id(r) for r in range(len(loaded))] == [
            paged.event_id(r) for r in range(len(paged))
        ]
        marker = fetch_event(conn, private, with_text=False)
        assert (marker.title, marker.description, marker.is_private) == ("", None, True)
        detail = fetch_event(conn, private, purpose="Weekly review", audit=KEY)
        history = load_versions(conn, private, purpose="Weekly review", audit=KEY)
        conn.rollback()  # the reads' audit rows were committed on their own: they stay
    with owner.connect() as conn:
        after = conn.execute(
            sa.text("SELECT count(*) FROM audit_log WHERE event_id = :e AND action = 'event.read_private'"),
            {"e": private},
        ).scalar()
    owner.dispose()
    assert detail.title == "Event e2"
    assert [row.title for row in history] == ["Event e2"]
    assert after == before + 2


WRITES = {
    "create": "INSERT INTO timeline_events (patient_id, therapist_id, event_type, event_date, title) "
    "VALUES (:p1, caseline_me(), 'note', now(), 'Unaudited') RETURNING id",
    "update": "UPDATE timeline_events SET title = 'Unaudited edit' WHERE id = :e1 RETURNING id",
    "delete": "UPDATE timeline_events SET deleted_at = now() WHERE id = :e1 RETURNING id",
}
ACTION_OF = {"create": "event.create", "update": "event.update", "delete": "event.delete"}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_without_its_audit_row_is_refused_at_commit(practice: Practice, write: str) -> None:
    engine = practice.engine_for("author")
    params = {"p1": practice.patients["P1"], "e1": practice.events["e1"]}
    conn = engine.connect()
    try:
        conn.execute(sa.text(WRITES[write]), params)
        with pytest.raises(sa.exc.DBAPIError, match="must be audited in its transaction"):
            conn.commit()
        conn.rollback()
        # An audit row for another event, or of another kind, does not count.
        event = conn.execute(sa.text(WRITES[write]), params).scalar_one()
        append(conn, KEY, "export", event_id=event)
        append(conn, KEY, ACTION_OF[write], event_id=uuid.uuid4())
        with pytest.raises(sa.exc.DBAPIError, match="must be audited in its transaction"):
            conn.commit()
        conn.rollback()
        # Nor does asking for the check at once instead of at commit help.
        conn.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
        with pytest.raises(sa.exc.DBAPIError, match="must be audited in its transaction"):
            conn.execute(sa.text(WRITES[write]), params)
        conn.rollback()
        # With its audit row it goes through.
        event = conn.execute(sa.text(WRITES[write]), params).scalar_one()
        append(conn, KEY, ACTION_OF[write], event_id=event)
        conn.commit()
    finally:
        conn.close()
        engine.dispose()


def test_an_audit_row_from_an_earlier_transaction_does_not_cover_a_later_write(practice: Practice) -> None:
    engine = practice.engine_for("author")
    event = practice.events["e3"]
    with engine.begin() as conn:
        append(conn, KEY, "event.update", event_id=event)
    with engine.connect() as conn:
        conn.execute(sa.text("UPDATE timeline_events SET title = 'Later' WHERE id = :e"), {"e": event})
        with pytest.raises(sa.exc.DBAPIError, match="must be audited"):
            conn.commit()
    engine.dispose()


def test_a_review_note_without_its_audit_row_is_refused(practice: Practice, supervisor: sa.Engine) -> None:
    event = practice.events["e2"]  # supervisors annotate private events too
    insert = "INSERT INTO event_annotations (event_id, author_id, body) VALUES (:e, caseline_me(), 'Seen')"
    with supervisor.connect() as conn:
        conn.execute(sa.text(insert), {"e": event})
        with pytest.raises(sa.exc.DBAPIError, match="must be audited"):
            conn.commit()
        conn.rollback()
        conn.execute(sa.text(insert), {"e": event})
        append(conn, KEY, "annotation.create", event_id=event)
        conn.commit()


@pytest.mark.parametrize("actor", ACTORS)
def test_markers_by_copy_are_the_markers_by_pages(practice: Practice, actor: str) -> None:
    """The COPY the app loads with returns what the keyset pages return, to every login: only a
    supervisor gets rows, and only the supervisees' private events on patients they treat."""
    engine = practice.engine_for(actor)
    try:
        with engine.connect() as conn:
            for patient in practice.patients.values():
                copied, paged = copy_private_markers(conn, patient), fetch_private_markers(conn, patient)
                assert [copied.event_id(r) for r in range(len(copied))] == [
                    paged.event_id(r) for r in range(len(paged))
                ]
                assert copied.time_ms.tolist() == paged.time_ms.tolist()
                assert copied.lane.tolist() == paged.lane.tolist()
                assert copied.importance.tolist() == paged.importance.tolist()
                assert copied.is_private.all()
                if actor != "supervisor":
                    assert not len(copied)
    finally:
        engine.dispose()


@pytest.mark.parametrize("actor", ACTORS)
def test_one_patients_markers_are_those_the_row_by_row_rule_allows(practice: Practice, actor: str) -> None:
    """Migration s9t0u1v2w3x4 asks the rule once per supervisee for one patient; the every-patient
    form still asks it row by row.  Both must give every login the same rows."""
    engine = practice.engine_for(actor)
    try:
        with engine.connect() as conn:
            for patient in practice.patients.values():
                one = conn.execute(
                    sa.text("SELECT id FROM caseline_private_markers(:p) ORDER BY id"), {"p": patient}
                ).scalars()
                by_row = conn.execute(
                    sa.text(
                        "SELECT id FROM caseline_private_markers(NULL) WHERE patient_id = :p ORDER BY id"
                    ),
                    {"p": patient},
                ).scalars()
                assert list(one) == list(by_row)
    finally:
        engine.dispose()
