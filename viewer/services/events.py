"""Create, update and delete timeline events: the one way edits reach the database.

Each operation validates the draft first (so nothing half-valid is sent), then
runs inside a SAVEPOINT on the caller's connection: if PostgreSQL refuses the
row, that operation is rolled back alone and the database is as it was.
Database refusals become typed errors naming the field or constraint, never
quoting the rejected text.

Given the audit key, every write also appends its audit row in the same
transaction: the edit and its record commit together or not at all.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from psycopg import errors as pg_errors

from viewer.db.models import TimelineEvent
from viewer.domain import EventDraft, ValidationError, to_storage
from viewer.services.audit import AuditKey, append
from viewer.services.errors import EditConflict, EventNotFound, NotPermitted, UnknownPatient

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

    def __init__(self, conn: sa.Connection, audit: AuditKey | None = None) -> None:
        self._conn = conn
        self._audit = audit

    def _record(self, action: str, event_id: uuid.UUID, patient_id: uuid.UUID, **detail: object) -> None:
        if self._audit is not None:
            append(
                self._conn,
                self._audit,
                action,
                event_id=event_id,
                patient_id=patient_id,
                detail=dict(detail) or None,
            )

    def create(self, draft: EventDraft) -> uuid.UUID:
        draft.validate()
        table = _TABLE
        values = _row_values(draft)
        values["metadata"] = values.pop("event_metadata")
        try:
            with self._conn.begin_nested():
                new_id = uuid.UUID(
                    str(
                        self._conn.execute(
                            sa.insert(table).values(**values).returning(table.c.id)
                        ).scalar_one()
                    )
                )
                self._record("event.create", new_id, draft.patient_id, version=1)
        except sa.exc.DBAPIError as exc:
            raise _translate(exc, draft) from None
        return new_id

    def update(self, event_id: uuid.UUID, draft: EventDraft, *, expected_version: int | None = None) -> int:
        """Save an edit; returns the new version.

        With ``expected_version`` (the version the editor opened), a save that
        would overwrite someone else's newer version raises :class:`EditConflict`
        and changes nothing.
        """
        draft.validate()
        table = _TABLE
        values = _row_values(draft)
        values["metadata"] = values.pop("event_metadata")
        condition = sa.and_(table.c.id == event_id, table.c.deleted_at.is_(None))
        if expected_version is not None:
            condition = sa.and_(condition, table.c.row_version == expected_version)
        try:
            with self._conn.begin_nested():
                saved = self._conn.execute(
                    sa.update(table).where(condition).values(**values).returning(table.c.row_version)
                ).scalar()
                if saved is None:
                    raise self._refusal("edit", event_id, expected_version)
                self._record("event.update", event_id, draft.patient_id, version=int(saved))
        except sa.exc.DBAPIError as exc:
            raise _translate(exc, draft) from None
        return int(saved)

    def delete(self, event_id: uuid.UUID, *, expected_version: int | None = None) -> int:
        """Delete as a tombstone: the row stays (history, undo) but leaves every timeline.

        With ``expected_version`` (undoing a create) an event someone changed
        since raises :class:`EditConflict` and stays.  Returns the new version."""
        return self._set_deleted(event_id, deleted=True, expected_version=expected_version)

    def restore(self, event_id: uuid.UUID, *, expected_version: int | None = None) -> int:
        """Undo a delete; returns the new version.  ``expected_version`` as for :meth:`delete`."""
        return self._set_deleted(event_id, deleted=False, expected_version=expected_version)

    def _set_deleted(self, event_id: uuid.UUID, *, deleted: bool, expected_version: int | None) -> int:
        table = _TABLE
        state: sa.ColumnElement[bool] = (
            table.c.deleted_at.is_(None) if deleted else table.c.deleted_at.is_not(None)
        )
        if expected_version is not None:
            state = sa.and_(state, table.c.row_version == expected_version)
        stamp = sa.text("(now() AT TIME ZONE 'utc')") if deleted else None
        action = "delete" if deleted else "restore"
        try:
            with self._conn.begin_nested():
                changed = self._conn.execute(
                    sa.update(table)
                    .where(table.c.id == event_id, state)
                    .values(deleted_at=stamp)
                    .returning(table.c.patient_id, table.c.row_version)
                ).first()
                if changed is None:
                    raise self._refusal(action, event_id, expected_version)
                if deleted:
                    self._record("event.delete", event_id, changed.patient_id, version=changed.row_version)
                else:
                    self._record(
                        "event.update",
                        event_id,
                        changed.patient_id,
                        version=changed.row_version,
                        restored=True,
                    )
        except sa.exc.DBAPIError as exc:
            if isinstance(exc.orig, pg_errors.InsufficientPrivilege):
                raise NotPermitted(action, event_id) from None
            raise
        return int(changed.row_version)

    def history(self, event_id: uuid.UUID) -> list[tuple[int, dict[str, Any]]]:
        """Earlier versions of an event the user may read: (version, the row as it was), oldest first."""
        rows = self._conn.execute(
            sa.text(
                "SELECT row_version, snapshot FROM timeline_event_versions WHERE event_id = :e ORDER BY row_version"
            ),
            {"e": event_id},
        )
        return [(row.row_version, row.snapshot) for row in rows]

    def _refusal(self, action: str, event_id: uuid.UUID, expected_version: int | None = None) -> Exception:
        """No row changed: not there for this user, not theirs, or changed meanwhile.

        An event the user cannot see answers exactly like one that does not exist.
        """
        row = self._conn.execute(
            sa.select(_TABLE.c.row_version, _TABLE.c.deleted_at, _TABLE.c.therapist_id).where(
                _TABLE.c.id == event_id
            )
        ).first()
        if row is None:
            return EventNotFound(event_id)
        if action == "edit" and row.deleted_at is not None:
            return EventNotFound(event_id)
        if expected_version is not None and row.row_version != expected_version:
            return EditConflict(event_id, expected_version, row.row_version)
        return NotPermitted(action, event_id)
