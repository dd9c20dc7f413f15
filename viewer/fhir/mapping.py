"""From FHIR R4 resources to timeline events: which lane, which importance, and why.

Each mapped resource type has one :class:`Rule`; its ``becomes`` and
``importance`` texts are what the README's mapping table says
(:func:`mapping_table` generates that table and a test checks the README
against it), and its ``map`` function is what the importer runs.  Importance
follows clinical meaning for a psychotherapy practice: mental-health
diagnoses and encounters matter more than a flu shot, and a questionnaire's
score is read through its instrument's published severity bands.

Every event keeps its source: ``related_entity_type`` is the resource type,
``related_entity_id`` the resource id (as a UUID; ids that are not UUIDs are
turned into one with UUIDv5), and ``metadata.fhir`` the id, codes and
displays.  That key makes importing the same file twice change nothing.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import Any

from viewer.domain import (
    FLOAT_EXACT_LIMIT,
    SHORT_TEXT_MAX,
    TITLE_MAX,
    EventType,
    Importance,
    ValidationError,
    check_text,
)
from viewer.fhir.json_bounds import TooDeep, loads_bounded

NAMESPACE = uuid.UUID("6f1c2b0e-57c4-4b8a-9a55-0c6d2a1f3e11")  # UUIDv5 namespace for non-UUID FHIR ids
MAX_CODES = 10
ID_MAX = 200  # FHIR allows 64; real exports overshoot, so be lenient but bounded
EXTENSION_MAX_DEPTH = 16  # the extension's JSON: an event's fields, metadata at most 8 deep


class MappingError(ValueError):
    """The resource lacks something the mapping needs; the message names the field, not the content."""


@dataclass(frozen=True)
class MappedEvent:
    source_type: str
    source_id: str
    patient_ref: str
    practitioner_refs: tuple[str, ...]
    event_type: EventType
    when: datetime
    title: str
    importance: Importance
    subtype: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = field(default_factory=dict)  # None: an exported event had none
    is_private: bool = False
    # The related entity stored with the event; by default the source resource itself.
    related: tuple[str, str] | bool | None = True
    # A resource from a Caseline export: the id of the event it was (matched again on re-import).
    caseline_id: uuid.UUID | None = None

    @cached_property
    def related_entity(self) -> tuple[str | None, str | None]:
        """(type, id as UUID text) stored with the event."""
        if self.related is True:
            return self.source_type, source_uuid(self.source_type, self.source_id)
        if isinstance(self.related, tuple):
            return self.related
        return None, None

    @property
    def shape_trusted(self) -> bool:
        """Metadata built by this module (fixed depth, checked numbers), not copied from an extension."""
        return self.related is True

    @property
    def source_key(self) -> tuple[str, str]:
        """What identifies the source resource across imports: metadata.fhir's type and id."""
        fhir = self.metadata.get("fhir") if self.metadata else None
        if not isinstance(fhir, dict):  # an extension's metadata may hold anything under "fhir"
            return self.source_type, self.source_id
        return str(fhir.get("resourceType", self.source_type)), str(fhir.get("id", self.source_id))


@dataclass(frozen=True)
class Skip:
    """A resource that is not a timeline event, with the reason it is counted as skipped."""

    reason: str


_UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def source_uuid(resource_type: str, resource_id: str) -> str:
    """The resource id as the text of a UUID (ids that are not UUIDs become UUIDv5 of type/id).

    Text, not ``uuid.UUID``: building a UUID object costs more than the rest of a row's COPY.
    """
    if _UUID_TEXT.match(resource_id):
        return resource_id.lower()
    return str(uuid.uuid5(NAMESPACE, f"{resource_type}/{resource_id}"))


# -- reading fields ------------------------------------------------------------------------

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def parse_datetime(value: Any, field_name: str) -> datetime:
    """A FHIR date or dateTime as an aware datetime (dates and zone-less times are read as UTC)."""
    if not isinstance(value, str):
        raise MappingError(f"unparseable date in {field_name}")
    text = value.strip()
    try:
        if _DATE.match(text):
            parts = [int(p) for p in text.split("-")] + [1, 1]
            moment = datetime(parts[0], parts[1], parts[2])
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"unparseable date in {field_name}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise MappingError(f"unparseable date in {field_name}") from None
    return moment


def _first_date(resource: dict[str, Any], *paths: str) -> datetime:
    for path in paths:
        value: Any = resource
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return parse_datetime(value, path)
    raise MappingError(f"missing required field {' or '.join(paths)}")


def _codings(concept: Any) -> list[dict[str, str]]:
    if not isinstance(concept, dict):
        return []
    codings = concept.get("coding", [])
    found = []
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict):
            found.append({k: str(coding[k]) for k in ("system", "code", "display") if k in coding})
    return found[:MAX_CODES]


def _text(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    codings = concept.get("coding")
    for coding in codings if isinstance(codings, list) else ():
        if isinstance(coding, dict) and coding.get("display"):
            return str(coding["display"]).strip()
    return None


def _concepts(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([value] if isinstance(value, dict) else [])


def _list(value: Any) -> list[Any]:
    """A field that should be a list, or nothing (hostile files put anything anywhere)."""
    return value if isinstance(value, list) else []


def _ref(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        return str(value["reference"])
    return None


def _subject(resource: dict[str, Any]) -> str:
    ref = _ref(resource.get("subject")) or _ref(resource.get("patient"))
    if ref is None:
        raise MappingError("missing required field subject")
    return ref


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MENTAL_HEALTH = re.compile(
    r"psych|mental|depress|anxiety|panic|alcohol(?!.*(disinfectant|swab))|substance|drug (abuse|use|misuse|dependence)"
    r"|overdose|suicid|self.harm|bipolar|schizo|ptsd|post.traumatic|stress disorder|addict|opioid (abuse|use|dependence)"
    r"|eating disorder|anorexia|bulimia|adhd|attention deficit|counsel|behavio(u)?ral"
    # Neurocognitive disorders are mental disorders (DSM-5), Alzheimer's as much as "dementia".
    r"|dementia|cognitive|alzheimer|lewy bod|frontotemporal|amnestic",
    re.IGNORECASE,
)
_CRISIS = re.compile(r"suicid|overdose|self.harm|psychosis|psychotic", re.IGNORECASE)
_PSYCHOTHERAPY = re.compile(
    r"psychotherap|counsel|psychiatric|cognitive behavio|behavio(u)?ral therapy|mental health", re.IGNORECASE
)
_PSYCHOTROPIC = re.compile(
    r"sertraline|fluoxetine|citalopram|paroxetine|bupropion|venlafaxine|duloxetine|mirtazapine|trazodone"
    r"|lithium|quetiapine|olanzapine|risperidone|aripiprazole|haloperidol|lorazepam|diazepam|alprazolam"
    r"|clonazepam|naltrexone|buprenorphine|methadone|disulfiram|acamprosate|methylphenidate|amphetamine",
    re.IGNORECASE,
)


_ICD10_MENTAL = ("F", "G30", "G31")  # chapter F, and Alzheimer's and other neurocognitive degenerations


def _icd10_mental(codings: list[dict[str, str]]) -> bool:
    return any(
        "icd-10" in c.get("system", "").lower() and c.get("code", "").upper().startswith(_ICD10_MENTAL)
        for c in codings
    )


@lru_cache(maxsize=4096)
def _mentions_mental_health(text: str) -> bool:
    """Displays repeat across a record (every "Encounter for check up"): classify each once."""
    return _MENTAL_HEALTH.search(text) is not None


def _about_mental_health(texts: list[str | None], codings: list[dict[str, str]]) -> bool:
    return _icd10_mental(codings) or any(t and _mentions_mental_health(t) for t in texts)


def resource_id(resource: dict[str, Any]) -> str:
    """The resource's id, checked: it becomes a lookup key, a username hash and metadata text."""
    value = resource.get("id")
    if not isinstance(value, str) or not value.strip():
        raise MappingError("missing required field id")
    try:
        check_text("id", value, ID_MAX, required=True)
    except ValidationError as exc:
        raise MappingError(f"{exc.field} {exc.message}") from None
    return value


def _base(
    resource: dict[str, Any],
    event_type: EventType,
    when: datetime,
    title: str,
    importance: Importance,
    **extra: Any,
) -> MappedEvent:
    kind = str(resource["resourceType"])
    source_id = resource_id(resource)
    codes = extra.pop("codes", [])
    metadata = {"fhir": {"resourceType": kind, "id": source_id, "codes": codes}, **extra.pop("metadata", {})}
    subtype = extra.pop("subtype", None)
    return MappedEvent(
        source_type=kind,
        source_id=source_id,
        patient_ref=_subject(resource),
        practitioner_refs=tuple(extra.pop("practitioners", ())),
        event_type=event_type,
        when=when,
        title=_clip(title, TITLE_MAX),
        importance=importance,
        subtype=_clip(subtype, SHORT_TEXT_MAX) if subtype else None,
        description=extra.pop("description", None),
        metadata=metadata,
    )


# -- the rules ---------------------------------------------------------------------------


# v3 ActCode encounter classes that mean an emergency or a stay in hospital.
URGENT_CLASSES = frozenset({"EMER", "IMP", "ACUTE", "NONAC", "OBSENC", "SS"})


def _encounter(r: dict[str, Any]) -> MappedEvent:
    types = _concepts(r.get("type"))
    codings = [c for t in types for c in _codings(t)]
    what = next((t for t in map(_text, types) if t), None) or "Encounter"
    reasons = [_text(c) for c in _concepts(r.get("reasonCode"))]
    klass = r["class"].get("code") if isinstance(r.get("class"), dict) else None
    practitioners = [_ref(p.get("individual")) for p in _list(r.get("participant")) if isinstance(p, dict)]
    when = _first_date(r, "period.start")
    description = ("Reason: " + "; ".join(t for t in reasons if t)) if any(reasons) else None
    urgent = isinstance(klass, str) and klass in URGENT_CLASSES
    if _about_mental_health([what, *reasons], codings):
        crisis = any(t and _CRISIS.search(t) for t in [what, *reasons])
        if urgent:  # an emergency or an admission for a mental-health reason
            importance = Importance.CRITICAL if crisis else Importance.HIGH
        else:
            importance = Importance.HIGH if crisis else Importance.NORMAL
        return _base(r, EventType.SESSION, when, what, importance, subtype="fhir_encounter",
                     codes=codings, practitioners=[p for p in practitioners if p], description=description)  # fmt: skip
    return _base(r, EventType.EXTERNAL_EVENT, when, what, Importance.HIGH if urgent else Importance.LOW,
                 subtype="encounter", codes=codings, practitioners=[p for p in practitioners if p],
                 description=description)  # fmt: skip


def _condition(r: dict[str, Any]) -> MappedEvent:
    codings = _codings(r.get("code"))
    what = _text(r.get("code")) or "Condition"
    when = _first_date(r, "onsetDateTime", "onsetPeriod.start", "recordedDate")
    if _CRISIS.search(what):
        importance = Importance.CRITICAL
    elif _about_mental_health([what], codings):
        importance = Importance.HIGH
    else:
        importance = Importance.NORMAL
    status = _text(r.get("clinicalStatus"))
    ended = r.get("abatementDateTime")
    description = ", ".join(
        part
        for part in (f"status: {status}" if status else None, f"resolved: {ended}" if ended else None)
        if part
    )
    return _base(r, EventType.DIAGNOSIS, when, what, importance, subtype="fhir_condition", codes=codings,
                 practitioners=[p for p in [_ref(r.get("asserter")), _ref(r.get("recorder"))] if p],
                 description=description or None)  # fmt: skip


def _medication(r: dict[str, Any]) -> MappedEvent:
    concept = r.get("medicationCodeableConcept")
    what = _text(concept) or (r.get("medicationReference") or {}).get("display") or "Medication"
    if r["resourceType"] == "MedicationRequest":
        when = _first_date(r, "authoredOn")
        practitioners = [_ref(r.get("requester"))]
        subtype = "fhir_request"
    else:
        when = _first_date(r, "effectiveDateTime", "effectivePeriod.start")
        practitioners = [_ref(p.get("actor")) for p in _list(r.get("performer")) if isinstance(p, dict)]
        subtype = "fhir_administration"
    dosage = r.get("dosageInstruction")
    text = (
        dosage[0].get("text") if isinstance(dosage, list) and dosage and isinstance(dosage[0], dict) else None
    )
    importance = Importance.HIGH if _PSYCHOTROPIC.search(str(what)) else Importance.LOW
    return _base(r, EventType.MEDICATION, when, str(what), importance, subtype=subtype, codes=_codings(concept),
                 practitioners=[p for p in practitioners if p],
                 description=str(text) if isinstance(text, str) else None)  # fmt: skip


def _care_plan(r: dict[str, Any]) -> MappedEvent:
    categories = _concepts(r.get("category"))
    codings = [c for concept in categories for c in _codings(concept)]
    names = [_text(c) for c in categories]
    what = next((n for n in names if n), None) or _text(r.get("title")) or "Care plan"
    when = _first_date(r, "period.start", "created")
    importance = Importance.HIGH if _about_mental_health(names, codings) else Importance.NORMAL
    return _base(r, EventType.TREATMENT_PLAN, when, f"Care plan: {what}", importance, subtype="fhir_careplan",
                 codes=codings, practitioners=[p for p in [_ref(r.get("author"))] if p])  # fmt: skip


@dataclass(frozen=True)
class Instrument:
    name: str
    bands: tuple[tuple[float, str, Importance], ...]  # (lowest score, band name, importance), ascending

    def band(self, score: float) -> tuple[str, Importance]:
        chosen = self.bands[0]
        for band in self.bands:
            if score >= band[0]:
                chosen = band
        return chosen[1], chosen[2]

    def describe(self) -> str:
        """The bands as the README lists them ("PHQ-9 0-4 low, 5-9 normal, 10-19 high, >= 20 critical")."""
        merged: list[tuple[float, Importance]] = []
        for lowest, _name, importance in self.bands:  # neighbours of one importance read as one range
            if not merged or merged[-1][1] is not importance:
                merged.append((lowest, importance))
        parts = []
        for (lowest, importance), following in zip(merged, [*merged[1:], None], strict=True):
            if following is None:
                parts.append(f">= {lowest:g} {importance.db_value}")
            else:
                top = following[0] - 1
                span = f"{lowest:g}" if top <= lowest else f"{lowest:g}-{top:g}"
                parts.append(f"{span} {importance.db_value}")
        return f"{self.name} " + ", ".join(parts)


_LOW, _NORMAL, _HIGH, _CRITICAL = Importance.LOW, Importance.NORMAL, Importance.HIGH, Importance.CRITICAL
INSTRUMENTS: dict[str, Instrument] = {
    "44261-6": Instrument("PHQ-9", ((0, "minimal", _LOW), (5, "mild", _NORMAL), (10, "moderate", _HIGH),
                                    (15, "moderately severe", _HIGH), (20, "severe", _CRITICAL))),
    "55758-7": Instrument("PHQ-2", ((0, "negative", _LOW), (3, "positive screen", _HIGH))),
    "70274-6": Instrument("GAD-7", ((0, "minimal", _LOW), (5, "mild", _NORMAL), (10, "moderate", _HIGH),
                                    (15, "severe", _CRITICAL))),
    "69737-5": Instrument("GAD-7", ((0, "minimal", _LOW), (5, "mild", _NORMAL), (10, "moderate", _HIGH),
                                    (15, "severe", _CRITICAL))),
    "75624-7": Instrument("AUDIT", ((0, "low risk", _LOW), (8, "hazardous", _NORMAL), (16, "harmful", _HIGH),
                                    (20, "possible dependence", _CRITICAL))),
    "72109-2": Instrument("AUDIT-C", ((0, "negative", _LOW), (4, "positive screen", _HIGH))),
    "82667-7": Instrument("DAST-10", ((0, "none", _LOW), (1, "low", _NORMAL), (3, "moderate", _HIGH),
                                      (6, "substantial", _CRITICAL))),
    "72106-8": Instrument("MMSE", ((0, "severe impairment", _CRITICAL), (10, "moderate impairment", _HIGH),
                                   (19, "mild impairment", _NORMAL), (24, "normal", _LOW))),
}  # fmt: skip


def _is_survey(r: dict[str, Any]) -> bool:
    return any(c.get("code") == "survey" for cat in _concepts(r.get("category")) for c in _codings(cat))


def _score(r: dict[str, Any]) -> float | None:
    quantity = r.get("valueQuantity")
    value = quantity.get("value") if isinstance(quantity, dict) else r.get("valueInteger")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):  # json.loads reads NaN and Infinity
        raise MappingError("valueQuantity.value is not a finite number")
    return float(value)


def _observation(r: dict[str, Any]) -> MappedEvent | Skip:
    if not _is_survey(r):
        return Skip("Observation that is not a survey (vital signs, labs)")
    codings = _codings(r.get("code"))
    what = _text(r.get("code")) or "Questionnaire"
    when = _first_date(r, "effectiveDateTime", "effectivePeriod.start", "issued")
    instrument = next((INSTRUMENTS[c["code"]] for c in codings if c.get("code") in INSTRUMENTS), None)
    score = _score(r)
    if score is not None and abs(score) >= FLOAT_EXACT_LIMIT:
        raise MappingError("a score too large to keep exactly in valueQuantity.value")
    metadata: dict[str, Any] = {}
    if score is not None:
        metadata["score"] = int(score) if score.is_integer() else score
    if instrument is not None and score is not None:
        band, importance = instrument.band(score)
        metadata.update(instrument=instrument.name, band=band)
        title = f"{instrument.name}: {metadata['score']} ({band})"
    elif score is not None:
        importance, title = Importance.NORMAL, f"{what}: {metadata['score']}"
    else:
        answer = _text(r.get("valueCodeableConcept")) or (
            r.get("valueString") if isinstance(r.get("valueString"), str) else None
        )
        importance, title = Importance.LOW, f"{what}: {answer}" if answer else what
    subtype = instrument.name.lower() if instrument else "survey"
    practitioners = [_ref(p) for p in _list(r.get("performer")) if isinstance(p, dict)]
    return _base(r, EventType.ASSESSMENT, when, title, importance, subtype=subtype, codes=codings,
                 practitioners=[p for p in practitioners if p], metadata=metadata)  # fmt: skip


def _procedure(r: dict[str, Any]) -> MappedEvent:
    codings = _codings(r.get("code"))
    what = _text(r.get("code")) or "Procedure"
    when = _first_date(r, "performedDateTime", "performedPeriod.start")
    practitioners = [_ref(p.get("actor")) for p in _list(r.get("performer")) if isinstance(p, dict)]
    if _PSYCHOTHERAPY.search(what):
        return _base(r, EventType.SESSION, when, what, Importance.NORMAL, subtype="fhir_procedure", codes=codings,
                     practitioners=[p for p in practitioners if p])  # fmt: skip
    return _base(r, EventType.EXTERNAL_EVENT, when, what, Importance.LOW, subtype="procedure", codes=codings,
                 practitioners=[p for p in practitioners if p])  # fmt: skip


def _external(field_name: str, *date_paths: str, default: str) -> Callable[[dict[str, Any]], MappedEvent]:
    def mapper(r: dict[str, Any]) -> MappedEvent:
        concept = r.get(field_name)
        if isinstance(concept, list):
            concept = concept[0] if concept else None
        what = _text(concept) or default
        practitioners = [_ref(p.get("actor")) if "actor" in p else _ref(p) for p in _list(r.get("performer"))
                         if isinstance(p, dict)]  # fmt: skip
        return _base(r, EventType.EXTERNAL_EVENT, _first_date(r, *date_paths), what, Importance.LOW,
                     subtype=str(r["resourceType"]).lower(), codes=_codings(concept),
                     practitioners=[p for p in practitioners if p])  # fmt: skip

    return mapper


@dataclass(frozen=True)
class Rule:
    resource: str
    becomes: str
    importance: str
    map: Callable[[dict[str, Any]], MappedEvent | Skip]


_BANDS = "; ".join(dict.fromkeys(instrument.describe() for instrument in INSTRUMENTS.values()))
RULES: dict[str, Rule] = {
    rule.resource: rule
    for rule in (
        Rule("Encounter", "session when behavioural-health, else external_event",
             "session: normal; high if emergency or inpatient, or for overdose, suicidality, self-harm or psychosis; "
             "critical if both. external_event: high if emergency or inpatient, else low", _encounter),
        Rule("Condition", "diagnosis", "suicidality, overdose or psychosis critical; other mental-health "
             "(dementia and Alzheimer's included) high; other normal", _condition),
        Rule("MedicationRequest", "medication", "psychotropic high; other low", _medication),
        Rule("MedicationAdministration", "medication", "psychotropic high; other low", _medication),
        Rule("CarePlan", "treatment_plan", "mental-health plans high; other normal", _care_plan),
        Rule("Observation", "assessment when its category is survey (others skipped)",
             f"the instrument's severity band: {_BANDS}; other scored surveys normal; unscored low", _observation),
        Rule("Procedure", "session when psychotherapy or counselling, else external_event",
             "session normal; other low", _procedure),
        Rule("Immunization", "external_event", "low", _external("vaccineCode", "occurrenceDateTime",
                                                                  default="Immunization")),
        Rule("DiagnosticReport", "external_event", "low", _external("code", "effectiveDateTime", "issued",
                                                                      default="Diagnostic report")),
        Rule("ImagingStudy", "external_event", "low", _external("procedureCode", "started",
                                                                  default="Imaging study")),
    )
}  # fmt: skip

SKIPPED: dict[str, str] = {
    "Claim": "billing, not care",
    "ExplanationOfBenefit": "billing, not care",
}
# Resources that are not events but shape them (handled by the importer itself).
PEOPLE: dict[str, str] = {
    "Patient": "the patient: a user with role patient, found again on re-import (a Caseline export's patient "
    "by its Caseline user id)",
    "Practitioner": "the events' author when an identifier (an NPI, a Caseline export's user id) is a Caseline "
    "user's, else no author",
}
OTHER_SKIP = "not a timeline event (Organization, CareTeam, SupplyDelivery, Device, …)"


EVENT_EXTENSION = "https://caseline.example/fhir/StructureDefinition/timeline-event"
# Identifier systems of a Caseline export: a user's id (patients and authors) and a patient's username.
CASELINE_USER = "https://caseline.example/fhir/sid/user-id"
CASELINE_USERNAME = "https://caseline.example/fhir/sid/username"
EXTENSION_ROW = (
    "any resource with Caseline's timeline-event extension (a Caseline export)",
    "exactly the event it describes (lane, date, title, description, metadata, private flag, author), "
    "found again by its event id",
    "as exported",
)


def _caseline_event(resource: dict[str, Any], fields: Any) -> MappedEvent:
    """A resource from a Caseline export: the extension holds the event itself."""
    if not isinstance(fields, dict):
        raise MappingError("the Caseline extension does not hold an event")
    try:
        event_type = EventType(fields["event_type"])
        importance = Importance.from_db(str(fields["importance"]))
        when = parse_datetime(fields["event_date"], "extension event_date")
        title = fields["title"]
    except (KeyError, ValueError):
        raise MappingError(
            "the Caseline extension lacks a valid event_type, importance, event_date or title"
        ) from None
    source_id = resource_id(resource)
    kind = str(resource["resourceType"])
    metadata = fields.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise MappingError("the Caseline extension holds metadata that is not a JSON object")
    try:
        caseline_id: uuid.UUID | None = uuid.UUID(source_id)
    except ValueError:
        caseline_id = None
    if caseline_id is None and "fhir" not in (metadata or {}):  # not an event id: keyed by its source instead
        metadata = {**(metadata or {}), "fhir": {"resourceType": kind, "id": source_id, "codes": []}}
    related: tuple[str, str] | None = None
    if fields.get("related_entity_type") and fields.get("related_entity_id"):
        if not isinstance(fields["related_entity_type"], str):
            raise MappingError("the Caseline extension holds a related_entity_type that is not text")
        try:
            related = (fields["related_entity_type"], str(uuid.UUID(str(fields["related_entity_id"]))))
        except ValueError:
            raise MappingError("the Caseline extension holds a related_entity_id that is not an id") from None
    text = [fields.get(k) for k in ("description", "event_subtype")]
    if not isinstance(title, str) or any(t is not None and not isinstance(t, str) for t in text):
        raise MappingError("the Caseline extension holds a title or description that is not text")
    private = fields.get("is_private", False)
    if not isinstance(private, bool):
        raise MappingError("the Caseline extension holds an is_private that is not true or false")
    return MappedEvent(
        source_type=kind,
        source_id=source_id,
        patient_ref=_subject(resource),
        practitioner_refs=tuple(_author_refs(resource)),
        event_type=event_type,
        when=when,
        title=title,
        importance=importance,
        subtype=text[1],
        description=text[0],
        metadata=metadata,
        is_private=private,
        related=related,
        caseline_id=caseline_id,
    )


def _author_refs(r: dict[str, Any]) -> list[str]:
    """References to whoever wrote a resource, wherever its type keeps them."""
    found = [
        _ref(r.get(name)) for name in ("recorder", "asserter", "author", "informationSource", "requester")
    ]
    found += [_ref(p.get("individual")) for p in _list(r.get("participant")) if isinstance(p, dict)]
    found += [_ref(p.get("actor")) if "actor" in p else _ref(p) for p in _list(r.get("performer"))
              if isinstance(p, dict)]  # fmt: skip
    return [ref for ref in found if ref]


def map_resource(resource: dict[str, Any]) -> MappedEvent | Skip:
    """The event a resource becomes, or why it is skipped; raises MappingError if it is malformed."""
    for extension in _list(resource.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == EVENT_EXTENSION:
            text = extension.get("valueString")
            if not isinstance(text, str):
                raise MappingError("the Caseline extension has no valueString")
            try:
                fields = loads_bounded(text, EXTENSION_MAX_DEPTH)
            except TooDeep:
                raise MappingError(
                    f"the Caseline extension is nested deeper than {EXTENSION_MAX_DEPTH} levels"
                ) from None
            except ValueError:
                raise MappingError("the Caseline extension is not JSON") from None
            return _caseline_event(resource, fields)
    kind = str(resource["resourceType"])
    rule = RULES.get(kind)
    if rule is None:
        return Skip(SKIPPED.get(kind, PEOPLE.get(kind, OTHER_SKIP)))
    return rule.map(resource)


def mapping_table() -> str:
    """The README's mapping table, generated from :data:`RULES` and :data:`SKIPPED`."""
    lines = ["| FHIR resource | becomes | importance |", "|---|---|---|"]
    lines += [f"| {r.resource} | {r.becomes} | {r.importance} |" for r in RULES.values()]
    lines.append("| " + " | ".join(EXTENSION_ROW) + " |")
    lines += [f"| {kind} | {what} | |" for kind, what in PEOPLE.items()]
    lines += [f"| {kind} | skipped and counted | {why} |" for kind, why in SKIPPED.items()]
    lines.append(f"| anything else | skipped and counted | {OTHER_SKIP} |")
    return "\n".join(lines)
