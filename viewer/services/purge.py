"""Removing users for good: only the schema owner, only through ``caseline_purge_user``.

The app deactivates users; a trigger refuses any other delete of a user row
(``privacy.md``: deleting a therapist would orphan their private notes,
deleting a patient destroys the record).  Reloading the demo practice,
removing benchmark patients and honouring a retention request are owner
operations that go through the documented purge, which cascades as the seed
specifies.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa


def purge_user(conn: sa.Connection, user_id: uuid.UUID) -> bool:
    """Delete one user row and everything that cascades from it; True if it existed."""
    return bool(conn.execute(sa.text("SELECT caseline_purge_user(:id)"), {"id": user_id}).scalar_one())


def purge_users(conn: sa.Connection, where_sql: str) -> int:
    """Purge every user matching ``where_sql`` (a constant condition of ours, never user text)."""
    ids = conn.execute(sa.text(f"SELECT id FROM users WHERE {where_sql}")).scalars().all()
    return sum(purge_user(conn, user_id) for user_id in ids)
