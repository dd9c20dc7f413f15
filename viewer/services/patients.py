"""The patient list: who can be opened, with enough to find them quickly."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from viewer.accents import folded_key


@dataclass(frozen=True)
class PatientSummary:
    id: uuid.UUID
    username: str
    display_name: str
    event_count: int
    first_event: datetime | None
    last_event: datetime | None

    def matches(self, text: str) -> bool:
        """Match on name or username, blind to case and accents ("nunez" finds "Núñez"), for the search box."""
        needle = folded_key(text.strip())
        return not needle or needle in folded_key(self.display_name) or needle in folded_key(self.username)


_PATIENTS_SQL = sa.text(
    """
    SELECT u.id, u.username, u.display_name,
           count(e.id) AS event_count, min(e.event_date) AS first_event, max(e.event_date) AS last_event
    FROM users u LEFT JOIN (
        SELECT id, patient_id, event_date FROM timeline_events WHERE deleted_at IS NULL
        UNION ALL  -- a supervisor's count includes the supervisees' private events (markers, no text)
        SELECT id, patient_id, event_date FROM caseline_private_markers(NULL)
    ) e ON e.patient_id = u.id
    WHERE u.role = 'patient' AND u.is_active
    GROUP BY u.id
    ORDER BY u.display_name, u.id
    """
)


def list_patients(conn: sa.Connection) -> list[PatientSummary]:
    return [
        PatientSummary(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            event_count=row.event_count,
            first_event=row.first_event,
            last_event=row.last_event,
        )
        for row in conn.execute(_PATIENTS_SQL)
    ]


def find_patient(conn: sa.Connection, key: str) -> uuid.UUID | None:
    """A patient id from an id or a username (``--patient`` accepts both)."""
    try:
        candidate: uuid.UUID | None = uuid.UUID(key)
    except ValueError:
        candidate = None
    row = conn.execute(
        sa.text("SELECT id FROM users WHERE role = 'patient' AND (username = :key OR id = :candidate)"),
        {"key": key, "candidate": candidate},
    ).first()
    return row.id if row else None
