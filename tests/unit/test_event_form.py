"""The editor's rules without a window: every field checked at once, metadata round trips."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from viewer.domain import EventDraft, EventType, Importance
from viewer.event_form import (
    PRIVATE_EXPLANATION,
    SHARED_EXPLANATION,
    SUBTYPE_SUGGESTIONS,
    FormValues,
    apply_edits,
    changed_fields,
    metadata_cell,
    parse_metadata_cell,
    privacy_explanation,
    read_edit,
    read_form,
)

PATIENT = uuid.UUID(int=7)
WHEN = datetime(2025, 5, 6, 14, 30, tzinfo=UTC)


def _values(**changes: Any) -> FormValues:
    base = FormValues(
        patient_id=PATIENT, event_type=EventType.SESSION, event_date=WHEN, title="Weekly session"
    )
    return FormValues(**{**base.__dict__, **changes})


def test_a_valid_form_gives_a_draft_with_blank_fields_as_none() -> None:
    check = read_form(_values(title="  Weekly session  ", metadata_rows=(("room", "2"), ("", ""))))
    assert check.ok and not check.errors
    assert check.draft == EventDraft(
        patient_id=PATIENT,
        event_type=EventType.SESSION,
        event_date=WHEN,
        title="Weekly session",
        metadata={"room": 2},
    )


def test_every_bad_field_is_reported_at_once_and_no_draft_is_given() -> None:
    check = read_form(
        _values(
            title=" ",
            event_subtype="x" * 51,
            description="a\x00b",
            metadata_rows=(("", "orphan value"),),
            related_entity_type="plan",
            related_entity_id="not-an-id",
            event_date=datetime(2025, 1, 1),  # naive: ambiguous
        )
    )
    assert check.draft is None
    assert set(check.errors) == {
        "title",
        "event_subtype",
        "description",
        "metadata",
        "related_entity_id",
        "event_date",
    }
    assert "51 characters" in check.errors["event_subtype"]
    assert "row 1" in check.errors["metadata"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((("dose", "5"), ("dose", "10")), "has the key of row 2 twice"),
        ((("k" * 51, "v"),), "longer than 50"),
    ],
)
def test_metadata_rows_are_checked(rows: tuple[tuple[str, str], ...], message: str) -> None:
    assert message in read_form(_values(metadata_rows=rows)).errors["metadata"]


def test_related_entity_needs_both_parts() -> None:
    assert "related_entity_id" in read_form(_values(related_entity_type="plan")).errors
    assert "related_entity_type" in read_form(_values(related_entity_id=str(uuid.uuid4()))).errors
    related = uuid.uuid4()
    draft = read_form(_values(related_entity_type="plan", related_entity_id=str(related))).draft
    assert draft is not None and draft.related_entity_id == related


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(json_values)
def test_every_metadata_value_survives_an_open_and_save(value: Any) -> None:
    assert parse_metadata_cell(metadata_cell(value)) == value


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "[1, NaN]", "1e400", "[-1e999]", "1e-400"])
def test_nan_and_infinity_typed_in_a_cell_are_kept_as_text(text: str) -> None:
    """json.loads reads them as floats, which metadata refuses: the form said "not valid JSON" instead."""
    assert parse_metadata_cell(text) == text and metadata_cell(text) == text
    check = read_form(_values(metadata_rows=(("scale", text),)))
    assert check.draft is not None and check.draft.metadata == {"scale": text}


def test_form_values_round_trip_through_a_draft_and_json() -> None:
    draft = EventDraft(
        patient_id=PATIENT,
        therapist_id=uuid.UUID(int=9),
        event_type=EventType.ASSESSMENT,
        event_date=WHEN,
        title="PHQ-9: 14",
        importance=Importance.HIGH,
        event_subtype="phq-9",
        description="Moderate",
        metadata={"score": 14, "instrument": "PHQ-9", "note": "14"},
        related_entity_type="plan",
        related_entity_id=uuid.UUID(int=3),
        is_private=True,
    )
    values = FormValues.from_draft(draft)
    assert read_form(values).draft == draft
    assert FormValues.from_json(values.to_json()) == values
    assert changed_fields(draft, draft) == []
    edited = read_form(FormValues(**{**values.__dict__, "title": "PHQ-9: 15", "is_private": False})).draft
    assert edited is not None and changed_fields(draft, edited) == ["title", "is_private"]


def test_suggestions_cover_every_type_and_the_privacy_text_says_who_sees() -> None:
    assert set(SUBTYPE_SUGGESTIONS) == set(EventType)
    assert privacy_explanation(True) == PRIVATE_EXPLANATION and "supervisor" in PRIVATE_EXPLANATION
    assert privacy_explanation(False) == SHARED_EXPLANATION and "care team" in SHARED_EXPLANATION


def test_an_edit_is_judged_on_the_boxes_changed_and_saves_the_rest_as_stored() -> None:
    base = EventDraft(
        uuid.uuid4(),
        EventType.NOTE,
        datetime(2025, 3, 4, 10, 15, 42, 123456, tzinfo=UTC),
        "Intake  ",
        metadata={"k" * 60: 1},  # more than the editor lets one type (an import may bring it)
    )
    opened = FormValues.from_draft(base)
    assert not read_form(opened).ok  # the form alone refuses the key ...
    check, edited = read_edit(opened, opened)
    assert check.ok and edited == set()  # ... but nothing was touched
    fixed = dataclasses.replace(opened, title="Intake", event_date=opened.event_date.replace(microsecond=0))
    check, edited = read_edit(opened, fixed)
    assert check.ok and edited == {"title", "event_date"}
    assert check.draft is not None
    saved = apply_edits(base, check.draft, edited)
    assert saved.title == "Intake" and saved.metadata == {"k" * 60: 1} and saved.event_date.microsecond == 0
    broken = dataclasses.replace(opened, metadata_rows=(("k" * 60, "2"),))  # touched: judged again
    check, edited = read_edit(opened, broken)
    assert not check.ok and "metadata" in check.errors and edited == {"metadata"}
    related = dataclasses.replace(opened, related_entity_type="session")  # the pair counts as one
    assert read_edit(opened, related)[1] == {"related_entity_type", "related_entity_id"}


@pytest.mark.parametrize(
    ("when", "said"),
    [
        (datetime(2062, 3, 14, 9, 0), "That is 35 years from now: check the year."),
        (datetime(2028, 1, 5, 9, 0), "That is more than a year from now: check the year."),
        (datetime(2027, 11, 30, 9, 0), None),  # a plan for next year is ordinary
        (datetime(1926, 3, 14, 9, 0), None),  # an old record
        (datetime(1826, 3, 14, 9, 0), "That is in 1826: check the year."),
    ],
)
def test_a_far_off_year_is_questioned_not_refused(when: datetime, said: str | None) -> None:
    from viewer.event_form import date_notice

    assert date_notice(when, datetime(2026, 12, 1, 23, 0)) == said
