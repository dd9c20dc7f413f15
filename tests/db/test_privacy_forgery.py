"""Columns the server owns cannot be forged by a clinician's login, and ids are no oracle.

``updated_by``, ``row_version``, ``created_at``, ``updated_at`` and
``deleted_at`` of an event, the id of an event or a review note, and a note's
``created_at`` are the server's: an app login naming one is refused, whatever
the value.  Because a client can no longer choose an event's id, "is there a
private event with this id?" has no answer either.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import Practice
from viewer.db.engine import make_engine


def _outcome(conn: sa.Connection, statement: str, params: dict[str, object]) -> str:
    """What the database answers, with ids taken out: 'ok N' or the error's first line."""
    savepoint = conn.begin_nested()
    try:
        result = conn.execute(sa.text(statement), params)
        return f"ok {result.rowcount}"
    except sa.exc.DBAPIError as exc:
        message = str(exc.orig).splitlines()[0]
        for value in params.values():
            message = message.replace(str(value), "<value>")
        return message
    finally:
        savepoint.rollback()


_INSERT = (
    "INSERT INTO timeline_events (patient_id, therapist_id, event_type, event_date, title{extra_columns}) "
    "VALUES (:patient, caseline_me(), 'note', now(), 'Forged'{extra_values})"
)
FORGED_COLUMNS = {
    "updated_by": ":colleague",
    "row_version": "7",
    "created_at": "'2001-01-01'",
    "updated_at": "'2001-01-01'",
    "deleted_at": "now()",
    "id": "gen_random_uuid()",
}


@pytest.mark.parametrize("column", sorted(FORGED_COLUMNS))
def test_an_app_login_cannot_set_server_columns_on_insert(practice: Practice, column: str) -> None:
    engine = practice.engine_for("author")
    params = {"patient": practice.patients["P1"], "colleague": practice.users["colleague"]}
    with engine.connect() as conn:
        plain = _outcome(conn, _INSERT.format(extra_columns="", extra_values=""), params)
        forged = _outcome(
            conn,
            _INSERT.format(extra_columns=f", {column}", extra_values=f", {FORGED_COLUMNS[column]}"),
            params,
        )
        conn.rollback()
    engine.dispose()
    assert plain == "ok 1"
    assert forged.startswith("permission denied"), forged


@pytest.mark.parametrize(
    "assignment",
    [
        "id = :other",
        "created_at = '2001-01-01'",
        "updated_by = :colleague",
        "updated_at = now()",
        "row_version = 1",
    ],
)
def test_an_app_login_cannot_set_server_columns_on_update(practice: Practice, assignment: str) -> None:
    engine = practice.engine_for("author")
    params = {"own": practice.events["e1"], "other": uuid.uuid4(), "colleague": practice.users["colleague"]}
    with engine.connect() as conn:
        answer = _outcome(conn, f"UPDATE timeline_events SET {assignment} WHERE id = :own", params)
        conn.rollback()
    engine.dispose()
    assert answer.startswith("permission denied"), answer


def test_a_tombstone_carries_the_servers_time(practice: Practice) -> None:
    engine = practice.engine_for("author")
    with engine.connect() as conn:
        conn.execute(
            sa.text("UPDATE timeline_events SET deleted_at = '2001-01-01' WHERE id = :i"),
            {"i": practice.events["e3"]},
        )
        stamped = conn.execute(
            sa.text(
                "SELECT deleted_at > now() AT TIME ZONE 'utc' - interval '1 hour' FROM timeline_events WHERE id = :i"
            ),
            {"i": practice.events["e3"]},
        ).scalar_one()
        conn.rollback()
    engine.dispose()
    assert stamped


def test_an_invisible_events_id_answers_like_an_unknown_one(practice: Practice) -> None:
    """Inserting (or renaming one's own event) to a hidden private event's id tells nothing."""
    engine = practice.engine_for("colleague")
    hidden, unknown = practice.events["e2"], uuid.uuid4()  # the author's private note on P1
    answers = []
    with engine.connect() as conn:
        for target in (hidden, unknown):
            answers.append(
                _outcome(
                    conn,
                    "INSERT INTO timeline_events (id, patient_id, therapist_id, event_type, event_date, title) "
                    "VALUES (:target, :patient, caseline_me(), 'note', now(), 'Probe')",
                    {"target": target, "patient": practice.patients["P1"]},
                )
            )
            answers.append(
                _outcome(
                    conn,
                    "UPDATE timeline_events SET id = :target WHERE id = :own",
                    {"target": target, "own": practice.events["e7"]},
                )
            )
        conn.rollback()
    engine.dispose()
    assert answers[:2] == answers[2:]
    assert all(answer.startswith("permission denied") for answer in answers), answers


def test_review_notes_get_server_ids_and_times(practice: Practice) -> None:
    engine = practice.engine_for("supervisor")
    event = practice.events["e1"]
    with engine.connect() as conn:
        forged_id = _outcome(
            conn,
            "INSERT INTO event_annotations (id, event_id, author_id, body) "
            "VALUES ('00000000-0000-4000-8000-000000000001', :e, caseline_me(), 'x')",
            {"e": event},
        )
        back_dated = _outcome(
            conn,
            "INSERT INTO event_annotations (event_id, author_id, body, created_at) "
            "VALUES (:e, caseline_me(), 'x', '2001-01-01')",
            {"e": event},
        )
        new_id = conn.execute(
            sa.text(
                "INSERT INTO event_annotations (event_id, author_id, body) VALUES (:e, caseline_me(), 'Fine') "
                "RETURNING id"
            ),
            {"e": event},
        ).scalar_one()
        conn.rollback()
    engine.dispose()
    assert forged_id.startswith("permission denied"), forged_id
    assert back_dated.startswith("permission denied"), back_dated
    assert uuid.UUID(str(new_id)).version == 7


def test_the_owner_may_still_supply_ids(practice: Practice) -> None:
    """The FHIR importer and the demo loader run as the owner and keep their own ids."""
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    chosen = uuid.uuid4()
    with owner.connect() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO timeline_events (id, patient_id, event_type, event_date, title) "
                "VALUES (:i, :p, 'note', now(), 'Imported')"
            ),
            {"i": chosen, "p": practice.patients["P1"]},
        )
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM timeline_events WHERE id = :i"), {"i": chosen}
            ).scalar()
            == 1
        )
        conn.rollback()
    owner.dispose()
