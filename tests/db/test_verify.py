"""``db verify`` passes on a migrated schema and names each deliberate break."""

from __future__ import annotations

import sqlalchemy as sa

from viewer.db import migrate
from viewer.db.verify import verify_schema


def _failed(conn: sa.Connection) -> set[str]:
    return {r.item for r in verify_schema(conn).mismatches}


def test_fresh_schema_passes(db: sa.Connection) -> None:
    report = verify_schema(db)
    assert report.ok, report.render()
    assert report.revision == migrate.head_revision()
    assert len([r for r in report.results if r.section == "Columns"]) == 15  # count + 14 columns
    assert len([r for r in report.results if r.section == "Caseline columns"]) == 4  # editing, tombstones
    assert "All 27 checks passed." in report.render()


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
