"""Add the timeline_events table, exactly as the seed report specifies.

Revision ID: d4e5f6g7h8i9
Revises: b2c3d4e5f6g7
Create Date: 2025-12-17 (seed), kept unchanged in content and id

Why the parent differs from the seed: in the original system this revision's
parent was ``c3d4e5f6g7h8`` (analytics tables).  Those analytics tables are not
part of Caseline, so in our single-head chain the revision hangs directly off our
base ``b2c3d4e5f6g7`` (users and care links), which is all it references.  The
id ``d4e5f6g7h8i9`` and the table's 14 columns, 2 indexes, 2 foreign keys and
2 CHECKs stay exactly as the seed's report lists them.

Defensive, like the seed: if ``timeline_events`` already exists (a database made
by the original system, or restored from one) the table is recognised and left
alone; ``main.py db verify`` then says whether it matches the contract.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "d4e5f6g7h8i9"
down_revision: str | None = "b2c3d4e5f6g7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_TYPES = (
    "session",
    "milestone",
    "note",
    "diagnosis",
    "treatment_plan",
    "medication",
    "assessment",
    "external_event",
)
IMPORTANCE_LEVELS = ("low", "normal", "high", "critical")


def _in_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    tables = sa.inspect(op.get_bind()).get_table_names()
    if "timeline_events" in tables:
        return
    op.create_table(
        "timeline_events",
        sa.Column("id", UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("patient_id", UUID(as_uuid=True), nullable=False),
        sa.Column("therapist_id", UUID(as_uuid=True), nullable=True),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("event_subtype", sa.String(50), nullable=True),
        sa.Column("event_date", sa.DateTime(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("metadata", JSONB(), nullable=True),
        sa.Column("related_entity_type", sa.String(50), nullable=True),
        sa.Column("related_entity_id", UUID(as_uuid=True), nullable=True),
        sa.Column("importance", sa.String(20), server_default=sa.text("'normal'"), nullable=False),
        sa.Column("is_private", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("timeline_events_pkey")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["users.id"], name=op.f("fk_timeline_events_patient_id"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["users.id"], name=op.f("fk_timeline_events_therapist_id"), ondelete="SET NULL"
        ),
        sa.CheckConstraint(f"event_type IN {_in_list(EVENT_TYPES)}", name=op.f("ck_timeline_events_type")),
        sa.CheckConstraint(
            f"importance IN {_in_list(IMPORTANCE_LEVELS)}", name=op.f("ck_timeline_events_importance")
        ),
    )
    op.create_index(
        op.f("idx_timeline_patient_date"),
        "timeline_events",
        ["patient_id", sa.text("event_date DESC")],
    )
    op.create_index(op.f("idx_timeline_type"), "timeline_events", ["event_type"])


def downgrade() -> None:
    op.drop_index(op.f("idx_timeline_type"), table_name="timeline_events")
    op.drop_index(op.f("idx_timeline_patient_date"), table_name="timeline_events")
    op.drop_constraint(op.f("ck_timeline_events_importance"), "timeline_events", type_="check")
    op.drop_constraint(op.f("ck_timeline_events_type"), "timeline_events", type_="check")
    op.drop_constraint(op.f("fk_timeline_events_therapist_id"), "timeline_events", type_="foreignkey")
    op.drop_constraint(op.f("fk_timeline_events_patient_id"), "timeline_events", type_="foreignkey")
    op.drop_table("timeline_events")
