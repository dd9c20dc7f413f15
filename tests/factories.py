"""Small helpers that insert rows for tests (users, links, events) through plain SQL."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from viewer.domain import EventDraft, EventType, Importance

_names = itertools.count(1)


def add_user(conn: sa.Connection, role: str = "patient", name: str | None = None) -> uuid.UUID:
    n = next(_names)
    username = name or f"test_{role}_{n}"
    return conn.execute(
        sa.text("INSERT INTO users (username, display_name, role) VALUES (:u, :d, :r) RETURNING id"),
        {"u": username, "d": f"Test {role} {n}", "r": role},
    ).scalar_one()


def draft(patient_id: uuid.UUID, **overrides: object) -> EventDraft:
    values: dict[str, object] = {
        "patient_id": patient_id,
        "event_type": EventType.SESSION,
        "event_date": datetime(2025, 3, 4, 10, 30, tzinfo=UTC),
        "title": "Weekly session",
        "importance": Importance.NORMAL,
    }
    values.update(overrides)
    return EventDraft(**values)  # type: ignore[arg-type]


def add_events(
    conn: sa.Connection,
    patient_id: uuid.UUID,
    count: int,
    *,
    start: datetime = datetime(2024, 1, 1),
    step: timedelta = timedelta(hours=7),
    therapist_id: uuid.UUID | None = None,
) -> None:
    """Insert ``count`` events quickly with generate_series (types and importance cycle)."""
    types = [t.value for t in EventType]
    levels = [i.db_value for i in Importance]
    conn.execute(
        sa.text(
            """
            INSERT INTO timeline_events (patient_id, therapist_id, event_type, event_date, title, importance,
                                         is_private)
            SELECT :p, :t, (CAST(:types AS text[]))[1 + g % 8], :start + g * :step, 'Event ' || g,
                   (CAST(:levels AS text[]))[1 + (g / 8) % 4],
                   g % 10 = 0
            FROM generate_series(0, :n - 1) AS g
            """
        ),
        {
            "p": patient_id,
            "t": therapist_id,
            "types": types,
            "levels": levels,
            "start": start,
            "step": step,
            "n": count,
        },
    )
