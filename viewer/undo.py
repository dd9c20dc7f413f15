"""Undo for saved changes: each save records how to take it back, Ctrl+Z applies the reverse.

Undo is itself an ordinary, audited, conflict-checked write, and each kind
applies only if nobody changed the event since (else
:class:`~viewer.services.errors.EditConflict`, and nothing is overwritten):
undoing an edit saves the previous version; undoing a create deletes
(tombstones) the new event, so a colleague's notes added to it meanwhile are
never thrown away with it; undoing a delete restores it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from enum import Enum

from viewer.domain import EventDraft
from viewer.services.events import EventService


class ChangeKind(Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


@dataclass(frozen=True)
class SavedChange:
    """One change that reached the database, with what undoing it needs."""

    kind: ChangeKind
    event_id: uuid.UUID
    patient_id: uuid.UUID
    title: str  # for the menu text ("Undo edit of …"); kept in memory only
    before: EventDraft | None = None  # the fields before an update
    version_after: int | None = None  # the version after this change (what undo expects to find)

    def describe(self) -> str:
        verb = {ChangeKind.CREATED: "new event", ChangeKind.UPDATED: "edit", ChangeKind.DELETED: "delete"}
        return f"{verb[self.kind]} “{self.title}”"


def undo_change(service: EventService, change: SavedChange) -> int:
    """Apply the reverse of ``change`` through ``service``; returns the event's new version."""
    if change.kind is ChangeKind.CREATED:
        return service.delete(change.event_id, expected_version=change.version_after)
    if change.kind is ChangeKind.DELETED:
        return service.restore(change.event_id, expected_version=change.version_after)
    assert change.before is not None and change.version_after is not None
    return service.update(change.event_id, change.before, expected_version=change.version_after)


class UndoStack:
    """The session's saved changes, newest last (bounded; older ones fall off)."""

    def __init__(self, limit: int = 50) -> None:
        self._changes: list[SavedChange] = []
        self._limit = limit

    def push(self, change: SavedChange) -> None:
        self._changes.append(change)
        del self._changes[: -self._limit]

    def peek(self) -> SavedChange | None:
        return self._changes[-1] if self._changes else None

    def pop(self) -> SavedChange | None:
        return self._changes.pop() if self._changes else None

    def rebase(self, event_id: uuid.UUID, version: int) -> None:
        """After undoing a change to ``event_id`` (which saved ``version``), the next undo of that
        event expects ``version``: the versions in between were our own, now taken back."""
        for position in range(len(self._changes) - 1, -1, -1):
            change = self._changes[position]
            if change.event_id == event_id:
                self._changes[position] = replace(change, version_after=version)
                return

    def clear(self) -> None:
        self._changes.clear()

    def __len__(self) -> int:
        return len(self._changes)
