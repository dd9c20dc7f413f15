"""The FHIR mapping's clinical reading, and the README table it generates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT
from viewer.domain import EventType, Importance
from viewer.fhir.mapping import (
    INSTRUMENTS,
    MappedEvent,
    MappingError,
    Skip,
    map_resource,
    mapping_table,
    parse_datetime,
)

PATIENT = {"reference": "urn:uuid:p"}


def _survey(loinc: str, score: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "obs-1",
        "category": [{"coding": [{"code": "survey"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": "questionnaire"}]},
        "subject": PATIENT,
        "effectiveDateTime": "2024-03-01T10:00:00+01:00",
        "valueQuantity": {"value": score},
    }


@pytest.mark.parametrize(
    ("loinc", "score", "importance", "title"),
    [
        ("44261-6", 3, Importance.LOW, "PHQ-9: 3 (minimal)"),
        ("44261-6", 7, Importance.NORMAL, "PHQ-9: 7 (mild)"),
        ("44261-6", 14, Importance.HIGH, "PHQ-9: 14 (moderate)"),
        ("44261-6", 19, Importance.HIGH, "PHQ-9: 19 (moderately severe)"),
        ("44261-6", 20, Importance.CRITICAL, "PHQ-9: 20 (severe)"),
        ("44261-6", 27, Importance.CRITICAL, "PHQ-9: 27 (severe)"),
        ("70274-6", 15, Importance.CRITICAL, "GAD-7: 15 (severe)"),
        ("70274-6", 9.5, Importance.NORMAL, "GAD-7: 9.5 (mild)"),
        ("72109-2", 4, Importance.HIGH, "AUDIT-C: 4 (positive screen)"),
        ("82667-7", 6, Importance.CRITICAL, "DAST-10: 6 (substantial)"),
        ("72106-8", 27, Importance.LOW, "MMSE: 27 (normal)"),
    ],
)
def test_questionnaires_are_read_through_their_severity_bands(
    loinc: str, score: float, importance: Importance, title: str
) -> None:
    event = map_resource(_survey(loinc, score))
    assert isinstance(event, MappedEvent)
    assert (event.event_type, event.importance, event.title) == (EventType.ASSESSMENT, importance, title)
    assert event.metadata["score"] == score and event.metadata["fhir"]["id"] == "obs-1"
    assert event.when == datetime(2024, 3, 1, 9, tzinfo=UTC)


def test_non_survey_observations_billing_and_others_are_skipped_with_a_reason() -> None:
    vital = {**_survey("8867-4", 80), "category": [{"coding": [{"code": "vital-signs"}]}]}
    assert isinstance(map_resource(vital), Skip)
    assert map_resource({"resourceType": "Claim"}) == Skip("billing, not care")
    assert isinstance(map_resource({"resourceType": "Organization"}), Skip)


def test_encounters_and_procedures_become_sessions_only_for_behavioural_health() -> None:
    def encounter(display: str, klass: str = "AMB") -> dict[str, Any]:
        return {
            "resourceType": "Encounter",
            "id": "e",
            "class": {"code": klass},
            "type": [{"coding": [{"display": display}]}],
            "subject": PATIENT,
            "period": {"start": "2020-01-01"},
        }

    psych = map_resource(encounter("Initial Psychiatric Interview with mental status evaluation"))
    check_up = map_resource(encounter("Encounter for check up (procedure)"))
    emergency = map_resource(encounter("Emergency room admission (procedure)", "EMER"))
    assert isinstance(psych, MappedEvent) and psych.event_type is EventType.SESSION
    assert isinstance(check_up, MappedEvent) and (check_up.event_type, check_up.importance) == (
        EventType.EXTERNAL_EVENT,
        Importance.LOW,
    )
    assert isinstance(emergency, MappedEvent) and emergency.importance is Importance.HIGH
    psych_emergency = map_resource(encounter("Psychiatric emergency assessment", "EMER"))
    admitted = map_resource(encounter("Admission to psychiatric ward", "IMP"))
    assert isinstance(psych_emergency, MappedEvent) and isinstance(admitted, MappedEvent)
    assert (psych_emergency.event_type, psych_emergency.importance) == (EventType.SESSION, Importance.HIGH)
    assert admitted.importance is Importance.HIGH
    overdose = map_resource(
        {
            **encounter("Emergency Room Admission", "EMER"),
            "reasonCode": [{"coding": [{"display": "Drug overdose"}]}],
        }
    )
    assert isinstance(overdose, MappedEvent)
    assert (overdose.event_type, overdose.importance) == (EventType.SESSION, Importance.CRITICAL)
    condition = {"resourceType": "Condition", "id": "c", "subject": PATIENT, "onsetDateTime": "2019-05-05",
                 "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F32.1"}], "text": "Episode"}}  # fmt: skip
    mapped = map_resource(condition)
    assert isinstance(mapped, MappedEvent) and mapped.importance is Importance.HIGH  # ICD-10 chapter F


def test_dates_and_missing_fields_are_named() -> None:
    assert parse_datetime("2020", "x") == datetime(2020, 1, 1, tzinfo=UTC)
    assert parse_datetime("2020-02-03T04:05:06Z", "x") == datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert parse_datetime("2020-02-03T04:05:06-05:00", "x").utcoffset() == timedelta(hours=-5)
    assert parse_datetime("2020-02-03T04:05:06-05:00", "x").tzinfo == timezone(timedelta(hours=-5))
    with pytest.raises(MappingError, match=r"unparseable date in period\.start"):
        parse_datetime("next tuesday", "period.start")
    with pytest.raises(MappingError, match="missing required field subject"):
        map_resource({**_survey("44261-6", 1), "subject": None})
    with pytest.raises(MappingError, match="missing required field id"):
        map_resource({**_survey("44261-6", 1), "id": ""})


def test_the_readme_mapping_table_is_the_one_the_code_generates() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert mapping_table() in readme, (
        "README's mapping table differs: paste mapping_table() into it\n" + mapping_table()
    )


def _condition(text: str, system: str = "http://snomed.info/sct", code: str = "1") -> dict[str, Any]:
    return {"resourceType": "Condition", "id": "c", "subject": PATIENT, "onsetDateTime": "2019-05-05",
            "code": {"coding": [{"system": system, "code": code}], "text": text}}  # fmt: skip


@pytest.mark.parametrize(
    "condition",
    [
        _condition("Alzheimer's disease (disorder)"),
        _condition("Dementia (disorder)"),
        _condition("Mild cognitive impairment"),
        _condition("Dementia with Lewy bodies"),
        _condition("Episode", "http://hl7.org/fhir/sid/icd-10-cm", "G30.9"),  # Alzheimer's, chapter G
    ],
    ids=["alzheimer", "dementia", "mci", "lewy", "icd10-g30"],
)
def test_neurocognitive_disorders_are_mental_health_diagnoses_alike(condition: dict[str, Any]) -> None:
    mapped = map_resource(condition)
    assert isinstance(mapped, MappedEvent) and mapped.importance is Importance.HIGH
    plan = {
        "resourceType": "CarePlan",
        "id": "p",
        "subject": PATIENT,
        "period": {"start": "2020-01-01"},
        "category": [{"coding": [{"display": "Demential management"}]}],
    }  # fmt: skip  (Synthea's spelling)
    planned = map_resource(plan)
    assert isinstance(planned, MappedEvent) and planned.importance is Importance.HIGH


def test_instrument_bands_are_described_from_the_table_the_importer_uses() -> None:
    assert INSTRUMENTS["44261-6"].describe() == "PHQ-9 0-4 low, 5-9 normal, 10-19 high, >= 20 critical"
    assert INSTRUMENTS["72106-8"].describe() == "MMSE 0-9 critical, 10-18 high, 19-23 normal, >= 24 low"
    assert INSTRUMENTS["82667-7"].describe() == "DAST-10 0 low, 1-2 normal, 3-5 high, >= 6 critical"
    table = mapping_table()
    for instrument in INSTRUMENTS.values():
        assert instrument.describe() in table
        for lowest, _band, importance in instrument.bands:  # each band's own lowest score lands in it
            assert instrument.band(lowest)[1] is importance


@pytest.mark.parametrize(
    "display",
    [
        "Encounter for check-up",
        "Dépression légère — 抑郁",
        "nul\x00inside",
        "lone \ud800 surrogate",
        "x" * 70_000,
    ],
)
def test_importer_encoder_gives_encode_metadata_text_and_errors(display: str) -> None:
    """The importer's reused encoder must write the text (digests depend on it) and refuse what encode_metadata does."""
    from viewer.domain import ValidationError, encode_metadata
    from viewer.services.fhir_rows import encode_trusted

    metadata = {
        "fhir": {"resourceType": "Condition", "id": "c1", "codes": [{"display": display}]},
        "score": 1.5,
    }
    try:
        expected: str | None = encode_metadata(metadata, shape_trusted=True)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as caught:
            encode_trusted(metadata)
        assert caught.value.message == exc.message
        return
    assert encode_trusted(metadata) == expected
