"""``db verify`` passes on a migrated schema and names each deliberate break."""

from __future__ import annotations

import sqlalchemy as sa

from viewer.db import migrate
from viewer.db.engine import make_engine
from viewer.db.verify import verify_schema


def _failed(conn: sa.Connection) -> set[str]:
    return {r.item for r in verify_schema(conn).mismatches}


def test_fresh_schema_passes(db: sa.Connection) -> None:
    report = verify_schema(db)
    assert report.ok, report.render()
    assert report.revision == migrate.head_revision()
    assert len([r for r in report.results if r.section == "Columns"]) == 15  # count + 14 columns
    assert len([r for r in report.results if r.section == "Caseline columns"]) == 4  # editing, tombstones
    privacy = {"Row-level security", "Function search paths", "Privileges"}
    assert len([r for r in report.results if r.section not in privacy]) == 27  # the seed contract
    assert {r.item for r in report.results if r.section == "Row-level security"} >= {
        "timeline_events",
        "timeline_event_versions",
        "event_annotations",
        "audit_log",
        "users",
    }
    assert len([r for r in report.results if r.section == "Function search paths"]) >= 20
    assert f"All {len(report.results)} checks passed." in report.render()


def test_undoing_a_privacy_defence_by_hand_is_named(db: sa.Connection) -> None:
    """What RLS and the SECURITY DEFINER helpers stand on, broken one ALTER at a time (rolled back)."""
    database = db.execute(sa.text("SELECT current_database()")).scalar_one()
    db.execute(sa.text("ALTER TABLE timeline_events NO FORCE ROW LEVEL SECURITY"))
    db.execute(sa.text("ALTER TABLE event_annotations DISABLE ROW LEVEL SECURITY"))
    db.execute(sa.text("ALTER FUNCTION caseline_me() SET search_path = public, pg_catalog"))
    db.execute(sa.text(f'GRANT TEMPORARY ON DATABASE "{database}" TO PUBLIC'))
    db.execute(sa.text("GRANT CREATE ON SCHEMA public TO PUBLIC"))
    report = verify_schema(db)
    failed = {(r.section, r.item): r.actual for r in report.mismatches}
    assert failed == {
        ("Row-level security", "timeline_events"): "enabled, not forced",
        ("Row-level security", "event_annotations"): "disabled, forced",  # forced means nothing when off
        ("Function search paths", "caseline_me()"): "search_path=public, pg_catalog",
        ("Privileges", "TEMPORARY on the database"): "PUBLIC",
        ("Privileges", "CREATE on schema public"): "granted to PUBLIC",
    }
    assert not report.ok and "5 of" in report.render()


def test_dropped_check_is_named(db: sa.Connection) -> None:
    db.execute(sa.text("ALTER TABLE timeline_events DROP CONSTRAINT ck_timeline_events_type"))
    assert _failed(db) == {"ck_timeline_events_type"}


def test_wrong_on_delete_is_named(db: sa.Connection) -> None:
    db.execute(
        sa.text(
            "ALTER TABLE timeline_events DROP CONSTRAINT fk_timeline_events_therapist_id, "
            "ADD CONSTRAINT fk_timeline_events_therapist_id FOREIGN KEY (therapist_id) "
            "REFERENCES users(id) ON DELETE CASCADE"
        )
    )
    report = verify_schema(db)
    assert {r.item for r in report.mismatches} == {"fk_timeline_events_therapist_id"}
    assert "ON DELETE CASCADE" in report.mismatches[0].actual


def test_missing_desc_is_named(db: sa.Connection) -> None:
    db.execute(sa.text("DROP INDEX idx_timeline_patient_date"))
    db.execute(sa.text("CREATE INDEX idx_timeline_patient_date ON timeline_events (patient_id, event_date)"))
    report = verify_schema(db)
    assert {r.item for r in report.mismatches} == {"idx_timeline_patient_date"}
    assert report.mismatches[0].actual == "patient_id, event_date"


def test_widened_check_and_column_changes_are_named(db: sa.Connection) -> None:
    db.execute(sa.text("ALTER TABLE timeline_events DROP CONSTRAINT ck_timeline_events_importance"))
    db.execute(
        sa.text(
            "ALTER TABLE timeline_events ADD CONSTRAINT ck_timeline_events_importance "
            "CHECK (importance IN ('low', 'normal', 'high', 'critical', 'urgent'))"
        )
    )
    db.execute(sa.text("ALTER TABLE timeline_events ALTER COLUMN title TYPE varchar(300)"))
    db.execute(sa.text("ALTER TABLE timeline_events ALTER COLUMN is_private DROP DEFAULT"))
    db.execute(sa.text("ALTER TABLE timeline_events ADD COLUMN extra int"))
    db.execute(sa.text("ALTER TABLE timeline_events DROP COLUMN deleted_at"))
    assert _failed(db) == {"ck_timeline_events_importance", "title", "is_private", "extra", "deleted_at"}


def test_missing_table_fails(db: sa.Connection) -> None:
    db.execute(sa.text("DROP TABLE timeline_events CASCADE"))  # annotations hang off it
    report = verify_schema(db)
    assert not report.ok
    assert [r.item for r in report.mismatches] == ["timeline_events"]
    # Stamped at head: a table lost by hand, not a database nobody upgraded, so no upgrade advice.
    assert report.upgrade_hint is None and "db upgrade" not in report.render()


def test_a_database_nobody_migrated_says_run_db_upgrade(scratch_database: sa.URL) -> None:
    engine = make_engine(scratch_database, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            report = verify_schema(conn)
            assert not report.ok and report.revision is None
            assert "has never been migrated" in report.render()
            assert "python main.py db upgrade" in report.render()
            migrate.upgrade(conn, "d4e5f6g7h8i9")  # the seed's table alone: older than this build
            conn.commit()
            behind = verify_schema(conn)
        assert not behind.ok
        assert behind.upgrade_hint is not None and "is at revision d4e5f6g7h8i9" in behind.upgrade_hint
        assert migrate.head_revision() in behind.upgrade_hint
    finally:
        engine.dispose()
