"""Timeline events as a FHIR R4 Bundle (type collection) that imports back into the same timeline.

Each event becomes the resource a FHIR reader expects for its lane (a session
an Encounter, a diagnosis a Condition, a plan a CarePlan, a medication a
MedicationStatement, an assessment a survey Observation, the rest ``Basic``)
and carries Caseline's exact fields in one extension
(:data:`EVENT_EXTENSION`), so importing the export reproduces every date,
lane, importance, title, description and metadata value.  Other FHIR readers
see ordinary resources and may ignore the extension.

Who is who travels as identifiers: the Patient and each author's Practitioner
carry their Caseline user id (:data:`~viewer.fhir.mapping.CASELINE_USER`), and
each event references its author where FHIR puts one (an Encounter's
participant, a Condition's recorder, …).  Importing the export where it came
from therefore finds the same patient, the same events (their resource ids are
the event ids) and the same authors, and changes nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from viewer.domain import EventDetail, EventType
from viewer.fhir.mapping import CASELINE_USER, CASELINE_USERNAME, EVENT_EXTENSION

SYSTEM = "https://caseline.example/fhir/CodeSystem/event-type"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# R4 status codes that are true of any event, however old: the record says what happened, not what is planned.
R4_STATUS = {
    "Encounter": "finished",
    "CarePlan": "unknown",
    "MedicationStatement": "unknown",
    "Observation": "final",
}
MAX_CODES = 10

_RESOURCE_FOR = {
    EventType.SESSION: "Encounter",
    EventType.DIAGNOSIS: "Condition",
    EventType.TREATMENT_PLAN: "CarePlan",
    EventType.MEDICATION: "MedicationStatement",
    EventType.ASSESSMENT: "Observation",
    EventType.MILESTONE: "Basic",
    EventType.NOTE: "Basic",
    EventType.EXTERNAL_EVENT: "Basic",
}


def _instant(stored: datetime) -> str:
    return stored.replace(tzinfo=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def event_fields(detail: EventDetail) -> dict[str, Any]:
    """What the extension carries: everything the timeline shows, nothing about who may see it."""
    return {
        "event_type": detail.event_type.value,
        "event_subtype": detail.event_subtype,
        "event_date": _instant(detail.event_date),
        "title": detail.title,
        "description": detail.description,
        "importance": detail.importance.db_value,
        "is_private": detail.is_private,
        "metadata": detail.metadata,
        "related_entity_type": detail.related_entity_type,
        "related_entity_id": str(detail.related_entity_id) if detail.related_entity_id else None,
    }


def source_codes(detail: EventDetail) -> list[dict[str, str]]:
    """The codings an imported event came with (SNOMED CT, LOINC, RxNorm…), kept in ``metadata.fhir``."""
    fhir = (detail.metadata or {}).get("fhir")
    codes = fhir.get("codes") if isinstance(fhir, dict) else None
    found = []
    for code in codes if isinstance(codes, list) else []:
        if isinstance(code, dict) and isinstance(code.get("code"), str):
            found.append({k: code[k] for k in ("system", "code", "display") if isinstance(code.get(k), str)})
    return found[:MAX_CODES]


def event_resource(detail: EventDetail, patient_ref: str) -> dict[str, Any]:
    """The resource one event becomes; its author (if any) referenced where FHIR puts one.

    Its codes are the source's own (so another FHIR reader knows the diagnosis, the
    drug or the questionnaire) followed by Caseline's lane; a scored assessment
    carries its score as the Observation's value.
    """
    kind = _RESOURCE_FOR[detail.event_type]
    when = _instant(detail.event_date)
    coding = [*source_codes(detail), {"system": SYSTEM, "code": detail.event_type.value}]
    concept = {"coding": coding, "text": detail.title}
    resource: dict[str, Any] = {
        "resourceType": kind,
        "id": str(detail.id),
        "extension": [
            {"url": EVENT_EXTENSION, "valueString": json.dumps(event_fields(detail), ensure_ascii=False)}
        ],
    }
    subject = {"reference": patient_ref}
    if kind in R4_STATUS:
        resource["status"] = R4_STATUS[kind]
    if kind == "Encounter":
        resource.update(**{"class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"}}, type=[concept],
                        subject=subject, period={"start": when})  # fmt: skip
    elif kind == "Condition":
        resource.update(code=concept, subject=subject, onsetDateTime=when)
    elif kind == "CarePlan":
        resource.update(intent="plan", title=detail.title, category=[concept], subject=subject,
                        period={"start": when})  # fmt: skip
    elif kind == "MedicationStatement":
        resource.update(medicationCodeableConcept=concept, subject=subject, effectiveDateTime=when)
    elif kind == "Observation":
        survey = {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        resource.update(category=[survey], code=concept, subject=subject, effectiveDateTime=when)
        score = (detail.metadata or {}).get("score")
        if isinstance(score, int | float) and not isinstance(score, bool):
            resource["valueQuantity"] = {"value": score}
    else:
        resource.update(code=concept, subject=subject, created=when[:10])
    if detail.therapist_id is not None:
        author = {"reference": f"urn:uuid:{detail.therapist_id}"}
        if kind == "Encounter":
            resource["participant"] = [{"individual": author}]
        elif kind == "Observation":
            resource["performer"] = [author]
        else:
            resource[_AUTHOR_FIELD[kind]] = author
    return resource


_AUTHOR_FIELD = {"Condition": "recorder", "CarePlan": "author", "MedicationStatement": "informationSource",
                 "Basic": "author"}  # fmt: skip


def _identifiers(user_id: uuid.UUID, username: str | None = None) -> list[dict[str, str]]:
    found = [{"system": CASELINE_USER, "value": str(user_id)}]
    if username:
        found.append({"system": CASELINE_USERNAME, "value": username})
    return found


def build_bundle(
    patient_id: uuid.UUID, patient_name: str, events: list[EventDetail], patient_username: str | None = None
) -> dict[str, Any]:
    """A collection Bundle: the patient, the events' authors, then one resource per event (oldest first)."""
    patient_ref = f"urn:uuid:{patient_id}"
    patient = {
        "resourceType": "Patient",
        "id": str(patient_id),
        "identifier": _identifiers(patient_id, patient_username),
        "name": [{"text": patient_name}],
    }
    entries: list[dict[str, Any]] = [{"fullUrl": patient_ref, "resource": patient}]
    authors = {d.therapist_id: d.therapist_name for d in events if d.therapist_id is not None}
    for author_id in sorted(authors, key=str):
        practitioner: dict[str, Any] = {
            "resourceType": "Practitioner",
            "id": str(author_id),
            "identifier": _identifiers(author_id),
        }
        if authors[author_id]:
            practitioner["name"] = [{"text": authors[author_id]}]
        entries.append({"fullUrl": f"urn:uuid:{author_id}", "resource": practitioner})
    for detail in sorted(events, key=lambda d: (d.event_date, str(d.id))):
        entries.append({"fullUrl": f"urn:uuid:{detail.id}", "resource": event_resource(detail, patient_ref)})
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "entry": entries,
    }
