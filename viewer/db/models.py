"""SQLAlchemy 2.0 typed models of the schema Alembic builds.

The models describe the schema; they never create it (``migrations/`` does).
The naming convention reproduces the seed report's constraint names, so
autogenerate comparing these models with a migrated database finds nothing:
``tests/db/test_migrations.py`` holds us to that.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from viewer.domain import EVENT_TYPE_VALUES, IMPORTANCE_VALUES

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "%(table_name)s_pkey",
}

USER_ROLES: tuple[str, ...] = ("patient", "therapist", "supervisor", "admin", "qa")


def sql_in_list(values: tuple[str, ...]) -> str:
    """Render ``('a', 'b')`` for a CHECK; values are our own constants, never user text."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """Anyone the timeline knows: patients and clinicians (who also have a login role)."""

    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint(f"role IN {sql_in_list(USER_ROLES)}", name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
    )
    username: Mapped[str] = mapped_column(sa.String(63), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(), server_default=sa.func.now())


class UserIdentifier(Base):
    """An identifier a user is known by elsewhere (e.g. an NPI), for matching FHIR practitioners."""

    __tablename__ = "user_identifiers"

    system: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE")
    )


class CareAssignment(Base):
    """A therapist treats a patient; inactive links are kept for history."""

    __tablename__ = "care_assignments"

    therapist_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    patient_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(), server_default=sa.func.now())


class Supervision(Base):
    """A supervisor oversees a therapist (training or clinical supervision)."""

    __tablename__ = "supervisions"

    supervisor_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    therapist_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(), server_default=sa.func.now())


class TimelineEvent(Base):
    """The seed's ``timeline_events`` table: 14 columns, a contract we do not change."""

    __tablename__ = "timeline_events"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
    )
    patient_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    therapist_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    event_type: Mapped[str] = mapped_column(sa.String(50))
    event_subtype: Mapped[str | None] = mapped_column(sa.String(50))
    event_date: Mapped[datetime] = mapped_column(sa.DateTime())
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    event_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    related_entity_type: Mapped[str | None] = mapped_column(sa.String(50))
    related_entity_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    importance: Mapped[str] = mapped_column(sa.String(20), server_default=sa.text("'normal'"))
    is_private: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(), server_default=sa.func.now())
    # Caseline's own columns (migration g7h8i9j0k1l2), after the seed's fourteen.
    row_version: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime())
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime())

    __table_args__ = (
        sa.CheckConstraint(f"event_type IN {sql_in_list(EVENT_TYPE_VALUES)}", name="type"),
        sa.CheckConstraint(f"importance IN {sql_in_list(IMPORTANCE_VALUES)}", name="importance"),
        sa.Index("idx_timeline_type", "event_type"),
    )


# Declared after the class so it can use the column objects: the DESC sort order
# is part of the contract, and autogenerate compares it only on real columns.
sa.Index(
    "idx_timeline_patient_date",
    TimelineEvent.__table__.c.patient_id,
    TimelineEvent.__table__.c.event_date.desc(),
)


class EventAnnotation(Base):
    """A supervisor's review note on an event: insert-only, never an edit of the event (ids are UUIDv7)."""

    __tablename__ = "event_annotations"
    __table_args__ = (sa.CheckConstraint("length(body) BETWEEN 1 AND 10000", name="body"),)

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=sa.text("uuidv7()")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("timeline_events.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(), server_default=sa.text("(now() AT TIME ZONE 'utc')")
    )


AUDIT_ACTIONS: tuple[str, ...] = (
    "sign_in",
    "sign_out",
    "event.create",
    "event.update",
    "event.delete",
    "event.read_private",
    "annotation.create",
    "export",
    "sync",
    "import",
    "audit.rekey",  # the owner started a new key (migration r8s9t0u1v2w3)
)


class AuditEntry(Base):
    """One audited act; ``mac`` chains it to the previous row (see ``viewer/services/audit.py``)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.CheckConstraint(f"action IN {sql_in_list(AUDIT_ACTIONS)}", name="action"),
        sa.CheckConstraint("seq > 0", name="seq"),
        # Where each key's part of the chain starts (verify, and the key check of every append).
        sa.Index("ix_audit_log_rekey", "seq", postgresql_where=sa.text("action = 'audit.rekey'")),
    )

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(sa.DateTime())
    actor: Mapped[str] = mapped_column(sa.Text)
    action: Mapped[str] = mapped_column(sa.String(40))
    # Indexed: the database looks up a write's audit row by event (migration m3n4o5p6q7r8).
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    prev_mac: Mapped[bytes] = mapped_column(BYTEA)
    mac: Mapped[bytes] = mapped_column(BYTEA)


class TimelineEventVersion(Base):
    """An event as it was before an update (written by a trigger; read under the event's own rules)."""

    __tablename__ = "timeline_event_versions"

    event_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("timeline_events.id", ondelete="CASCADE"), primary_key=True
    )
    row_version: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    changed_at: Mapped[datetime] = mapped_column(sa.DateTime())
    changed_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")
    )
