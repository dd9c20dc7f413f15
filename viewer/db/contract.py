"""The seed report's ``timeline_events`` schema, as data.

``shared/seed/timeline-migration-report.md`` is a contract: 14 columns with
their types, nullability and defaults, two named indexes (one with a DESC key),
two named foreign keys with their ON DELETE rules, and two named CHECKs with
their value lists.  :mod:`viewer.db.verify` compares a live catalog with this.
"""

from __future__ import annotations

from dataclasses import dataclass

from viewer.domain import EVENT_TYPE_VALUES, IMPORTANCE_VALUES


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str  # as information_schema spells it, with length where it has one
    nullable: bool
    default: str | None = None  # normalised: casts stripped


@dataclass(frozen=True)
class IndexSpec:
    name: str
    columns: tuple[str, ...]  # "event_date DESC" for descending keys


@dataclass(frozen=True)
class ForeignKeySpec:
    name: str
    column: str
    references: str  # "users(id)"
    on_delete: str  # CASCADE, SET NULL, NO ACTION, ...


@dataclass(frozen=True)
class CheckSpec:
    name: str
    column: str
    values: frozenset[str]


TABLE = "timeline_events"

COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("id", "uuid", False, "gen_random_uuid()"),
    ColumnSpec("patient_id", "uuid", False),
    ColumnSpec("therapist_id", "uuid", True),
    ColumnSpec("event_type", "varchar(50)", False),
    ColumnSpec("event_subtype", "varchar(50)", True),
    ColumnSpec("event_date", "timestamp", False),
    ColumnSpec("title", "varchar(200)", False),
    ColumnSpec("description", "text", True),
    ColumnSpec("metadata", "jsonb", True),
    ColumnSpec("related_entity_type", "varchar(50)", True),
    ColumnSpec("related_entity_id", "uuid", True),
    ColumnSpec("importance", "varchar(20)", False, "'normal'"),
    ColumnSpec("is_private", "boolean", False, "false"),
    ColumnSpec("created_at", "timestamp", False, "now()"),
)

# Columns Caseline adds in later migrations (editing and tombstones, ``g7h8i9j0k1l2``): checked too,
# reported apart so the seed's fourteen stay recognisable.  The seed's columns are never altered.
EXTENSION_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("row_version", "integer", False, "1"),
    ColumnSpec("updated_at", "timestamp", True),
    ColumnSpec("updated_by", "uuid", True),
    ColumnSpec("deleted_at", "timestamp", True),
)

PRIMARY_KEY: tuple[str, ...] = ("id",)

INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec("idx_timeline_patient_date", ("patient_id", "event_date DESC")),
    IndexSpec("idx_timeline_type", ("event_type",)),
)

FOREIGN_KEYS: tuple[ForeignKeySpec, ...] = (
    ForeignKeySpec("fk_timeline_events_patient_id", "patient_id", "users(id)", "CASCADE"),
    ForeignKeySpec("fk_timeline_events_therapist_id", "therapist_id", "users(id)", "SET NULL"),
)

CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("ck_timeline_events_type", "event_type", frozenset(EVENT_TYPE_VALUES)),
    CheckSpec("ck_timeline_events_importance", "importance", frozenset(IMPORTANCE_VALUES)),
)
