"""Users, care assignments and supervisions: the base every timeline row points at.

Revision ID: b2c3d4e5f6g7
Revises:
Create Date: 2026-11-24

The seed system's ``b2c3d4e5f6g7`` ("user columns & junction") altered a users
table that existed before it.  Caseline has no such history, so its base
revision with the same id creates ``users`` and the two link tables the privacy
rules need.  Each table is created only if missing, so a database made by the
original system keeps the users it has.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "b2c3d4e5f6g7"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USER_ROLES = ("patient", "therapist", "supervisor", "admin", "qa")


def _link_table(name: str, left: str, right: str) -> None:
    op.create_table(
        name,
        sa.Column(left, UUID(as_uuid=True), nullable=False),
        sa.Column(right, UUID(as_uuid=True), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint([left], ["users.id"], name=op.f(f"fk_{name}_{left}"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint([right], ["users.id"], name=op.f(f"fk_{name}_{right}"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(left, right, name=op.f(f"{name}_pkey")),
    )


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "users" not in existing:
        op.create_table(
            "users",
            sa.Column("id", UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
            sa.Column("username", sa.String(63), nullable=False),
            sa.Column("display_name", sa.String(200), nullable=False),
            sa.Column("role", sa.String(20), nullable=False),
            sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
            sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
            sa.CheckConstraint(
                "role IN (" + ", ".join(f"'{r}'" for r in USER_ROLES) + ")", name=op.f("ck_users_role")
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("users_pkey")),
            sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        )
    if "care_assignments" not in existing:
        _link_table("care_assignments", "therapist_id", "patient_id")
    if "supervisions" not in existing:
        _link_table("supervisions", "supervisor_id", "therapist_id")


def downgrade() -> None:
    op.drop_table("supervisions")
    op.drop_table("care_assignments")
    op.drop_table("users")
