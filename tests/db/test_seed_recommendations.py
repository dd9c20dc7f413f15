"""The five tests the seed report recommends, on real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.factories import add_events, add_user, draft
from viewer.domain import EventType, Importance
from viewer.services.events import EventService
from viewer.services.purge import purge_user
from viewer.services.timeline_query import fetch_event, fetch_timeline


def _insert(conn: sa.Connection, **values: object) -> None:
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    conn.execute(sa.text(f"INSERT INTO timeline_events ({columns}) VALUES ({params})"), values)


def test_insert_applies_defaults(db: sa.Connection) -> None:
    patient = add_user(db)
    _insert(db, patient_id=patient, event_type="session", event_date=datetime(2025, 1, 2, 9), title="Intake")
    row = (
        db.execute(sa.text("SELECT * FROM timeline_events WHERE patient_id = :p"), {"p": patient})
        .mappings()
        .one()
    )
    assert isinstance(row["id"], uuid.UUID)
    assert row["importance"] == "normal"
    assert row["is_private"] is False
    assert row["created_at"] is not None
    assert row["therapist_id"] is None and row["metadata"] is None


def test_patient_timeline_query_uses_the_index(db: sa.Connection) -> None:
    """On a realistic table (many patients), the timeline query is an index scan."""
    patients = [add_user(db) for _ in range(40)]
    for patient in patients:
        add_events(db, patient, 500)
    db.execute(sa.text("ANALYZE timeline_events"))
    plan = "\n".join(
        db.execute(
            sa.text(
                "EXPLAIN SELECT id, event_date FROM timeline_events WHERE patient_id = :p "
                "AND event_date >= :s AND event_date < :e ORDER BY event_date DESC"
            ),
            {"p": patients[7], "s": datetime(2024, 1, 1), "e": datetime(2024, 3, 1)},
        ).scalars()
    )
    assert "idx_timeline_patient_date" in plan, plan


def test_deleting_a_patient_cascades_to_events(db: sa.Connection) -> None:
    patient, other = add_user(db), add_user(db)
    add_events(db, patient, 5)
    add_events(db, other, 3)
    assert purge_user(db, patient)  # the documented purge: plain DELETE is refused by a trigger
    counts = dict(db.execute(sa.text("SELECT patient_id, count(*) FROM timeline_events GROUP BY 1")).all())
    assert counts == {other: 3}


def test_deleting_a_therapist_keeps_events_without_author(db: sa.Connection) -> None:
    patient, therapist = add_user(db), add_user(db, "therapist")
    add_events(db, patient, 4, therapist_id=therapist)
    assert purge_user(db, therapist)
    rows = db.execute(
        sa.text("SELECT therapist_id FROM timeline_events WHERE patient_id = :p"), {"p": patient}
    ).all()
    assert len(rows) == 4 and all(r.therapist_id is None for r in rows)


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"event_type": "party"}, "ck_timeline_events_type"),
        ({"importance": "urgent"}, "ck_timeline_events_importance"),
    ],
)
def test_check_constraints_refuse_bad_values(
    db: sa.Connection, values: dict[str, str], constraint: str
) -> None:
    patient = add_user(db)
    row = {
        "patient_id": patient,
        "event_type": "note",
        "event_date": datetime(2025, 1, 1),
        "title": "t",
    } | values
    with pytest.raises(sa.exc.IntegrityError) as info, db.begin_nested():
        _insert(db, **row)
    assert info.value.orig.diag.constraint_name == constraint  # type: ignore[union-attr]


def test_overlong_title_is_refused(db: sa.Connection) -> None:
    patient = add_user(db)
    with pytest.raises(sa.exc.DataError) as info, db.begin_nested():
        _insert(db, patient_id=patient, event_type="note", event_date=datetime(2025, 1, 1), title="x" * 201)
    assert "character varying(200)" in str(info.value.orig)


def test_integration_through_the_service_layer(db: sa.Connection) -> None:
    patient, therapist = add_user(db), add_user(db, "therapist")
    service = EventService(db)
    first = service.create(
        draft(
            patient,
            therapist_id=therapist,
            title="Intake",
            importance=Importance.HIGH,
            metadata={"room": "2"},
        )
    )
    second = service.create(
        draft(
            patient,
            event_type=EventType.ASSESSMENT,
            title="PHQ-9",
            event_date=datetime(2025, 3, 1, tzinfo=UTC),
        )
    )
    columns = fetch_timeline(db, patient)
    assert [columns.event_id(i) for i in range(len(columns))] == [second, first]
    detail = fetch_event(db, first)
    assert (
        detail.title == "Intake" and detail.metadata == {"room": "2"} and detail.importance is Importance.HIGH
    )
    assert detail.therapist_name is not None
    service.update(first, draft(patient, therapist_id=therapist, title="Intake (rev)"))
    assert fetch_event(db, first).title == "Intake (rev)"
    service.delete(second)
    assert len(fetch_timeline(db, patient)) == 1
