"""pytest-alembic's classic checks, on real PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from viewer.db import migrate
from viewer.db.engine import make_engine
from viewer.db.models import Base
from viewer.db.verify import verify_schema

SEED_REVISION = "d4e5f6g7h8i9"
BASE_REVISION = "b2c3d4e5f6g7"


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, heads


def test_seed_revision_keeps_its_id_and_hangs_off_our_base() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    seed = script.get_revision(SEED_REVISION)
    assert seed is not None
    assert seed.down_revision == BASE_REVISION
    assert "c3d4e5f6g7h8" in (seed.module.__doc__ or ""), "docstring must say why the parent differs"
    assert script.get_revision(BASE_REVISION).down_revision is None


def test_models_match_migrations(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def _tables(conn: sa.Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names())


def test_upgrade_downgrade_upgrade(scratch_database: sa.URL) -> None:
    eng = make_engine(scratch_database, poolclass=sa.pool.NullPool)
    try:
        with eng.begin() as conn:
            migrate.upgrade(conn)
            assert migrate.current_revision(conn) == migrate.head_revision()
            first = verify_schema(conn)
        assert first.ok, first.render()
        # Step down one revision at a time to the base, checking each step removes its tables.
        with eng.begin() as conn:
            migrate.downgrade(conn, BASE_REVISION)
            assert "timeline_events" not in _tables(conn)
            assert {"users", "care_assignments", "supervisions"} <= _tables(conn)
        with eng.begin() as conn:
            migrate.downgrade(conn, "base")
            assert _tables(conn) == {"alembic_version"}
            assert (
                conn.execute(
                    sa.text("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx_timeline%'")
                ).scalar()
                == 0
            )
        with eng.begin() as conn:
            migrate.upgrade(conn)
            second = verify_schema(conn)
        assert second.ok, second.render()
        assert [r.actual for r in first.results] == [r.actual for r in second.results]
    finally:
        eng.dispose()


ORIGINAL_SYSTEM_DDL = """
CREATE TABLE timeline_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id UUID NOT NULL,
    therapist_id UUID,
    event_type VARCHAR(50) NOT NULL,
    event_subtype VARCHAR(50),
    event_date TIMESTAMP NOT NULL,
    title VARCHAR(200) NOT NULL,
    description TEXT,
    metadata JSONB,
    related_entity_type VARCHAR(50),
    related_entity_id UUID,
    importance VARCHAR(20) NOT NULL DEFAULT 'normal',
    is_private BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMP NOT NULL DEFAULT now(),
    CONSTRAINT fk_timeline_events_patient_id FOREIGN KEY (patient_id) REFERENCES users(id) ON DELETE CASCADE,
    CONSTRAINT fk_timeline_events_therapist_id FOREIGN KEY (therapist_id) REFERENCES users(id) ON DELETE SET NULL,
    CONSTRAINT ck_timeline_events_type CHECK (event_type IN ('session', 'milestone', 'note', 'diagnosis',
        'treatment_plan', 'medication', 'assessment', 'external_event')),
    CONSTRAINT ck_timeline_events_importance CHECK (importance IN ('low', 'normal', 'high', 'critical'))
);
CREATE INDEX idx_timeline_patient_date ON timeline_events (patient_id, event_date DESC);
CREATE INDEX idx_timeline_type ON timeline_events (event_type);
"""


def test_existing_timeline_table_is_recognised_not_broken(scratch_database: sa.URL) -> None:
    """A database from the original system already has the table: the seed revision keeps it."""
    eng = make_engine(scratch_database, poolclass=sa.pool.NullPool)
    try:
        with eng.begin() as conn:
            migrate.upgrade(conn, BASE_REVISION)
            conn.exec_driver_sql(ORIGINAL_SYSTEM_DDL)
            patient = conn.execute(
                sa.text(
                    "INSERT INTO users (username, display_name, role) VALUES ('p', 'P', 'patient') RETURNING id"
                )
            ).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO timeline_events (patient_id, event_type, event_date, title) "
                    "VALUES (:p, 'note', now(), 'kept')"
                ),
                {"p": patient},
            )
        with eng.begin() as conn:
            migrate.upgrade(conn)  # must not fail on the existing table
            assert migrate.current_revision(conn) == migrate.head_revision()
            assert conn.execute(sa.text("SELECT title FROM timeline_events")).scalar() == "kept"
            report = verify_schema(conn)
        assert report.ok, report.render()
    finally:
        eng.dispose()


def test_constraint_names_are_the_seeds(engine: sa.Engine) -> None:
    """Guards against a naming convention applied twice (ck_timeline_events_ck_timeline_events_type)."""
    with engine.connect() as conn:
        names = set(
            conn.execute(
                sa.text(
                    "SELECT conname FROM pg_constraint WHERE conrelid = 'timeline_events'::regclass AND contype IN ('p', 'f', 'c', 'u')"
                )
            ).scalars()
        )
        indexes = set(
            conn.execute(
                sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'timeline_events'")
            ).scalars()
        )
    assert names == {
        "timeline_events_pkey",
        "fk_timeline_events_patient_id",
        "fk_timeline_events_therapist_id",
        "ck_timeline_events_type",
        "ck_timeline_events_importance",
        "fk_timeline_events_updated_by",  # Caseline's own (editing), named by the same convention
    }
    assert indexes == {"timeline_events_pkey", "idx_timeline_patient_date", "idx_timeline_type"}
