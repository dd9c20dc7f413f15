"""Tooltip and detail text say what a therapist needs, in local time."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from viewer.domain import EventDetail, EventType, Importance, to_local
from viewer.event_text import PRIVATE_NOTICE, detail_fields, format_metadata, tooltip_text


def _detail(**overrides: object) -> EventDetail:
    values: dict[str, object] = dict(
        id=uuid.UUID(int=1),
        patient_id=uuid.UUID(int=2),
        therapist_id=uuid.UUID(int=3),
        therapist_name="Dr. Heron",
        event_type=EventType.ASSESSMENT,
        event_subtype="PHQ-9",
        event_date=datetime(2025, 3, 4, 10, 30),
        title="PHQ-9 score 21",
        description="Severe range",
        metadata={"score": 21, "items": [3, 3]},
        related_entity_type=None,
        related_entity_id=None,
        importance=Importance.CRITICAL,
        is_private=False,
        created_at=datetime(2025, 3, 4, 11, 0),
    )
    values.update(overrides)
    return EventDetail(**values)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _utc_plus_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Athens")
    import time

    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


def test_tooltip_has_date_type_importance_title_author_in_local_time() -> None:
    text = tooltip_text(_detail())
    assert to_local(datetime(2025, 3, 4, 10, 30)).hour == 12
    assert text.splitlines() == [
        "Tue 4 Mar 2025, 12:30 · Assessment · Critical",
        "PHQ-9 score 21",
        "by Dr. Heron",
    ]


def test_private_and_orphaned_events_say_so() -> None:
    text = tooltip_text(_detail(is_private=True, therapist_name=None))
    assert "private" in text.splitlines()[0] and text.endswith("\nNo author recorded")
    labels = {f.label: f.value for f in detail_fields(_detail(is_private=True))}
    assert labels["Privacy"] == PRIVATE_NOTICE


def test_detail_fields_in_reading_order() -> None:
    fields = detail_fields(_detail(related_entity_type="Observation", related_entity_id=uuid.UUID(int=9)))
    assert [f.label for f in fields] == [
        "When",
        "Type",
        "Importance",
        "Author",
        "Related",
        "Metadata",
        "Created",
        "Id",
    ]
    assert dict((f.label, f.value) for f in fields)["Type"] == "Assessment (PHQ-9)"
    assert dict((f.label, f.value) for f in fields)["Id"] == "00000000-0000-0000-0000-000000000001"


def test_metadata_lines() -> None:
    assert (
        format_metadata({"score": 21, "band": "severe", "items": [3, 3]})
        == "score: 21\nband: severe\nitems: [3, 3]"
    )


def test_an_imported_events_source_reads_as_codes_not_json() -> None:
    from viewer.event_text import format_fhir_source

    text = format_fhir_source(
        {
            "resourceType": "Encounter",
            "id": "a12b",
            "codes": [
                {"system": "http://snomed.info/sct", "code": "702927004", "display": "Urgent care clinic"}
            ],
        }
    )
    assert text == "FHIR Encounter a12b\nSNOMED CT 702927004: Urgent care clinic"


def test_read_failures_are_worded_for_the_screen_and_only_a_lost_connection_is_retried() -> None:
    import uuid

    import psycopg
    import sqlalchemy as sa

    from viewer.services.errors import (
        EventNotFound,
        NotPermitted,
        connection_failed,
        describe_read_failure,
    )

    event = uuid.UUID(int=5)
    lost = sa.exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("no route to host"))
    assert "connection failed" in (describe_read_failure(lost) or "") and connection_failed(lost)
    assert "not the text" in (describe_read_failure(NotPermitted("read the text of", event)) or "")
    assert "no longer there" in (describe_read_failure(EventNotFound(event)) or "")
    assert not connection_failed(EventNotFound(event))
    assert describe_read_failure(ValueError("a bug")) is None  # bugs still crash loudly
    for reason in (
        describe_read_failure(NotPermitted("read the text of", event)),
        describe_read_failure(lost),
    ):
        assert str(event) not in (reason or "")  # no raw ids on the screen


def test_a_name_that_already_says_its_role_says_it_once() -> None:
    import uuid

    from viewer.services.sign_in import Identity

    assert Identity(uuid.UUID(int=1), "a", "Ada Morrow", "therapist").describe() == "Ada Morrow (therapist)"
    assert (
        Identity(uuid.UUID(int=2), "n", "Noor Castell (admin)", "admin").describe() == "Noor Castell (admin)"
    )
