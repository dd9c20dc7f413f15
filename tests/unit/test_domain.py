"""Domain rules mirror the schema: the enums are the CHECK lists, validation the column limits."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import draft
from viewer.domain import (
    EVENT_TYPE_VALUES,
    IMPORTANCE_VALUES,
    EventType,
    Importance,
    ValidationError,
    from_storage,
    to_storage,
)

SEED_REPORT = Path(__file__).resolve().parents[3] / "shared" / "seed" / "timeline-migration-report.md"
PATIENT = uuid.UUID(int=1)


def _seed_values(heading: str) -> list[str]:
    text = SEED_REPORT.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("**Status**", 1)[0]
    return re.findall(r"^\s+- (\w+)$", section, flags=re.MULTILINE)


def test_enums_are_exactly_the_seed_check_values() -> None:
    assert list(EVENT_TYPE_VALUES) == _seed_values("### 1. ck_timeline_events_type")
    assert list(IMPORTANCE_VALUES) == _seed_values("### 2. ck_timeline_events_importance")


def test_lanes_are_stable_and_round_trip() -> None:
    assert [t.lane for t in EventType] == list(range(8))
    assert all(EventType.from_lane(t.lane) is t for t in EventType)


def test_importance_orders_and_round_trips() -> None:
    assert max(Importance) is Importance.CRITICAL
    assert all(Importance.from_db(i.db_value) is i for i in Importance)
    with pytest.raises(ValueError):
        Importance.from_db("urgent")


def test_valid_draft_passes() -> None:
    draft(PATIENT, metadata={"score": 12, "instrument": "PHQ-9"}).validate()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"event_subtype": "s" * 51}, "event_subtype"),
        ({"related_entity_type": "r" * 51, "related_entity_id": uuid.UUID(int=2)}, "related_entity_type"),
        ({"related_entity_type": "fhir"}, "related_entity_id"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"metadata": {"k": "v\x00"}}, "metadata"),
        ({"metadata": {"k": float("nan")}}, "metadata"),
        ({"metadata": {"k": "x" * 70_000}}, "metadata"),
        ({"metadata": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}}, "metadata"),
        ({"event_date": datetime(2025, 1, 1)}, "event_date"),
        ({"event_type": "party"}, "event_type"),
        ({"importance": "urgent"}, "importance"),
    ],
)
def test_invalid_fields_are_named(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        draft(PATIENT, **overrides).validate()
    assert info.value.field == field


def test_error_messages_do_not_quote_the_text() -> None:
    secret = "Patient disclosed something private" * 10
    with pytest.raises(ValidationError) as info:
        draft(PATIENT, title=secret).validate()
    assert "disclosed" not in str(info.value)


def test_title_at_the_limit_is_fine() -> None:
    draft(PATIENT, title="é" * 200).validate()


@given(
    st.datetimes(
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
        )
    )
)
def test_storage_round_trip_keeps_the_instant(moment: datetime) -> None:
    stored = to_storage(moment)
    assert stored.tzinfo is None
    assert from_storage(stored) == moment
