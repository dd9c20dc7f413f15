"""The audit log: append-only, each row's HMAC chained to the previous row's.

Revision ID: f6g7h8i9j0k1
Revises: e5f6g7h8i9j0
Create Date: 2026-11-24

The app computes each row's HMAC with a key kept outside the database (a
0600 file in the Caseline home, or ``CASELINE_AUDIT_KEY`` on servers), so
someone with write access to the database alone cannot rewrite history
without ``main.py audit verify`` noticing.  App roles may only INSERT, and
only rows in their own name (a trigger stamps ``actor`` with
``session_user``); nobody but the owner may UPDATE or DELETE.  Appends are
serialised by a transaction-level advisory lock, so the chain never forks.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID

revision: str = "f6g7h8i9j0k1"
down_revision: str | None = "e5f6g7h8i9j0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept literal (migrations never import app code): viewer/db/models.py AUDIT_ACTIONS must match.
ACTIONS = (
    "sign_in",
    "sign_out",
    "event.create",
    "event.update",
    "event.delete",
    "event.read_private",
    "annotation.create",
    "export",
    "sync",
)

_SQL = r"""
CREATE FUNCTION caseline_audit_stamp() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_catalog AS $$
BEGIN
    NEW.actor := session_user;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION caseline_audit_stamp();

-- The chain's end, for the next append: readable by anyone who may append, without reading the log.
CREATE FUNCTION caseline_audit_tail(OUT seq bigint, OUT mac bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1
$$;

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_append ON audit_log FOR INSERT WITH CHECK (actor = session_user);
CREATE POLICY audit_log_read ON audit_log FOR SELECT USING (caseline_is_owner() OR caseline_my_role() = 'admin');
CREATE POLICY audit_log_owner ON audit_log FOR ALL USING (caseline_is_owner()) WITH CHECK (caseline_is_owner());

GRANT INSERT ON audit_log TO caseline_therapist, caseline_admin, caseline_qa;
GRANT SELECT ON audit_log TO caseline_admin;
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("event_id", UUID(as_uuid=True), nullable=True),
        sa.Column("patient_id", UUID(as_uuid=True), nullable=True),
        sa.Column("detail", JSONB(), nullable=True),
        sa.Column("prev_mac", BYTEA(), nullable=False),
        sa.Column("mac", BYTEA(), nullable=False),
        sa.CheckConstraint(
            "action IN (" + ", ".join(f"'{a}'" for a in ACTIONS) + ")", name=op.f("ck_audit_log_action")
        ),
        sa.CheckConstraint("seq > 0", name=op.f("ck_audit_log_seq")),
        sa.PrimaryKeyConstraint("seq", name=op.f("audit_log_pkey")),
    )
    op.execute(_SQL)


def downgrade() -> None:
    op.execute("DROP TABLE audit_log")
    op.execute("DROP FUNCTION IF EXISTS caseline_audit_tail()")
    op.execute("DROP FUNCTION IF EXISTS caseline_audit_stamp()")
