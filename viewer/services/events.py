"""Create, update and delete timeline events: the one way edits reach the database.

Each operation validates the draft first (so nothing half-valid is sent), then
runs inside a SAVEPOINT on the caller's connection: if PostgreSQL refuses the
row, that operation is rolled back alone and the database is as it was.
Database refusals become typed errors naming the field or constraint, never
quoting the rejected text.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from psycopg import errors as pg_errors

from viewer.db.models import TimelineEvent
from viewer.domain import EventDraft, ValidationError, to_storage
from viewer.services.errors import EventNotFound, NotPermitted, UnknownPatient

_TABLE: sa.Table = TimelineEvent.__table__  # type: ignore[assignment]

_CONSTRAINT_FIELDS = {
    "ck_timeline_events_type": "event_type",
    "ck_timeline_events_importance": "importance",
    "fk_timeline_events_therapist_id": "therapist_id",
}


def _row_values(draft: EventDraft) -> dict[str, Any]:
    return {
        "patient_id": draft.patient_id,
        "therapist_id": draft.therapist_id,
        "event_type": draft.event_type.value,
        "event_subtype": draft.event_subtype,
        "event_date": to_storage(draft.event_date),
        "title": draft.title,
        "description": draft.description,
        "event_metadata": draft.metadata,
        "related_entity_type": draft.related_entity_type,
        "related_entity_id": draft.related_entity_id,
        "importance": draft.importance.db_value,
        "is_private": draft.is_private,
    }


def _translate(exc: sa.exc.DBAPIError, draft: EventDraft) -> Exception:
    """Turn a database refusal into the typed error the UI can place next to a field."""
    orig = exc.orig
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
    if constraint == "fk_timeline_events_patient_id":
        return UnknownPatient(draft.patient_id)
    if constraint in _CONSTRAINT_FIELDS:
        return ValidationError(_CONSTRAINT_FIELDS[constraint], f"refused by the database ({constraint})")
    if isinstance(orig, pg_errors.StringDataRightTruncation):
        return ValidationError("event", "a text field is longer than the database allows")
    if isinstance(orig, pg_errors.UntranslatableCharacter | pg_errors.CharacterNotInRepertoire):
        return ValidationError("event", "contains characters the database cannot store")
    if isinstance(orig, pg_errors.InsufficientPrivilege):  # row-level security or a missing grant
        return NotPermitted("save an event for patient", draft.patient_id)
    return exc


class EventService:
    """Event edits on one connection; the caller owns the outer transaction."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def create(self, draft: EventDraft) -> uuid.UUID:
        draft.validate()
        table = _TABLE
        values = _row_values(draft)
        values["metadata"] = values.pop("event_metadata")
        try:
            with self._conn.begin_nested():
                new_id = self._conn.execute(
                    sa.insert(table).values(**values).returning(table.c.id)
                ).scalar_one()
        except sa.exc.DBAPIError as exc:
            raise _translate(exc, draft) from None
        return uuid.UUID(str(new_id))

    def update(self, event_id: uuid.UUID, draft: EventDraft) -> None:
        draft.validate()
        table = _TABLE
        values = _row_values(draft)
        values["metadata"] = values.pop("event_metadata")
        try:
            with self._conn.begin_nested():
                result = self._conn.execute(sa.update(table).where(table.c.id == event_id).values(**values))
                if result.rowcount == 0:
                    raise self._refusal("edit", event_id)
        except sa.exc.DBAPIError as exc:
            raise _translate(exc, draft) from None

    def delete(self, event_id: uuid.UUID) -> None:
        table = _TABLE
        try:
            with self._conn.begin_nested():
                result = self._conn.execute(sa.delete(table).where(table.c.id == event_id))
                if result.rowcount == 0:
                    raise self._refusal("delete", event_id)
        except sa.exc.DBAPIError as exc:
            if isinstance(exc.orig, pg_errors.InsufficientPrivilege):
                raise NotPermitted("delete", event_id) from None
            raise

    def _refusal(self, action: str, event_id: uuid.UUID) -> Exception:
        """No row changed: the event is not there for this user, or it is there but not theirs.

        An event the user cannot see answers exactly like one that does not exist.
        """
        visible = self._conn.execute(
            sa.select(sa.literal(1)).select_from(_TABLE).where(_TABLE.c.id == event_id)
        ).first()
        return NotPermitted(action, event_id) if visible else EventNotFound(event_id)
