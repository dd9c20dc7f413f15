"""An event's history keeps each version's own privacy.

Each snapshot in ``timeline_event_versions`` is judged by what it was (its own
``is_private``, author and patient), not only by the event as it is now: when
an author unmarks a private note, the text it had while private stays hers.
The author edits under her own login and commits; the colleague, who treats
the same patient, then looks through raw SQL and through the history service.
"""

from __future__ import annotations

import dataclasses
import uuid

import sqlalchemy as sa

from tests.db.privacy_practice import Practice
from viewer.services.audit import AuditKey
from viewer.services.errors import EventNotFound
from viewer.services.event_history import load_versions
from viewer.services.events import EventService
from viewer.services.timeline_query import fetch_event

KEY = AuditKey(bytes(range(32)))


def _author_saves(practice: Practice, event_id: uuid.UUID, *, title: str, private: bool) -> None:
    engine = practice.engine_for("author")
    with engine.begin() as conn:
        draft = fetch_event(conn, event_id).as_draft()
        EventService(conn, audit=KEY).update(
            event_id, dataclasses.replace(draft, title=title, is_private=private)
        )
    engine.dispose()


def _colleague_reads(practice: Practice, event_id: uuid.UUID) -> tuple[list[str], list[str], list[str]]:
    """Titles of the snapshots by raw SQL, of every version by the history service, and all words."""
    engine = practice.engine_for("colleague")
    with engine.connect() as conn:
        raw = list(
            conn.execute(
                sa.text(
                    "SELECT snapshot->>'title' FROM timeline_event_versions WHERE event_id = :e "
                    "ORDER BY row_version"
                ),
                {"e": event_id},
            ).scalars()
        )
        dumped = list(
            conn.execute(
                sa.text("SELECT snapshot::text FROM timeline_event_versions WHERE event_id = :e"),
                {"e": event_id},
            ).scalars()
        )
        try:
            shown = [row.title for row in load_versions(conn, event_id)]
        except EventNotFound:  # an event the colleague may not see has no history either
            shown = []
        conn.rollback()
    engine.dispose()
    return raw, shown, dumped


def test_unmarking_a_private_event_keeps_its_private_past_private(practice: Practice) -> None:
    event_id = practice.events["e2"]  # the author's private note on P1, which the colleague also treats
    _author_saves(practice, event_id, title="Private thoughts, second draft", private=True)
    _author_saves(practice, event_id, title="Session summary for the team", private=False)
    raw, shown, dumped = _colleague_reads(practice, event_id)
    assert raw == []
    assert shown == ["Session summary for the team"]  # the current, shared version only
    assert not any("Private thoughts" in text or "Event e2" in text for text in dumped)
    # The author still sees her whole history.
    engine = practice.engine_for("author")
    with engine.connect() as conn:
        titles = [row.title for row in load_versions(conn, event_id)]
    engine.dispose()
    assert titles == ["Session summary for the team", "Private thoughts, second draft", "Event e2"]


def test_marking_an_event_private_then_shared_again_hides_the_private_middle(practice: Practice) -> None:
    event_id = practice.events["e1"]  # shared on P1
    _author_saves(practice, event_id, title="Now a private reflection", private=True)
    raw, shown, _ = _colleague_reads(practice, event_id)
    assert (raw, shown) == ([], [])  # private now: no event, no history
    _author_saves(practice, event_id, title="Shared again", private=False)
    raw, shown, dumped = _colleague_reads(practice, event_id)
    assert raw == ["Event e1"]  # the shared first version is still shared
    assert shown == ["Shared again", "Event e1"]
    assert not any("private reflection" in text for text in dumped)


def test_the_admin_and_qa_read_no_private_snapshot(practice: Practice) -> None:
    event_id = practice.events["e5"]  # shared, on the demo patient qa may see
    _author_saves(practice, event_id, title="Private detour", private=True)
    _author_saves(practice, event_id, title="Back to shared", private=False)
    engine = practice.engine_for("qa")
    with engine.connect() as conn:
        titles = list(
            conn.execute(
                sa.text("SELECT snapshot->>'title' FROM timeline_event_versions WHERE event_id = :e"),
                {"e": event_id},
            ).scalars()
        )
    engine.dispose()
    assert titles == ["Event e5"]
