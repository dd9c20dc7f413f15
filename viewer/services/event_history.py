"""An event's versions for the history view: who saved each one, when, and what it said.

The current row and its earlier snapshots (``timeline_event_versions``, kept by
a trigger) are read under the signed-in user's own row-level security, which
judges each snapshot by what the event was then (migration ``j0k1l2m3n4o5``):
a version saved while the event was private is missing here for a colleague
who may read the event now that it is shared.  Another author's private event
needs the same audited purpose as opening it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from viewer.domain import EventType, Importance, to_local
from viewer.event_text import format_when
from viewer.services.audit import AuditKey
from viewer.services.timeline_query import fetch_event

_SHOWN = (
    ("event_type", "Type"),
    ("event_subtype", "Subtype"),
    ("event_date", "When"),
    ("title", "Title"),
    ("importance", "Importance"),
    ("is_private", "Private"),
    ("description", "Description"),
    ("metadata", "Metadata"),
    ("related_entity_type", "Related type"),
    ("related_entity_id", "Related id"),
)


@dataclass(frozen=True)
class VersionRow:
    version: int
    current: bool
    deleted: bool
    saved_at: str  # local time, minutes
    saved_by: str
    title: str
    full_text: str
    changed: tuple[str, ...] = ()  # the fields' labels that differ from the version before

    @property
    def label(self) -> str:
        suffix = " (current)" if self.current else ""
        return f"{self.version}{' deleted' if self.deleted else ''}{suffix}"


def _when(value: Any) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


def _shown(key: str, value: Any) -> str:
    """A stored value as the rest of the app says it: "Note", "High", local time, "yes"."""
    if value is None:
        return ""
    try:
        if key == "event_type":
            return EventType(value).label
        if key == "importance":
            return Importance.from_db(value).label
        if key == "event_date":
            return format_when(datetime.fromisoformat(value) if isinstance(value, str) else value)
    except ValueError:  # a value this version of the app does not know: as stored
        return str(value)
    if key == "is_private":
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _row(
    version: int,
    snapshot: dict[str, Any],
    names: dict[str, str],
    *,
    current: bool,
    before: dict[str, Any] | None = None,
) -> VersionRow:
    by = snapshot.get("updated_by") or snapshot.get("therapist_id")
    changed = tuple(
        label for key, label in _SHOWN if before is not None and snapshot.get(key) != before.get(key)
    )
    lines: list[str] = []
    if before is not None:
        deleted, was_deleted = snapshot.get("deleted_at") is not None, before.get("deleted_at") is not None
        what = (
            ["deleted"]
            if deleted and not was_deleted
            else ["restored"]
            if was_deleted and not deleted
            else []
        )
        what += changed
        lines.append(f"Changed: {', '.join(what) if what else 'nothing shown here'}")
    for key, label in _SHOWN:
        mark = "  (changed)" if label in changed else ""
        lines.append(f"{label}: {_shown(key, snapshot.get(key))}{mark}")
    return VersionRow(
        version=version,
        current=current,
        deleted=snapshot.get("deleted_at") is not None,
        saved_at=_when(snapshot.get("updated_at") or snapshot.get("created_at")),
        saved_by=names.get(str(by), f"user {str(by)[:8]}") if by else "(imported)",
        title=str(snapshot.get("title") or ""),
        full_text="\n".join(lines),
        changed=changed,
    )


def load_versions(
    conn: sa.Connection, event_id: uuid.UUID, *, purpose: str | None = None, audit: AuditKey | None = None
) -> list[VersionRow]:
    """Every version the user may read, newest first (raises like :func:`fetch_event`)."""
    fetch_event(conn, event_id, purpose=purpose, audit=audit)  # visibility and purpose, audited
    own_rules = conn.execute(sa.text("SELECT 1 FROM timeline_events WHERE id = :e"), {"e": event_id}).first()
    # A supervisee's private event is not in my row-level security: its rows come from the functions
    # that check the purpose just committed.
    event_source = "timeline_events" if own_rules else "caseline_read_private(:e)"
    version_source = "timeline_event_versions" if own_rules else "caseline_read_private_versions(:e)"
    current = conn.execute(
        sa.text(
            f"SELECT row_version, to_jsonb(e) - 'row_version' AS snapshot FROM {event_source} e WHERE id = :e"
        ),
        {"e": event_id},
    ).one()
    earlier = conn.execute(
        sa.text(
            f"SELECT row_version, snapshot FROM {version_source} v WHERE event_id = :e ORDER BY row_version DESC"
        ),
        {"e": event_id},
    ).all()
    snapshots = [(current.row_version, current.snapshot), *((r.row_version, r.snapshot) for r in earlier)]
    ids = {str(s.get("updated_by") or s.get("therapist_id")) for _, s in snapshots}
    names = {
        str(row.id): row.display_name
        for row in conn.execute(
            sa.text("SELECT id, display_name FROM users WHERE id::text = ANY(:ids)"), {"ids": sorted(ids)}
        )
    }
    older = [s for _, s in snapshots[1:]] + [None]  # newest first: each version's predecessor follows it
    return [_row(v, s, names, current=(i == 0), before=older[i]) for i, (v, s) in enumerate(snapshots)]
