"""Editing under one's own login: versions, conflicts, tombstone deletes with undo, history."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import Practice
from viewer.db.engine import make_engine
from viewer.domain import EventDraft, EventType
from viewer.services.audit import AuditKey
from viewer.services.errors import EditConflict, EventNotFound, NotPermitted, PurposeRequired
from viewer.services.event_commands import delete_event, save_edit, save_new
from viewer.services.events import EventService
from viewer.services.timeline_copy import copy_timeline
from viewer.services.timeline_query import fetch_event
from viewer.undo import ChangeKind, UndoStack, undo_change


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


def _audit_rows(practice: Practice, event_id: object) -> list[tuple[str, str, dict[str, object] | None]]:
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT actor, action, detail FROM audit_log WHERE event_id = :e ORDER BY seq"),
            {"e": event_id},
        ).all()
    owner.dispose()
    return [(r.actor, r.action, r.detail) for r in rows]


def test_every_write_is_audited_with_the_edit_and_rolled_back_with_it(practice: Practice) -> None:
    key = AuditKey(bytes(range(32)))
    engine = practice.engine_for("author")
    login = practice.login("author")
    with engine.begin() as conn:
        service = EventService(conn, audit=key)
        new_id = service.create(
            EventDraft(
                patient_id=practice.patients["P1"],
                therapist_id=practice.users["author"],
                event_type=EventType.NOTE,
                event_date=datetime(2025, 3, 1, 9, tzinfo=UTC),
                title="Audited note",
            )
        )
        draft = fetch_event(conn, new_id).as_draft()
        version = service.update(
            new_id, dataclasses.replace(draft, title="Audited, edited"), expected_version=1
        )
        service.delete(new_id)
        service.restore(new_id)
    # A write that fails leaves no audit row behind.
    with engine.connect() as conn:
        with pytest.raises(EditConflict):
            EventService(conn, audit=key).update(
                new_id, fetch_event(conn, new_id).as_draft(), expected_version=1
            )
        conn.commit()
    engine.dispose()
    rows = _audit_rows(practice, new_id)
    assert [(actor, action) for actor, action, _ in rows] == [
        (login, "event.create"),
        (login, "event.update"),
        (login, "event.delete"),
        (login, "event.update"),
    ]
    assert [detail for _, _, detail in rows] == [
        {"version": 1},
        {"version": version},
        {"version": version + 1},
        {"version": version + 2, "restored": True},
    ]


def test_a_supervisor_reads_a_private_event_only_with_an_audited_purpose(practice: Practice) -> None:
    key = AuditKey(bytes(range(32)))
    private = practice.events["e2"]  # the author's private event on P1
    before = _audit_rows(practice, private)
    engine = practice.engine_for("supervisor")
    with engine.begin() as conn:
        with pytest.raises(PurposeRequired):
            fetch_event(conn, private, audit=key)
        with pytest.raises(PurposeRequired):
            fetch_event(conn, private, purpose="   ", audit=key)
        assert fetch_event(conn, private, with_text=False).is_private  # date, type, author: no purpose needed
    assert _audit_rows(practice, private) == before  # refusals leave no trace and no text
    with engine.begin() as conn:
        detail = fetch_event(conn, private, purpose="Weekly supervision review", audit=key)
    engine.dispose()
    assert detail.title == "Event e2"
    assert _audit_rows(practice, private)[len(before) :] == [
        (practice.login("supervisor"), "event.read_private", {"purpose": "Weekly supervision review"})
    ]
    # The author reads their own private event without being asked.
    author = practice.engine_for("author")
    with author.connect() as conn:
        assert fetch_event(conn, private).title == "Event e2"
    author.dispose()


def test_undo_reverses_each_saved_change_and_never_overwrites_a_newer_one(practice: Practice) -> None:
    key = AuditKey(bytes(range(32)))
    engine = practice.engine_for("author")
    stack = UndoStack()
    with engine.begin() as conn:
        created = save_new(
            conn,
            key,
            EventDraft(
                patient_id=practice.patients["P2"],
                therapist_id=practice.users["author"],
                event_type=EventType.MILESTONE,
                event_date=datetime(2025, 4, 1, 10, tzinfo=UTC),
                title="Goal reached",
            ),
        )
        stack.push(created)
        opened = fetch_event(conn, created.event_id)
        stack.push(
            save_edit(conn, key, created.event_id, dataclasses.replace(opened.as_draft(), title="Renamed"), 1)
        )
        stack.push(delete_event(conn, key, created.event_id))
    deleted = stack.pop()
    assert deleted is not None and deleted.kind is ChangeKind.DELETED
    with engine.begin() as conn:  # undo the delete: back on the timeline with the edited title
        stack.rebase(created.event_id, undo_change(EventService(conn, audit=key), deleted))
        assert fetch_event(conn, created.event_id).title == "Renamed"
        edit = stack.pop()
        assert edit is not None
        stack.rebase(created.event_id, undo_change(EventService(conn, audit=key), edit))
        reverted = fetch_event(conn, created.event_id)
        assert reverted.title == "Goal reached" and reverted.row_version == 5
        # Someone edits again; undoing the now-stale edit record is refused, not applied.
        save_edit(conn, key, created.event_id, dataclasses.replace(reverted.as_draft(), title="Newest"), 5)
    with engine.connect() as conn, pytest.raises(EditConflict):
        undo_change(EventService(conn, audit=key), edit)
    with engine.begin() as conn:
        assert fetch_event(conn, created.event_id).title == "Newest"
        first = stack.pop()
        assert first is not None and first.kind is ChangeKind.CREATED and len(stack) == 0
    # Nor is deleting the new event, which would throw the newer edit away with it.
    with engine.connect() as conn, pytest.raises(EditConflict):
        undo_change(EventService(conn, audit=key), first)
    with engine.begin() as conn:
        assert fetch_event(conn, created.event_id).title == "Newest"
    engine.dispose()


def test_undo_of_a_create_or_delete_applies_only_to_the_version_it_left(practice: Practice) -> None:
    key = AuditKey(bytes(range(32)))
    engine = practice.engine_for("author")
    draft = EventDraft(
        patient_id=practice.patients["P2"],
        therapist_id=practice.users["author"],
        event_type=EventType.NOTE,
        event_date=datetime(2025, 5, 2, 9, tzinfo=UTC),
        title="Risk assessment",
    )
    with engine.begin() as conn:
        untouched = save_new(conn, key, draft)
        undo_change(EventService(conn, audit=key), untouched)  # nobody changed it: the create is undone
        with pytest.raises(EventNotFound):
            fetch_event(conn, untouched.event_id)
        created = save_new(conn, key, draft)
        deleted = delete_event(conn, key, created.event_id)
        EventService(conn, audit=key).restore(created.event_id)  # another workstation restored it ...
    with engine.connect() as conn, pytest.raises(EditConflict):  # ... so this delete is not ours to undo
        undo_change(EventService(conn, audit=key), deleted)
    with engine.begin() as conn:
        # Another workstation adds its notes to a new event; undoing the create keeps them.
        opened = fetch_event(conn, created.event_id)
        save_edit(
            conn,
            key,
            created.event_id,
            dataclasses.replace(opened.as_draft(), description="Forty minutes of notes"),
            opened.row_version,
        )
    with engine.connect() as conn, pytest.raises(EditConflict):
        undo_change(EventService(conn, audit=key), created)
    with engine.begin() as conn:
        assert fetch_event(conn, created.event_id).description == "Forty minutes of notes"
    engine.dispose()
