"""The privacy matrix, case by case: raw SQL under each login, the services, and access.py agree with it.

The expected answers are written out below from ``privacy.md``'s table, by
hand, not computed by the code under test.  Each case signs in as the actor
with their own password (no owner rights, no BYPASSRLS) and asks three ways:
plain SQL, the service layer, and ``viewer.services.access``.  Writes run in
a transaction that is rolled back, so every case sees the same practice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import ACTORS, ASSIGNMENTS, EVENTS, Practice
from viewer.db.engine import make_engine
from viewer.domain import EventDraft
from viewer.services.access import Action, EventFacts, load_actor, may, may_create_for
from viewer.services.annotations import add_annotation
from viewer.services.audit import AuditKey, append
from viewer.services.errors import EventNotFound, NotPermitted
from viewer.services.events import EventService
from viewer.services.patients import list_patients
from viewer.services.timeline_copy import copy_timeline
from viewer.services.timeline_query import TimelineColumns, fetch_event, fetch_timeline

ALL = set(EVENTS)
# Who sees which events (row, count and marker), from privacy.md:
SEES = {
    # the author: own events on the patients they treat (P1, P2, PD) and the shared events there;
    # nothing of P4, whom they no longer treat, not even what they wrote there (e11, e12)
    "author": {"e1", "e2", "e3", "e4", "e5", "e6", "e7", "e10"},
    # another therapist on P1, P3 and P4: own events; shared ones there (e11: the author's, on P4);
    # never the author's private ones
    "colleague": {"e1", "e7", "e8", "e9", "e10", "e11"},
    # a therapist with no patients: nothing at all
    "outsider": set(),
    # the author's supervisor, via the author: everything the author wrote on the patients the
    # author treats (private included), the shared events of those patients; not P4's (the
    # author's assignment there ended), not the colleague's private note, not P3
    "supervisor": {"e1", "e2", "e3", "e4", "e5", "e6", "e7", "e10"},
    # a supervisor whose supervision and care assignment have ended: nothing
    "former": set(),
    # admin: every shared event, metadata only
    "admin": {"e1", "e3", "e5", "e7", "e9", "e10", "e11"},
    # qa: shared events of demo patients only
    "qa": {"e5"},
}
READS_TEXT = {actor: (set() if actor == "admin" else events) for actor, events in SEES.items()}
# Edits and deletes are the author's own, on a patient they still treat.
WRITES = {actor: set() for actor in ACTORS} | {
    "author": {"e1", "e2", "e3", "e4", "e5", "e6"},
    "colleague": {"e7", "e8", "e9"},
}
# Annotations: the author's supervisor, on the author's events (private ones too) where the author treats.
ANNOTATES = {actor: set() for actor in ACTORS} | {"supervisor": {"e1", "e2", "e3", "e4", "e5", "e6"}}
EXPECTED: dict[Action, dict[str, set[str]]] = {
    Action.LIST: SEES,
    Action.COUNT: SEES,
    Action.READ: SEES,
    Action.READ_TEXT: READS_TEXT,
    Action.EXPORT: READS_TEXT,
    Action.EDIT: WRITES,
    Action.DELETE: WRITES,
    Action.ANNOTATE: ANNOTATES,
}


@pytest.fixture(scope="module")
def engines(practice: Practice) -> Iterator[dict[str, sa.Engine]]:
    made = {actor: practice.engine_for(actor) for actor in ACTORS}
    yield made
    for engine in made.values():
        engine.dispose()


@pytest.fixture(scope="module")
def facts(practice: Practice) -> dict[str, EventFacts]:
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT e.id, e.patient_id, e.therapist_id, e.is_private, u.username LIKE 'demo\\_%' AS demo "
                "FROM timeline_events e JOIN users u ON u.id = e.patient_id"
            )
        ).all()
    owner.dispose()
    by_id = {row.id: EventFacts(row.patient_id, row.therapist_id, row.is_private, row.demo) for row in rows}
    return {name: by_id[event_id] for name, event_id in practice.events.items()}


def _attempt(conn: sa.Connection, statement: str, params: dict[str, object]) -> int:
    """Rows affected (or returned), 0 when the database refuses; either way the change is undone."""
    savepoint = conn.begin_nested()
    try:
        result = conn.execute(sa.text(statement), params)
        return len(result.all()) if result.returns_rows else result.rowcount
    except sa.exc.DBAPIError as exc:
        assert "permission denied" in str(exc.orig) or "row-level security" in str(exc.orig), exc.orig
        return 0
    finally:
        savepoint.rollback()


# The SQL interface a psql user has: the table under their row-level security, and for a
# supervisee's private event the marker functions (no text) and the read function (text, only
# after a committed purpose).
RAW: dict[Action, str] = {
    Action.LIST: "SELECT id FROM timeline_events WHERE patient_id = :patient AND id = :id "
    "UNION ALL SELECT id FROM caseline_private_markers(:patient) WHERE id = :id",
    Action.COUNT: "SELECT 1 FROM (SELECT count(*) AS n FROM (SELECT id FROM timeline_events WHERE id = :id "
    "UNION ALL SELECT id FROM caseline_private_marker(:id)) u) c WHERE n = 1",
    Action.READ: "SELECT id, event_type, event_date, importance, therapist_id FROM timeline_events WHERE id = :id "
    "UNION ALL SELECT id, event_type, event_date, importance, therapist_id FROM caseline_private_marker(:id)",
    Action.READ_TEXT: "SELECT title, description, metadata FROM timeline_events WHERE id = :id "
    "UNION ALL SELECT title, description, metadata FROM caseline_read_private(:id)",
    Action.EXPORT: "SELECT * FROM timeline_events WHERE id = :id UNION ALL SELECT * FROM caseline_read_private(:id)",
    Action.EDIT: "UPDATE timeline_events SET title = title || '.' WHERE id = :id",
    Action.DELETE: "UPDATE timeline_events SET deleted_at = now() WHERE id = :id AND deleted_at IS NULL",
    Action.ANNOTATE: "INSERT INTO event_annotations (event_id, author_id, body) "
    "VALUES (:id, caseline_me(), 'review') RETURNING id",
}
NEEDS_PURPOSE = {Action.READ_TEXT, Action.EXPORT}


def _state_purpose(engine: sa.Engine, event_id: uuid.UUID) -> None:
    """What a psql user must do before reading private text: commit an audited purpose."""
    with engine.begin() as conn:
        append(conn, _KEY, "event.read_private", event_id=event_id, detail={"purpose": "Supervision review"})


def _raw(
    conn: sa.Connection, action: Action, event_id: uuid.UUID, patient_id: uuid.UUID, engine: sa.Engine
) -> bool:
    if action in NEEDS_PURPOSE:
        _state_purpose(engine, event_id)
    return _attempt(conn, RAW[action], {"id": event_id, "patient": patient_id}) == 1


def _draft_of(conn_owner_detail: object) -> EventDraft:
    detail = conn_owner_detail
    return EventDraft(
        patient_id=detail.patient_id,  # type: ignore[attr-defined]
        therapist_id=detail.therapist_id,  # type: ignore[attr-defined]
        event_type=detail.event_type,  # type: ignore[attr-defined]
        event_date=detail.event_date.replace(tzinfo=UTC),  # type: ignore[attr-defined]
        title="Edited",
        importance=detail.importance,  # type: ignore[attr-defined]
        is_private=detail.is_private,  # type: ignore[attr-defined]
    )


def _service(
    conn: sa.Connection, action: Action, event_id: uuid.UUID, patient_id: uuid.UUID, owner_url: sa.URL
) -> bool:
    calls: dict[Action, Callable[[], object]] = {
        Action.LIST: lambda: event_id in _ids(fetch_timeline(conn, patient_id)),
        Action.COUNT: lambda: event_id in _ids(copy_timeline(conn, patient_id) or _empty()),
        Action.READ: lambda: fetch_event(conn, event_id, with_text=False),
        # A supervisor states a purpose to read a supervisee's private event; the read is audited.
        Action.READ_TEXT: lambda: fetch_event(conn, event_id, purpose="Supervision review", audit=_KEY).title,
        Action.EXPORT: lambda: fetch_event(conn, event_id, purpose="Supervision review", audit=_KEY).title,
        Action.EDIT: lambda: EventService(conn).update(
            event_id, _draft_of(_owner_detail(owner_url, event_id))
        ),
        Action.DELETE: lambda: EventService(conn).delete(event_id),
        Action.ANNOTATE: lambda: add_annotation(conn, event_id, "Reviewed in supervision."),
    }
    savepoint = (
        conn.begin_nested()
    )  # undo whatever the service changed, so the next question sees the same data
    try:
        outcome = calls[action]()
    except (EventNotFound, NotPermitted):
        return False
    finally:
        savepoint.rollback()
    return outcome if isinstance(outcome, bool) else True


def _ids(columns: TimelineColumns) -> set[uuid.UUID]:
    """The events' ids (numpy drops an S16 element's trailing NUL bytes, so never compare raw bytes)."""
    return {columns.event_id(row) for row in range(len(columns))}


def _empty() -> TimelineColumns:
    return TimelineColumns.empty()


_details: dict[uuid.UUID, object] = {}
_KEY = AuditKey(bytes(range(32)))


def _owner_detail(url: sa.URL, event_id: uuid.UUID) -> object:
    if event_id not in _details:
        owner = make_engine(url, poolclass=sa.pool.NullPool)
        with owner.connect() as conn:
            _details[event_id] = fetch_event(conn, event_id)
        owner.dispose()
    return _details[event_id]


CASES = [(actor, event, action) for actor in ACTORS for event in EVENTS for action in Action]


@pytest.mark.parametrize(
    ("actor", "event", "action"), CASES, ids=[f"{a}-{e}-{x.name.lower()}" for a, e, x in CASES]
)
def test_matrix(
    practice: Practice,
    engines: dict[str, sa.Engine],
    facts: dict[str, EventFacts],
    actor: str,
    event: str,
    action: Action,
) -> None:
    expected = event in EXPECTED[action][actor]
    event_id = practice.events[event]
    patient_id = facts[event].patient_id
    with engines[actor].connect() as conn:
        outer = conn.begin()
        try:
            by_sql = _raw(conn, action, event_id, patient_id, engines[actor])
            by_service = _service(conn, action, event_id, patient_id, practice.url)
            by_rules = may(load_actor(conn), facts[event], action)
        finally:
            outer.rollback()
    assert (by_sql, by_service, by_rules) == (expected, expected, expected)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 60
    assert len(CASES) == len(ACTORS) * len(EVENTS) * len(Action)


@pytest.mark.parametrize("actor", ACTORS)
def test_counts_and_patient_list_obey_the_policies(
    practice: Practice, engines: dict[str, sa.Engine], actor: str
) -> None:
    """Rollups never leak: the patient list's counts are exactly the visible events per patient."""
    with engines[actor].connect() as conn:
        listed = {p.id: p.event_count for p in list_patients(conn)}
        total = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM timeline_events) + (SELECT count(*) FROM caseline_private_markers(NULL))"
            )
        ).scalar_one()
    expected: dict[uuid.UUID, int] = {}
    for name in SEES[actor]:
        patient = practice.patients[EVENTS[name][1]]
        expected[patient] = expected.get(patient, 0) + 1
    assert total == len(SEES[actor])
    for patient, count in expected.items():
        assert listed.get(patient) == count
    # Patients the actor may not see are not listed at all (their names are patient data too).
    assert set(listed) >= set(expected)
    if actor == "outsider":
        assert listed == {}


@pytest.mark.parametrize("actor", ["author", "colleague"])
def test_creating_events(practice: Practice, engines: dict[str, sa.Engine], actor: str) -> None:
    """A clinician adds their own events to patients they treat, and to nobody else's."""
    from datetime import datetime

    from viewer.domain import EventType

    with engines[actor].connect() as conn:
        me = load_actor(conn)
        conn.rollback()
        for name, patient_id in practice.patients.items():
            outer = conn.begin()
            try:
                draft = EventDraft(
                    patient_id=patient_id,
                    therapist_id=practice.users[actor],
                    event_type=EventType.SESSION,
                    event_date=datetime(2025, 5, 5, 9, tzinfo=UTC),
                    title="New session",
                )
                try:
                    EventService(conn).create(draft)
                    created = True
                except NotPermitted:
                    created = False
                assert created == (name in ASSIGNMENTS[actor])
                assert created == may_create_for(me, patient_id)
                # Writing an event in someone else's name is refused, even on one's own patient.
                forged = EventDraft(**{**draft.__dict__, "therapist_id": practice.users["outsider"]})
                with pytest.raises(NotPermitted):
                    EventService(conn).create(forged)
            finally:
                outer.rollback()


@pytest.mark.parametrize("actor", [*ACTORS, "owner"])
def test_the_read_policy_is_caseline_may_read_event_row_by_row(
    practice: Practice, engines: dict[str, sa.Engine], actor: str
) -> None:
    """The set-based read policy (migration q7r8s9t0u1v2) keeps exactly the rows the per-row rule would.

    Asked under each login: the rows the table shows, against every row's facts
    run through ``caseline_may_read_event`` in the same session.
    """
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, patient_id, therapist_id, is_private FROM timeline_events")
        ).all()
    engine = owner if actor == "owner" else engines[actor]
    with engine.connect() as conn:
        shown = set(conn.execute(sa.text("SELECT id FROM timeline_events")).scalars())
        ruled = {
            row.id
            for row in rows
            if conn.execute(
                sa.text("SELECT caseline_may_read_event(:p, :t, :private)"),
                {"p": row.patient_id, "t": row.therapist_id, "private": row.is_private},
            ).scalar_one()
        }
    owner.dispose()
    assert shown == ruled
    if actor in ("owner", "author", "colleague", "admin", "qa"):  # not a vacuous agreement on nothing
        assert shown


def test_the_read_policy_asks_who_i_am_once_per_query_not_per_row(
    practice: Practice, engines: dict[str, sa.Engine]
) -> None:
    """Opening a patient under the policy is an index scan with one lookup per row in a prepared set.

    Before, every row called ``caseline_may_read_event`` (five to eight small
    queries each): 84 ms for 2,000 events where the owner took 0.4 ms.
    """
    with engines["author"].connect() as conn:
        plan = "\n".join(
            conn.execute(
                sa.text("EXPLAIN SELECT id FROM timeline_events WHERE patient_id = :p ORDER BY event_date"),
                {"p": practice.patients["P1"]},
            ).scalars()
        )
    assert "caseline_may_read_event" not in plan
    assert "hashed SubPlan" in plan and "InitPlan" in plan
