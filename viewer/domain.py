"""The vocabulary of a clinical timeline and the rules every event obeys.

The enums carry exactly the values of the seed schema's CHECK constraints and
the validation mirrors the column types, so the editor can say what is wrong
next to a field before anything reaches PostgreSQL (whose CHECKs remain the
last line of defence).

Timestamps: an event's ``event_date`` is stored as a naive ``TIMESTAMP`` that
means UTC (the seed's column has no time zone).  Services accept aware
datetimes and convert with :func:`to_storage`; the UI converts stored values to
the viewer's local zone with :func:`to_local` only for display.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

TITLE_MAX = 200
SHORT_TEXT_MAX = 50  # event_subtype, related_entity_type
DESCRIPTION_MAX = 100_000
METADATA_MAX_BYTES = 64 * 1024
METADATA_MAX_DEPTH = 8


class EventType(StrEnum):
    """The eight kinds of timeline events; one lane each on the timeline."""

    SESSION = "session"
    MILESTONE = "milestone"
    NOTE = "note"
    DIAGNOSIS = "diagnosis"
    TREATMENT_PLAN = "treatment_plan"
    MEDICATION = "medication"
    ASSESSMENT = "assessment"
    EXTERNAL_EVENT = "external_event"

    @property
    def lane(self) -> int:
        """Stable lane index (0..7) used by the columnar timeline data."""
        return _LANES[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @classmethod
    def from_lane(cls, lane: int) -> EventType:
        return _TYPES_BY_LANE[lane]


_LANES = {event_type: index for index, event_type in enumerate(EventType)}
_TYPES_BY_LANE = dict(enumerate(EventType))


class Importance(IntEnum):
    """How much an event matters; ordered so ``max()`` and filters work on ints."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    CRITICAL = 3

    @property
    def db_value(self) -> str:
        return self.name.lower()

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @classmethod
    def from_db(cls, value: str) -> Importance:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown importance {value!r}") from None


EVENT_TYPE_VALUES: tuple[str, ...] = tuple(t.value for t in EventType)
IMPORTANCE_VALUES: tuple[str, ...] = tuple(i.db_value for i in Importance)


class ValidationError(ValueError):
    """An event field holds a value the schema would refuse.

    ``field`` names the editor field so the UI can show the message beside it.
    Messages never quote the rejected text: it may be patient data.
    """

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def to_storage(moment: datetime) -> datetime:
    """Convert an aware datetime to the naive-UTC form the database stores."""
    if moment.tzinfo is None:
        raise ValidationError("event_date", "needs a time zone (naive datetimes are ambiguous)")
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # e.g. 0001-01-01 00:00+05:00 is before year 1 in UTC
        raise ValidationError("event_date", "is outside the years 1 to 9999 in UTC") from None


def from_storage(stored: datetime) -> datetime:
    """Attach UTC to a naive stored timestamp."""
    return stored.replace(tzinfo=UTC)


def to_local(stored: datetime) -> datetime:
    """A stored timestamp in the machine's local time zone, for display (see :func:`local_or_utc`)."""
    return local_or_utc(stored)[0]


def local_or_utc(stored: datetime) -> tuple[datetime, bool]:
    """A stored timestamp in local time, and False; or in UTC, and True, where local time cannot be.

    In the first and last hours of the calendar the local date can be year 0
    or 10000, which Python cannot hold: those moments are shown in UTC, and
    whatever shows them should say so.
    """
    try:
        return from_storage(stored).astimezone(), False
    except OverflowError:
        return from_storage(stored), True


def check_text(field_name: str, value: str | None, maximum: int, *, required: bool) -> None:
    """The rules of one text column (public for bulk paths that check fields one by one)."""
    if value is None:
        if required:
            raise ValidationError(field_name, "is required")
        return
    if not isinstance(value, str):
        raise ValidationError(field_name, "must be text")
    if required and not value.strip():
        raise ValidationError(field_name, "must not be empty")
    if "\x00" in value:
        raise ValidationError(field_name, "must not contain NUL characters")
    if not _encodable(value):
        raise ValidationError(field_name, "contains characters that are not valid Unicode text")
    if len(value) > maximum:
        raise ValidationError(field_name, f"is {len(value)} characters long; the limit is {maximum}")


def _encodable(value: str) -> bool:
    """False for lone surrogates (broken UTF-16 pasted from elsewhere): no database can store them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# JSONB stores numbers as exact decimals: a float beyond 2**53 comes back as a different number.
FLOAT_EXACT_LIMIT = 2.0**53


def _bad_value(value: Any) -> str | None:
    """Why a metadata value cannot be stored and read back unchanged, or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "must not contain NUL characters"
        return None if _encodable(value) else "contains characters that are not valid Unicode text"
    if isinstance(value, float) and abs(value) >= FLOAT_EXACT_LIMIT:
        return "has a decimal number too large to keep exactly (write it as text or a whole number)"
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _bad_value(key) or _bad_value(item)
            if problem:
                return problem
    if isinstance(value, list):
        for item in value:
            problem = _bad_value(item)
            if problem:
                return problem
    return None


def _json_depth(value: Any, depth: int = 0) -> int:
    if depth > METADATA_MAX_DEPTH:
        return depth
    if isinstance(value, dict):
        return max((_json_depth(v, depth + 1) for v in value.values()), default=depth + 1)
    if isinstance(value, list):
        return max((_json_depth(v, depth + 1) for v in value), default=depth + 1)
    return depth


def encode_metadata(metadata: dict[str, Any], *, shape_trusted: bool = False) -> str:
    """Metadata as the JSON text the database receives, after the checks JSONB needs.

    ``shape_trusted`` is for metadata built by our own code from input strings
    (depth fixed, numbers already checked): only the strings are checked, on
    the encoded text, which is what makes bulk imports fast.
    """
    if not shape_trusted:
        validate_metadata(metadata)
    encoded = json.dumps(metadata, allow_nan=False, ensure_ascii=False)
    if "\\u0000" in encoded:
        raise ValidationError("metadata", "must not contain NUL characters")
    try:
        size = len(encoded.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError("metadata", "contains characters that are not valid Unicode text") from None
    if size > METADATA_MAX_BYTES:
        raise ValidationError("metadata", f"is larger than {METADATA_MAX_BYTES // 1024} KiB")
    return encoded


def validate_metadata(metadata: dict[str, Any] | None) -> None:
    """Metadata must be a JSON object, bounded in size and depth, without NUL (JSONB refuses it)."""
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise ValidationError("metadata", "must be a JSON object of key/value pairs")
    if _json_depth(metadata) > METADATA_MAX_DEPTH:  # first: the checks below recurse
        raise ValidationError("metadata", f"is nested deeper than {METADATA_MAX_DEPTH} levels")
    try:
        encoded = json.dumps(metadata, allow_nan=False, ensure_ascii=False)
    except ValueError:  # infinity or NaN: a cell "1e400" reads as a number JSON cannot hold
        raise ValidationError(
            "metadata", "holds a number too large to store (like 1e400); put it in quotes to keep it as text"
        ) from None
    except TypeError as exc:
        raise ValidationError("metadata", f"is not valid JSON ({type(exc).__name__})") from None
    problem = _bad_value(metadata)
    if problem:
        raise ValidationError("metadata", problem)
    if len(encoded.encode("utf-8")) > METADATA_MAX_BYTES:
        raise ValidationError("metadata", f"is larger than {METADATA_MAX_BYTES // 1024} KiB")


@dataclass(frozen=True)
class EventDraft:
    """What the editor sends to the event service: an event's editable fields.

    ``event_date`` must be timezone-aware; it is stored as naive UTC.
    """

    patient_id: uuid.UUID
    event_type: EventType
    event_date: datetime
    title: str
    importance: Importance = Importance.NORMAL
    therapist_id: uuid.UUID | None = None
    event_subtype: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    related_entity_type: str | None = None
    related_entity_id: uuid.UUID | None = None
    is_private: bool = False

    def validate(self) -> None:
        """Raise :class:`ValidationError` for the first field the schema would refuse."""
        problems = self.problems()
        if problems:
            raise problems[0]

    def problems(self) -> list[ValidationError]:
        """Every field the schema would refuse, so the editor can mark them all at once."""
        found: list[ValidationError] = []

        def check(rule: Any, *args: Any, **kwargs: Any) -> None:
            try:
                rule(*args, **kwargs)
            except ValidationError as exc:
                found.append(exc)

        def must(condition: bool, field_name: str, message: str) -> None:
            if not condition:
                found.append(ValidationError(field_name, message))

        must(isinstance(self.event_type, EventType), "event_type", "is not one of the eight event types")
        must(isinstance(self.importance, Importance), "importance", "must be low, normal, high or critical")
        if isinstance(self.event_date, datetime):
            check(to_storage, self.event_date)
        else:
            must(False, "event_date", "must be a date and time")
        check(check_text, "title", self.title, TITLE_MAX, required=True)
        check(check_text, "event_subtype", self.event_subtype, SHORT_TEXT_MAX, required=False)
        check(check_text, "description", self.description, DESCRIPTION_MAX, required=False)
        check(check_text, "related_entity_type", self.related_entity_type, SHORT_TEXT_MAX, required=False)
        must(
            (self.related_entity_type is None) == (self.related_entity_id is None),
            "related_entity_id",
            "needs both a related type and id, or neither",
        )
        check(validate_metadata, self.metadata)
        return found


@dataclass(frozen=True)
class EventDetail:
    """One event as read back for tooltips and the detail pane."""

    id: uuid.UUID
    patient_id: uuid.UUID
    therapist_id: uuid.UUID | None
    therapist_name: str | None
    event_type: EventType
    event_subtype: str | None
    event_date: datetime  # naive UTC, as stored
    title: str
    description: str | None
    metadata: dict[str, Any] | None
    related_entity_type: str | None
    related_entity_id: uuid.UUID | None
    importance: Importance
    is_private: bool
    created_at: datetime
    row_version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def as_draft(self) -> EventDraft:
        """The editable fields, as the editor opens them and undo restores them."""
        return EventDraft(
            patient_id=self.patient_id,
            event_type=self.event_type,
            event_date=from_storage(self.event_date),
            title=self.title,
            importance=self.importance,
            therapist_id=self.therapist_id,
            event_subtype=self.event_subtype,
            description=self.description,
            metadata=self.metadata,
            related_entity_type=self.related_entity_type,
            related_entity_id=self.related_entity_id,
            is_private=self.is_private,
        )
