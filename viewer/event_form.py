"""The event editor's model: raw field text in, an :class:`EventDraft` or per-field errors out.

The editor widgets hold text; this module decides what that text means, so the
rules are tested without a QApplication and the dialog only shows the answer
next to each field.  Nothing half-valid leaves here: :func:`read_form` returns a
draft only when every field passes the same rules the schema enforces.

Metadata is edited as key/value rows.  A value is kept as text unless it reads
as JSON (a number, ``true``, a list, an object…), so ``{"score": 14}`` opens as
``14`` and saves back as the number 14; text that would read as JSON is shown
quoted, so every stored value survives an open-and-save unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from viewer.domain import SHORT_TEXT_MAX, EventDraft, EventType, Importance, ValidationError

# Field names as the editor names its widgets (and as ValidationError.field names them).
FIELDS = (
    "event_type",
    "event_subtype",
    "event_date",
    "title",
    "description",
    "importance",
    "is_private",
    "metadata",
    "related_entity_type",
    "related_entity_id",
)

SUBTYPE_SUGGESTIONS: dict[EventType, tuple[str, ...]] = {
    EventType.SESSION: (
        "individual",
        "intake",
        "couples",
        "family",
        "group",
        "crisis",
        "telehealth",
        "missed",
    ),
    EventType.MILESTONE: ("start", "goal_reached", "discharge", "relapse", "transfer"),
    EventType.NOTE: ("progress", "process_note", "phone_call", "message", "consultation", "risk_check"),
    EventType.DIAGNOSIS: ("initial", "icd10", "revised", "resolved"),
    EventType.TREATMENT_PLAN: ("initial", "review", "update", "closure"),
    EventType.MEDICATION: ("start", "review", "dose_change", "stop"),
    EventType.ASSESSMENT: ("phq-9", "gad-7", "audit", "pcl-5", "core-10"),
    EventType.EXTERNAL_EVENT: (
        "hospital_admission",
        "emergency_visit",
        "lab_result",
        "life_event",
        "referral",
    ),
}

PRIVATE_EXPLANATION = (
    "Private: only you can see this event, and your clinical supervisor when reviewing your work "
    "(each of their reads is logged with a reason). Other therapists on this patient's care team "
    "will not see it, count it or find its marker; administrators will not see it either."
)
SHARED_EXPLANATION = (
    "Shared with the care team: the patient's therapists and their supervisors can read it. "
    "Administrators see only that it exists (date, type, importance), never its text."
)


def privacy_explanation(is_private: bool) -> str:
    """Who will see the event, in words, for the label under the private checkbox."""
    return PRIVATE_EXPLANATION if is_private else SHARED_EXPLANATION


# How far from today a date may be before the editor asks to check the year: a typo (2062 for
# 2026) saved silently, and "All" then stretched over four decades with the history in a corner.
FAR_AHEAD_DAYS = 366
FAR_BACK_YEAR = 1900


def date_notice(when: datetime, now: datetime) -> str | None:
    """A gentle word (not an error: plans and old records are real) for a date far from ``now``."""
    ahead = (when - now).days
    if ahead > FAR_AHEAD_DAYS:
        years = ahead // 365
        span = f"{years} years" if years > 1 else "more than a year"
        return f"That is {span} from now: check the year."
    if when.year < FAR_BACK_YEAR:
        return f"That is in {when.year}: check the year."
    return None


def _strict_json(text: str) -> Any:
    """``json.loads`` without its NaN and Infinity, which no metadata value may hold: such a cell is text.

    So is a number too large for a float ("1e400" read as infinity, and the form
    said "not valid JSON (ValueError)").
    """

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    def finite(number: str) -> float:
        value = float(number)
        if not math.isfinite(value):
            raise ValueError(f"{number} is too large for a number")
        if value == 0.0 and number.lower().split("e")[0].strip("+-.0"):  # "1e-400" is not zero
            raise ValueError(f"{number} is too small for a number")
        return value

    return json.loads(text, parse_constant=refuse, parse_float=finite)


def metadata_cell(value: Any) -> str:
    """How a stored metadata value is shown in the editor (see the module docstring)."""
    if isinstance(value, str):
        try:
            _strict_json(value)
        except ValueError:
            return value
        return json.dumps(value, ensure_ascii=False)  # text that reads as JSON: show it quoted
    return json.dumps(value, ensure_ascii=False)


def parse_metadata_cell(text: str) -> Any:
    """The value meant by an editor cell: JSON when it reads as JSON, else the text itself."""
    try:
        return _strict_json(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class FormValues:
    """What the editor's widgets hold, as plain values."""

    patient_id: uuid.UUID
    event_type: EventType
    event_date: datetime
    title: str
    importance: Importance = Importance.NORMAL
    event_subtype: str = ""
    description: str = ""
    is_private: bool = False
    metadata_rows: tuple[tuple[str, str], ...] = ()
    related_entity_type: str = ""
    related_entity_id: str = ""
    therapist_id: uuid.UUID | None = None

    @classmethod
    def from_draft(cls, draft: EventDraft) -> FormValues:
        return cls(
            patient_id=draft.patient_id,
            therapist_id=draft.therapist_id,
            event_type=draft.event_type,
            event_date=draft.event_date,
            title=draft.title,
            importance=draft.importance,
            event_subtype=draft.event_subtype or "",
            description=draft.description or "",
            is_private=draft.is_private,
            metadata_rows=tuple((key, metadata_cell(value)) for key, value in (draft.metadata or {}).items()),
            related_entity_type=draft.related_entity_type or "",
            related_entity_id=str(draft.related_entity_id) if draft.related_entity_id else "",
        )

    def to_json(self) -> dict[str, Any]:
        """A plain, JSON-ready form of the values (for encrypted drafts)."""
        return {
            "patient_id": str(self.patient_id),
            "therapist_id": str(self.therapist_id) if self.therapist_id else None,
            "event_type": self.event_type.value,
            "event_date": self.event_date.isoformat(),
            "title": self.title,
            "importance": self.importance.db_value,
            "event_subtype": self.event_subtype,
            "description": self.description,
            "is_private": self.is_private,
            "metadata_rows": [list(row) for row in self.metadata_rows],
            "related_entity_type": self.related_entity_type,
            "related_entity_id": self.related_entity_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FormValues:
        return cls(
            patient_id=uuid.UUID(data["patient_id"]),
            therapist_id=uuid.UUID(data["therapist_id"]) if data.get("therapist_id") else None,
            event_type=EventType(data["event_type"]),
            event_date=datetime.fromisoformat(data["event_date"]),
            title=str(data["title"]),
            importance=Importance.from_db(data["importance"]),
            event_subtype=str(data.get("event_subtype", "")),
            description=str(data.get("description", "")),
            is_private=bool(data.get("is_private", False)),
            metadata_rows=tuple((str(k), str(v)) for k, v in data.get("metadata_rows", [])),
            related_entity_type=str(data.get("related_entity_type", "")),
            related_entity_id=str(data.get("related_entity_id", "")),
        )


@dataclass(frozen=True)
class FormCheck:
    """The outcome of reading the form: a draft, or a message per field (never both)."""

    draft: EventDraft | None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.draft is not None


def _metadata(rows: tuple[tuple[str, str], ...], errors: dict[str, str]) -> dict[str, Any] | None:
    result: dict[str, Any] = {}
    for number, (raw_key, text) in enumerate(rows, start=1):
        key = raw_key.strip()
        if not key and not text.strip():
            continue  # an empty row the user has not filled in
        if not key:
            errors["metadata"] = f"has a value but no key in row {number}"
            return None
        if len(key) > SHORT_TEXT_MAX:
            errors["metadata"] = f"has a key longer than {SHORT_TEXT_MAX} characters in row {number}"
            return None
        if key in result:
            errors["metadata"] = f"has the key of row {number} twice"
            return None
        result[key] = parse_metadata_cell(text)
    return result or None


def read_form(values: FormValues) -> FormCheck:
    """Check every field and build the draft; all problems are reported at once."""
    errors: dict[str, str] = {}
    metadata = _metadata(values.metadata_rows, errors)
    related_id: uuid.UUID | None = None
    raw_id = values.related_entity_id.strip()
    if raw_id:
        try:
            related_id = uuid.UUID(raw_id)
        except ValueError:
            errors["related_entity_id"] = "must be an id like 0192f0c4-…, or empty"
    related_type = values.related_entity_type.strip() or None
    if raw_id and related_type is None:
        errors.setdefault("related_entity_type", "is needed when a related id is given")
    if related_type is not None and not raw_id:
        errors.setdefault("related_entity_id", "is needed when a related type is given")
    draft = EventDraft(
        patient_id=values.patient_id,
        therapist_id=values.therapist_id,
        event_type=values.event_type,
        event_date=values.event_date,
        title=values.title.strip(),
        importance=values.importance,
        event_subtype=values.event_subtype.strip() or None,
        description=values.description if values.description.strip() else None,
        metadata=metadata,
        related_entity_type=related_type,
        related_entity_id=related_id if related_type is not None else None,
        is_private=values.is_private,
    )
    problem: ValidationError
    for problem in draft.problems():
        if problem.field == "related_entity_id" and problem.field in errors:
            continue
        errors.setdefault(problem.field, problem.message)
    if errors:
        return FormCheck(None, errors)
    return FormCheck(draft)


def changed_fields(before: EventDraft, after: EventDraft) -> list[str]:
    """Names of the fields that differ, for the conflict view and history."""
    return [name for name in FIELDS if getattr(before, name) != getattr(after, name)]


# Which draft fields each form field sets: the related entity's two boxes make one reference.
_DRAFT_FIELDS: dict[str, tuple[str, ...]] = {
    "event_type": ("event_type",),
    "event_subtype": ("event_subtype",),
    "event_date": ("event_date",),
    "title": ("title",),
    "importance": ("importance",),
    "description": ("description",),
    "is_private": ("is_private",),
    "metadata_rows": ("metadata",),
    "related_entity_type": ("related_entity_type", "related_entity_id"),
    "related_entity_id": ("related_entity_type", "related_entity_id"),
}


def edited_fields(opened: FormValues, now: FormValues) -> set[str]:
    """The draft fields whose editor boxes the user changed since the form opened."""
    changed: set[str] = set()
    for name, targets in _DRAFT_FIELDS.items():
        if getattr(opened, name) != getattr(now, name):
            changed.update(targets)
    return changed


def apply_edits(base: EventDraft, draft: EventDraft, edited: set[str]) -> EventDraft:
    """``base`` with only the ``edited`` fields taken from ``draft``.

    A save writes what the user changed and nothing else: an untouched date
    keeps its microseconds, an untouched title its spacing, untouched metadata
    its exact form, whatever the form's reading of them would be.  Over a
    newer version (keeping one's own edit after a conflict) it keeps the other
    side's changes to every field the user did not touch.
    """
    return dataclasses.replace(base, **{name: getattr(draft, name) for name in edited})


# The form field behind each draft field, to put a placeholder in a box the user left alone.
_FORM_FIELDS: dict[str, str] = {
    draft_field: form_field for form_field, targets in _DRAFT_FIELDS.items() for draft_field in targets
}


def read_edit(opened: FormValues, now: FormValues) -> tuple[FormCheck, set[str]]:
    """Read the form of an opened event, judging only the boxes the user changed; and which they are.

    What the user left alone is saved as stored (:func:`apply_edits`), so a
    value the form itself would refuse (a metadata key longer than the editor
    allows, brought by an import) no longer blocks fixing a typo in the title.
    The draft returned is only good for its edited fields.
    """
    edited = edited_fields(opened, now)
    check = read_form(now)
    untouched = {name for name in check.errors if name not in edited}
    if not untouched:
        return check, edited
    # Read it again with placeholders the form accepts in the untouched boxes; they are never saved.
    placeholder = FormValues(now.patient_id, now.event_type, now.event_date, "placeholder")
    stand_ins = {_FORM_FIELDS[name]: getattr(placeholder, _FORM_FIELDS[name]) for name in untouched}
    if "related_entity_type" in stand_ins or "related_entity_id" in stand_ins:
        stand_ins.update(related_entity_type="", related_entity_id="")
    return read_form(dataclasses.replace(now, **stand_ins)), edited
