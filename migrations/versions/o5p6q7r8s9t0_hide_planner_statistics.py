"""No planner statistics on the columns that say whose an event is: EXPLAIN is no counter.

Revision ID: o5p6q7r8s9t0
Revises: n4o5p6q7r8s9
Create Date: 2026-11-26

Row-level security filters rows, not the planner's estimates: ``EXPLAIN
SELECT 1 FROM timeline_events WHERE patient_id = ...`` showed, from the most
common values ANALYZE had collected, how many events that patient has,
hidden ones included (``is_private`` and ``therapist_id`` likewise).  These
columns now collect no statistics (``SET STATISTICS 0``) and what ANALYZE
had already gathered is cleared, so an equality estimate is the same default
fraction of the table for every value.  The patient timeline still runs on
``idx_timeline_patient_date`` (``tests/db/test_seed_recommendations.py`` and
``tests/db/test_privacy_statistics.py`` check the plan): the index is chosen
for its order and its leading column, not for a per-patient estimate.

Still visible to any login, by design of PostgreSQL: the table's total row
count (``pg_class.reltuples``) and the statistics of the other columns
(dates, types, importance) over all events, which carry no one's identity.

Clearing what was already gathered uses ``pg_clear_attribute_stats``
(PostgreSQL 18) or, on older servers, a superuser owner's delete from
``pg_statistic``; failing both, a warning says the old statistics stay (an
ANALYZE with a target of 0 never replaces them) until a superuser deletes
them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "o5p6q7r8s9t0"
down_revision: str | None = "n4o5p6q7r8s9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns whose value distribution tells about particular people (whose events, whose notes).
HIDDEN = {
    "timeline_events": ("patient_id", "therapist_id", "is_private"),
    "timeline_event_versions": ("event_id",),
    "event_annotations": ("event_id", "author_id"),
    "audit_log": ("event_id", "patient_id", "action"),
}

CLEAR = """
DO $$
BEGIN
    IF to_regprocedure('pg_catalog.pg_clear_attribute_stats(text, text, text, boolean)') IS NOT NULL THEN
        EXECUTE 'SELECT pg_catalog.pg_clear_attribute_stats(''public'', $1, $2, false)' USING '{table}', '{column}';
    ELSIF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        DELETE FROM pg_catalog.pg_statistic s USING pg_catalog.pg_attribute a
        WHERE s.starelid = 'public.{table}'::regclass AND a.attrelid = s.starelid
          AND a.attnum = s.staattnum AND a.attname = '{column}';
    ELSE
        RAISE WARNING 'statistics of {table}.{column} stay until a superuser clears them';
    END IF;
END
$$;
"""


def upgrade() -> None:
    for table, columns in HIDDEN.items():
        for column in columns:
            op.execute(f"ALTER TABLE public.{table} ALTER COLUMN {column} SET STATISTICS 0")
            op.execute(CLEAR.format(table=table, column=column))


def downgrade() -> None:
    for table, columns in HIDDEN.items():
        for column in columns:
            op.execute(f"ALTER TABLE public.{table} ALTER COLUMN {column} SET STATISTICS -1")
