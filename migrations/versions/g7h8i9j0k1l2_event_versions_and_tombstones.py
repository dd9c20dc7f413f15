"""Editing safely: row versions, who changed what, tombstone deletes, version history.

Revision ID: g7h8i9j0k1l2
Revises: f6g7h8i9j0k1
Create Date: 2026-11-24

``row_version`` lets a save say "I edited version 3": if someone saved
version 4 meanwhile, nothing is overwritten and the editor shows both.  A
trigger bumps it and stamps ``updated_at``/``updated_by`` (from
``session_user``, not from the client), and copies the previous state into
``timeline_event_versions`` so each event has its history.  Deleting is a
tombstone (``deleted_at``): app roles lose the DELETE privilege, and undo is
an update.  The seed's fourteen columns are untouched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "g7h8i9j0k1l2"
down_revision: str | None = "f6g7h8i9j0k1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQL = r"""
CREATE FUNCTION caseline_event_versioned() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $$
BEGIN
    INSERT INTO timeline_event_versions (event_id, row_version, snapshot, changed_at, changed_by)
    VALUES (OLD.id, OLD.row_version, to_jsonb(OLD) - 'row_version', now() AT TIME ZONE 'utc', caseline_me());
    NEW.row_version := OLD.row_version + 1;
    NEW.updated_at := now() AT TIME ZONE 'utc';
    NEW.updated_by := caseline_me();
    RETURN NEW;
END
$$;
CREATE TRIGGER timeline_events_versioned BEFORE UPDATE ON timeline_events
    FOR EACH ROW EXECUTE FUNCTION caseline_event_versioned();

ALTER TABLE timeline_event_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE timeline_event_versions FORCE ROW LEVEL SECURITY;
-- A version is readable by whoever may read the event now (same rule, same row).
CREATE POLICY timeline_event_versions_read ON timeline_event_versions FOR SELECT USING (
    EXISTS (SELECT 1 FROM timeline_events e WHERE e.id = event_id)
);
CREATE POLICY timeline_event_versions_owner ON timeline_event_versions FOR ALL
    USING (caseline_is_owner()) WITH CHECK (caseline_is_owner());
GRANT SELECT ON timeline_event_versions TO caseline_therapist, caseline_qa;

REVOKE DELETE ON timeline_events FROM caseline_therapist;
"""


def upgrade() -> None:
    op.add_column(
        "timeline_events", sa.Column("row_version", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column("timeline_events", sa.Column("updated_at", sa.DateTime(), nullable=True))
    op.add_column("timeline_events", sa.Column("updated_by", UUID(as_uuid=True), nullable=True))
    op.add_column("timeline_events", sa.Column("deleted_at", sa.DateTime(), nullable=True))
    op.create_foreign_key(
        op.f("fk_timeline_events_updated_by"),
        "timeline_events",
        "users",
        ["updated_by"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_table(
        "timeline_event_versions",
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("snapshot", JSONB(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("changed_by", UUID(as_uuid=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["timeline_events.id"],
            name=op.f("fk_timeline_event_versions_event_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["users.id"],
            name=op.f("fk_timeline_event_versions_changed_by"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("event_id", "row_version", name=op.f("timeline_event_versions_pkey")),
    )
    admin_columns = "row_version, updated_at, updated_by, deleted_at"
    op.execute(_SQL)
    op.execute(f"GRANT SELECT ({admin_columns}) ON timeline_events TO caseline_admin")


def downgrade() -> None:
    op.execute("GRANT DELETE ON timeline_events TO caseline_therapist")
    op.execute("DROP TRIGGER IF EXISTS timeline_events_versioned ON timeline_events")
    op.drop_table("timeline_event_versions")
    op.execute("DROP FUNCTION IF EXISTS caseline_event_versioned()")
    op.drop_constraint(op.f("fk_timeline_events_updated_by"), "timeline_events", type_="foreignkey")
    for column in ("deleted_at", "updated_by", "updated_at", "row_version"):
        op.drop_column("timeline_events", column)
