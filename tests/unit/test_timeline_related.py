"""The Related row names a Caseline event by kind, date and title, an imported source by its resource."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from viewer.domain import EventDetail, EventType, Importance
from viewer.timeline_related import RelatedEvent, describe_related, related_kind

WHEN = datetime(2025, 3, 4, 10, 30)


def _detail(**fields: object) -> EventDetail:
    base = EventDetail(
        id=uuid.uuid4(),
        patient_id=uuid.uuid4(),
        therapist_id=None,
        therapist_name=None,
        event_type=EventType.NOTE,
        event_subtype=None,
        event_date=WHEN,
        title="Review",
        description=None,
        metadata=None,
        related_entity_type="treatment_plan",
        related_entity_id=uuid.uuid4(),
        importance=Importance.NORMAL,
        is_private=False,
        created_at=WHEN,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_a_caseline_event_reads_as_kind_date_and_title() -> None:
    target = RelatedEvent(EventType.TREATMENT_PLAN, WHEN)
    text = describe_related(_detail(), target)
    assert text is not None and text.startswith("Treatment plan, ") and text.endswith("…")
    titled = describe_related(_detail(), replace(target, title="Initial plan"))
    assert titled is not None and titled.endswith(": “Initial plan”")
    hidden = describe_related(_detail(), replace(target, private=True))
    assert hidden is not None and "private" in hidden and "“" not in hidden
    assert str(_detail().related_entity_id) not in (text + titled + hidden)  # never the raw id


def test_an_imported_source_points_to_the_source_row() -> None:
    detail = _detail(
        related_entity_type="Encounter", metadata={"fhir": {"resourceType": "Encounter", "id": "e1"}}
    )
    assert describe_related(detail, None) == "the FHIR Encounter it was imported from (see Source)"


def test_an_unknown_target_says_it_is_elsewhere_and_nothing_means_no_row() -> None:
    assert describe_related(_detail(), None) == "Treatment plan (not on this timeline)"
    assert describe_related(_detail(related_entity_type=None, related_entity_id=None), None) is None
    assert related_kind("lab_result") == "Lab result" and related_kind("Observation") == "Observation"
