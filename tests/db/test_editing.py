"""Editing under one's own login: versions, conflicts, tombstone deletes with undo, history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import Practice, build_practice, drop_logins
from viewer.domain import EventDraft
from viewer.services.errors import EditConflict, EventNotFound, NotPermitted
from viewer.services.events import EventService
from viewer.services.timeline_copy import copy_timeline
from viewer.services.timeline_query import fetch_event


@pytest.fixture(scope="module")
def practice(module_scratch_database: sa.URL) -> Iterator[Practice]:
    built = build_practice(module_scratch_database)
    yield built
    drop_logins(built)


def _edited(conn: sa.Connection, practice: Practice, event: str, title: str) -> EventDraft:
    detail = fetch_event(conn, practice.events[event])
    return EventDraft(
        patient_id=detail.patient_id,
        therapist_id=detail.therapist_id,
        event_type=detail.event_type,
        event_date=detail.event_date.replace(tzinfo=UTC),
        title=title,
        description=detail.description,
        importance=detail.importance,
        is_private=detail.is_private,
    )


def test_a_stale_save_is_refused_and_both_versions_remain(practice: Practice) -> None:
    engine = practice.engine_for("author")
    event_id = practice.events["e3"]
    with engine.connect() as conn:
        service = EventService(conn)
        outer = conn.begin()
        try:
            opened = conn.execute(
                sa.text("SELECT row_version FROM timeline_events WHERE id = :i"), {"i": event_id}
            )
            version = opened.scalar_one()
            # Someone (here: another window of the same author) saves first.
            newer = service.update(
                event_id, _edited(conn, practice, "e3", "Saved first"), expected_version=version
            )
            assert newer == version + 1
            with pytest.raises(EditConflict) as conflict:
                service.update(
                    event_id, _edited(conn, practice, "e3", "Saved second"), expected_version=version
                )
            assert (conflict.value.expected_version, conflict.value.current_version) == (version, version + 1)
            assert fetch_event(conn, event_id).title == "Saved first"  # nothing overwritten
            history = service.history(event_id)
            assert [v for v, _ in history] == [version]
            assert history[0][1]["title"] == "Event e3"  # the version before the edit
            stamped = conn.execute(
                sa.text("SELECT updated_by, updated_at IS NOT NULL FROM timeline_events WHERE id = :i"),
                {"i": event_id},
            ).one()
            assert stamped == (practice.users["author"], True)  # stamped by the database, from the login
        finally:
            outer.rollback()
    engine.dispose()


def test_delete_is_a_tombstone_and_undo_restores(practice: Practice) -> None:
    engine = practice.engine_for("author")
    event_id, patient = practice.events["e1"], practice.patients["P1"]
    with engine.connect() as conn:
        service = EventService(conn)
        outer = conn.begin()
        try:
            before = copy_timeline(conn, patient)
            assert before is not None
            service.delete(event_id)
            after = copy_timeline(conn, patient)
            assert after is not None and len(after) == len(before) - 1
            with pytest.raises(EventNotFound):
                fetch_event(conn, event_id)
            with pytest.raises(EventNotFound):
                service.update(event_id, EventDraft(**{**_draft_fields(practice), "patient_id": patient}))
            service.restore(event_id)
            again = copy_timeline(conn, patient)
            assert again is not None and len(again) == len(before)
            assert fetch_event(conn, event_id).title == "Event e1"
            # Nobody in an app role removes rows for real.
            with pytest.raises(sa.exc.DBAPIError, match="permission denied"), conn.begin_nested():
                conn.execute(sa.text("DELETE FROM timeline_events WHERE id = :i"), {"i": event_id})
        finally:
            outer.rollback()
    engine.dispose()


def test_only_the_author_deletes_or_restores(practice: Practice) -> None:
    engine = practice.engine_for("colleague")
    with engine.connect() as conn:
        service = EventService(conn)
        with pytest.raises(NotPermitted):
            service.delete(practice.events["e1"])  # visible to the colleague, but not theirs
        with pytest.raises(EventNotFound):
            service.delete(practice.events["e2"])  # the author's private note: not even there
        conn.rollback()
    engine.dispose()


def _draft_fields(practice: Practice) -> dict[str, object]:
    from datetime import datetime

    from viewer.domain import EventType

    return {
        "therapist_id": practice.users["author"],
        "event_type": EventType.NOTE,
        "event_date": datetime(2025, 1, 6, 10, tzinfo=UTC),
        "title": "x",
    }
