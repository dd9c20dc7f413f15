"""Supervisors' review notes on events: insert-only rows, never edits of the event."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from psycopg import errors as pg_errors

from viewer.domain import ValidationError
from viewer.services.errors import NotPermitted

MAX_BODY = 10_000


def add_annotation(conn: sa.Connection, event_id: uuid.UUID, body: str) -> uuid.UUID:
    """Attach a note by the signed-in user to an event; refused unless they supervise its author.

    The caller appends the ``annotation.create`` audit row in the same transaction: the
    database refuses the note at commit without it (migration ``m3n4o5p6q7r8``).
    """
    text = body.strip()
    if not text or len(text) > MAX_BODY or "\x00" in text:
        raise ValidationError("body", f"must be 1 to {MAX_BODY} characters without NUL bytes")
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                sa.text(
                    "INSERT INTO event_annotations (event_id, author_id, body) "
                    "VALUES (:event_id, caseline_me(), :body) RETURNING id"
                ),
                {"event_id": event_id, "body": text},
            ).scalar_one()
    except sa.exc.DBAPIError as exc:
        if isinstance(exc.orig, pg_errors.InsufficientPrivilege | pg_errors.NotNullViolation):
            raise NotPermitted("annotate", event_id) from None
        if isinstance(exc.orig, pg_errors.ForeignKeyViolation):
            raise NotPermitted("annotate", event_id) from None  # unknown and invisible answer alike
        raise
    return uuid.UUID(str(new_id))


def list_annotations(conn: sa.Connection, event_id: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """(id, author, body) of the notes on an event the signed-in user may read, oldest first."""
    rows = conn.execute(
        sa.text("SELECT id, author_id, body FROM event_annotations WHERE event_id = :e ORDER BY id"),
        {"e": event_id},
    )
    return [(row.id, row.author_id, row.body) for row in rows]
