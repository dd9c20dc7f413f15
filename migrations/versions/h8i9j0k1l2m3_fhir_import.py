"""FHIR import: practitioners' identifiers for matching, and an audited "import" action.

Revision ID: h8i9j0k1l2m3
Revises: g7h8i9j0k1l2
Create Date: 2026-11-25

An imported event names its author when the bundle's practitioner carries an
identifier (an NPI, say) that a Caseline user is known by:
``user_identifiers`` holds those (system, value) pairs.  Only the owner (the
import runs as the owner) reads or writes it; app roles get no grant, and
row-level security is enabled and forced like every other table.  The audit
log learns the action ``import`` (one row per imported file).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "h8i9j0k1l2m3"
down_revision: str | None = "g7h8i9j0k1l2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept literal (migrations never import app code): viewer/db/models.py AUDIT_ACTIONS must match.
BEFORE = (
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
AFTER = (*BEFORE, "import")


def _action_check(actions: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_audit_log_action"), "audit_log", type_="check")
    op.create_check_constraint(
        op.f("ck_audit_log_action"), "audit_log", "action IN (" + ", ".join(f"'{a}'" for a in actions) + ")"
    )


def upgrade() -> None:
    op.create_table(
        "user_identifiers",
        sa.Column("system", sa.String(200), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column(
            "user_id",
            UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE", name=op.f("fk_user_identifiers_user_id")),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("system", "value", name=op.f("pk_user_identifiers")),
    )
    op.execute("ALTER TABLE user_identifiers ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE user_identifiers FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY user_identifiers_owner ON user_identifiers FOR ALL "
        "USING (caseline_is_owner()) WITH CHECK (caseline_is_owner())"
    )
    _action_check(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM audit_log WHERE action = 'import'")
    _action_check(BEFORE)
    op.drop_table("user_identifiers")
