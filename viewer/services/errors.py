"""Errors a user can cause, as opposed to bugs.

The UI shows these politely (next to a field, in a status line); anything else
is a bug and crashes loudly.  Messages name ids and fields, never patient text.
"""

from __future__ import annotations

import uuid

import psycopg
import sqlalchemy as sa

from viewer.domain import ValidationError

__all__ = [
    "NO_TEXT_FOR_ROLE",
    "EditConflict",
    "EventNotFound",
    "NotPermitted",
    "PurposeRequired",
    "ServiceError",
    "UnknownPatient",
    "ValidationError",
    "connection_failed",
    "describe_read_failure",
]


class ServiceError(Exception):
    """Base of the errors a service raises for expected, user-caused problems."""


class EventNotFound(ServiceError):
    """No event with this id exists, or the current user may not see it.

    Both cases answer the same, so an id cannot be used to probe for private events.
    """

    def __init__(self, event_id: uuid.UUID) -> None:
        super().__init__(f"event {event_id} not found")
        self.event_id = event_id


class UnknownPatient(ServiceError):
    def __init__(self, patient_id: uuid.UUID) -> None:
        super().__init__(f"patient {patient_id} not found")
        self.patient_id = patient_id


class NotPermitted(ServiceError):
    """The signed-in user may not do this (the database refused it under row-level security)."""

    def __init__(self, action: str, subject: uuid.UUID) -> None:
        super().__init__(f"you may not {action} {subject}")
        self.action = action
        self.subject = subject


class EditConflict(ServiceError):
    """Someone saved the event after this edit began; nothing was overwritten.

    ``current_version`` is what is stored now, so the editor can show both versions.
    """

    def __init__(self, event_id: uuid.UUID, expected_version: int, current_version: int) -> None:
        super().__init__(
            f"event {event_id} changed while you edited it (you edited version {expected_version}, "
            f"version {current_version} is saved now)"
        )
        self.event_id = event_id
        self.expected_version = expected_version
        self.current_version = current_version


class PurposeRequired(ServiceError):
    """Reading another author's private event needs a stated purpose, which is audited.

    Raised before any of the event's text is fetched; ask the user why, then read again
    with the purpose.
    """

    def __init__(self, event_id: uuid.UUID) -> None:
        super().__init__(f"event {event_id} is another author's private event: state why you read it")
        self.event_id = event_id


NO_TEXT_FOR_ROLE = "Your role sees when, what kind and how important, not the text."


def describe_read_failure(error: BaseException) -> str | None:
    """Why an event's text could not be read, in words for the screen; ``None`` for a bug.

    A hover or a selection whose read fails says so where the text would be:
    it used to replace the whole timeline with an error page (for an
    administrator, on every hover) with no way back but a filter change.
    """
    if isinstance(error, NotPermitted):
        return NO_TEXT_FOR_ROLE
    if isinstance(error, EventNotFound):
        return "It is no longer there: deleted, or made private by its author."
    if connection_failed(error):
        return "The database connection failed, so its text could not be read."
    return None


def connection_failed(error: BaseException) -> bool:
    """The database could not be reached (worth trying again), as opposed to a refusal or a bug."""
    return isinstance(error, sa.exc.OperationalError | psycopg.OperationalError)
