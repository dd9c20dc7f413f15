"""Export one patient's timeline as a FHIR Bundle, as the signed-in user sees it.

The query runs under the user's own login, so row-level security already
hides what they may not see; on top of that an export never includes another
author's private event, not even for the author's supervisor (reading one
needs a stated purpose, an export has none).  Each export is audited, and so
is each refused one (an administrator asking for clinical text).  The
file is written 0600 through a ``.partial`` file and a rename, so a crash
never leaves half a bundle under the real name.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from psycopg import errors as pg_errors

from viewer.domain import EventDetail, EventType, Importance
from viewer.fhir.export import build_bundle
from viewer.private_file import private_file
from viewer.services.audit import AuditKey, append
from viewer.services.errors import NotPermitted, ServiceError, UnknownPatient

_EVENTS_SQL = sa.text(
    """
    SELECT e.id, e.patient_id, e.therapist_id, u.display_name AS therapist_name, e.event_type, e.event_subtype,
           e.event_date, e.title, e.description, e.metadata, e.related_entity_type, e.related_entity_id,
           e.importance, e.is_private, e.created_at, e.row_version
    FROM timeline_events e LEFT JOIN users u ON u.id = e.therapist_id
    WHERE e.patient_id = :p AND e.deleted_at IS NULL
      AND (NOT e.is_private OR (caseline_me() IS NOT NULL AND e.therapist_id = caseline_me()))
    ORDER BY e.event_date, e.id
    """
)


def export_patient(conn: sa.Connection, key: AuditKey | None, patient_id: uuid.UUID) -> dict[str, Any]:
    """The Bundle of ``patient_id``'s events this login may export; audited in the caller's transaction."""
    patient = conn.execute(
        sa.text("SELECT display_name, username FROM users WHERE id = :p AND role = 'patient'"),
        {"p": patient_id},
    ).first()
    if patient is None:
        raise UnknownPatient(patient_id)
    try:
        with conn.begin_nested():
            rows = conn.execute(_EVENTS_SQL, {"p": patient_id}).mappings().all()
    except sa.exc.DBAPIError as exc:
        if isinstance(exc.orig, pg_errors.InsufficientPrivilege):  # admins: no clinical text to export
            if key is not None:
                _audit_refusal(conn.engine, key, patient_id)
            raise NotPermitted("export the events of patient", patient_id) from None
        raise
    events = [
        EventDetail(
            id=row["id"],
            patient_id=row["patient_id"],
            therapist_id=row["therapist_id"],
            therapist_name=row["therapist_name"],
            event_type=EventType(row["event_type"]),
            event_subtype=row["event_subtype"],
            event_date=row["event_date"],
            title=row["title"],
            description=row["description"],
            metadata=row["metadata"],
            related_entity_type=row["related_entity_type"],
            related_entity_id=row["related_entity_id"],
            importance=Importance.from_db(row["importance"]),
            is_private=row["is_private"],
            created_at=row["created_at"],
            row_version=row["row_version"],
        )
        for row in rows
    ]
    bundle = build_bundle(patient_id, str(patient.display_name), events, str(patient.username))
    if key is not None:
        # Shared events only: an administrator reads this row, and the author's private ones in the
        # count told her how many private notes the patient has (she sees the shared ones herself).
        shared = sum(not event.is_private for event in events)
        append(conn, key, "export", patient_id=patient_id, detail={"format": "fhir", "shared_events": shared})
    return bundle


def _audit_refusal(engine: sa.Engine, key: AuditKey, patient_id: uuid.UUID) -> None:
    """A refused export is audited too, in a transaction of its own: the caller's rolls back."""
    with engine.begin() as conn:
        append(conn, key, "export", patient_id=patient_id, detail={"format": "fhir", "refused": True})


class BundleNotWritten(ServiceError):
    """The bundle could not be written where asked (a folder, no such folder, no permission, disk full)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"could not write {path.name}: {reason}")
        self.path = path


def write_bundle(bundle: dict[str, Any], path: Path) -> Path:
    """Write the bundle readable by its owner only, atomically; on failure nothing is left behind.

    A failed write once left the whole bundle in a hidden ``.partial`` file
    beside the target: patient data on disk that no audit row recorded.
    """
    if path.is_dir():
        raise BundleNotWritten(path, "that is a folder; give a file name such as patient.json")
    try:
        with private_file(path) as handle:
            for chunk in json.JSONEncoder(ensure_ascii=False, indent=1).iterencode(bundle):  # as json.dump
                handle.write(chunk.encode("utf-8"))
            handle.write(b"\n")
    except OSError as exc:
        raise BundleNotWritten(path, exc.strerror or type(exc).__name__) from None
    return path
