"""What the editor's buttons do, as plain functions: each is one audited transaction.

The UI runs these off the GUI thread inside ``engine.begin()``; each returns
the :class:`SavedChange` that undo needs, so undo never has to guess what the
event looked like before.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from viewer.domain import EventDetail, EventDraft
from viewer.services.audit import AuditKey
from viewer.services.events import EventService
from viewer.services.timeline_query import fetch_event
from viewer.undo import ChangeKind, SavedChange


def save_new(conn: sa.Connection, key: AuditKey, draft: EventDraft) -> SavedChange:
    event_id = EventService(conn, audit=key).create(draft)
    return SavedChange(ChangeKind.CREATED, event_id, draft.patient_id, draft.title, version_after=1)


def save_edit(
    conn: sa.Connection, key: AuditKey, event_id: uuid.UUID, draft: EventDraft, expected_version: int
) -> SavedChange:
    """Save over ``expected_version``; raises EditConflict (nothing written) if the event moved on."""
    before = fetch_event(conn, event_id)
    version = EventService(conn, audit=key).update(event_id, draft, expected_version=expected_version)
    return SavedChange(
        ChangeKind.UPDATED,
        event_id,
        draft.patient_id,
        draft.title,
        before=before.as_draft(),
        version_after=version,
    )


def delete_event(conn: sa.Connection, key: AuditKey, event_id: uuid.UUID) -> SavedChange:
    detail = fetch_event(conn, event_id)
    version = EventService(conn, audit=key).delete(event_id)
    return SavedChange(ChangeKind.DELETED, event_id, detail.patient_id, detail.title, version_after=version)


def current_version(conn: sa.Connection, event_id: uuid.UUID) -> EventDetail:
    """The event as saved now (for the conflict view)."""
    return fetch_event(conn, event_id)
