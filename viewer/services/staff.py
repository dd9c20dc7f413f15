"""A clinician leaves: deactivate, never delete, and hand their private events over explicitly.

Deleting a user would cascade through the clinical record (the seed's foreign
keys), so the app never does it: a trigger refuses it (see ``purge.py`` for the
owner-only exception).  Deactivating closes the login (``NOLOGIN``), ends the
care and supervision links and marks the user inactive; the record keeps
their name as author.  Their private events belong to them; leaving them with
an author who can no longer sign in would make them unreadable except by a
supervisor, so deactivation refuses until someone decides: hand them over to
a named colleague (each event's author changes, audited per event, and the
colleague is assigned to those patients, since an author reads her events only
on patients she treats), or state that they stay with the departed author.
Run by the database owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from psycopg import sql

from viewer.services.audit import AuditKey, append
from viewer.services.errors import ServiceError


class StaffError(ServiceError):
    """The request cannot be carried out as asked (unknown user, decision missing)."""


@dataclass(frozen=True)
class Deactivated:
    username: str
    handed_over: int
    kept_private: int
    successor: str | None


def _clinician(conn: sa.Connection, username: str) -> tuple[uuid.UUID, bool]:
    row = conn.execute(
        sa.text("SELECT id, is_active FROM users WHERE username = :u AND role <> 'patient'"), {"u": username}
    ).first()
    if row is None:
        raise StaffError(f"no staff user named {username!r}")
    return row.id, row.is_active


def deactivate(
    conn: sa.Connection, key: AuditKey, username: str, *, hand_over_to: str | None, keep_private: bool = False
) -> Deactivated:
    """Deactivate ``username`` in the caller's transaction (all of it, or none of it)."""
    user_id, active = _clinician(conn, username)
    if not active:
        raise StaffError(f"{username} is already deactivated")
    private = [
        (row.id, row.patient_id)
        for row in conn.execute(
            sa.text(
                "SELECT id, patient_id FROM timeline_events "
                "WHERE therapist_id = :t AND is_private AND deleted_at IS NULL ORDER BY id"
            ),
            {"t": user_id},
        )
    ]
    successor_id: uuid.UUID | None = None
    if hand_over_to is not None:
        successor_id, successor_active = _clinician(conn, hand_over_to)
        if not successor_active or successor_id == user_id:
            raise StaffError(f"{hand_over_to} cannot take over: choose another active clinician")
    elif private and not keep_private:
        raise StaffError(
            f"{username} authored {len(private)} private events: pass --hand-over-to USERNAME "
            "to give them to a colleague, or --keep-private to leave them with the departed author"
        )
    if successor_id is not None:
        # An author reads her events only on patients she treats (privacy.md): whoever takes over
        # the private notes takes over those patients' care too, or could not read them.
        for patient_id in sorted({patient for _event, patient in private}):
            conn.execute(
                sa.text(
                    "INSERT INTO care_assignments (therapist_id, patient_id) VALUES (:s, :p) "
                    "ON CONFLICT (therapist_id, patient_id) DO UPDATE SET active = true"
                ),
                {"s": successor_id, "p": patient_id},
            )
        for event_id, patient_id in private:
            conn.execute(
                sa.text("UPDATE timeline_events SET therapist_id = :s WHERE id = :e"),
                {"s": successor_id, "e": event_id},
            )
            append(
                conn,
                key,
                "event.update",
                event_id=event_id,
                patient_id=patient_id,
                detail={"handed_over_from": str(user_id), "to": str(successor_id)},
            )
    conn.execute(sa.text("UPDATE users SET is_active = false WHERE id = :u"), {"u": user_id})
    conn.execute(
        sa.text("UPDATE care_assignments SET active = false WHERE therapist_id = :u"), {"u": user_id}
    )
    conn.execute(
        sa.text("UPDATE supervisions SET active = false WHERE therapist_id = :u OR supervisor_id = :u"),
        {"u": user_id},
    )
    role_exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :u"), {"u": username}).first()
    if role_exists:
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            cursor.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(username)))
    handed = len(private) if successor_id is not None else 0
    return Deactivated(username, handed, len(private) - handed, hand_over_to if successor_id else None)
