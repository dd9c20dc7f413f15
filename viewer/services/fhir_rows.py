"""A mapped FHIR event as the row the import stores: checked, encoded, digested, streamed by COPY.

The schema's own rules run here, before a row reaches the server (each failure
names the file and entry), with fast paths that give the same answers as
:func:`viewer.domain.check_text` and :func:`viewer.domain.encode_metadata` for
the usual input: a 100,000-event bundle checks in well under a second.  A
row's digest covers everything stored of the event, so a re-import compares
digests rather than reading each event back.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from viewer.domain import (
    DESCRIPTION_MAX,
    METADATA_MAX_BYTES,
    SHORT_TEXT_MAX,
    TITLE_MAX,
    EventType,
    Importance,
    ValidationError,
    check_text,
    encode_metadata,
    to_storage,
)
from viewer.fhir.mapping import MappedEvent
from viewer.fhir.reader import FhirInputError

COLUMNS = (  # of timeline_events, in the order the rows carry them
    "patient_id",
    "therapist_id",
    "event_type",
    "event_subtype",
    "event_date",
    "title",
    "description",
    "metadata",
    "related_entity_type",
    "related_entity_id",
    "importance",
    "is_private",
)
_TYPE_TEXT = {t: t.value for t in EventType}
_IMPORTANCE_TEXT = {i: i.db_value for i in Importance}


def comparable(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c] for c in COLUMNS)  # metadata compares as dicts: key order does not matter


def checked_values(path: Path, event: MappedEvent, entry: int, patient_id: uuid.UUID) -> list[Any]:
    """The event as COPY values in :data:`COLUMNS` order (metadata as JSON text, no author yet),
    after the schema's own rules; each failure names the entry."""
    related_type, related_id = event.related_entity
    try:
        check_field("title", event.title, TITLE_MAX, required=True)
        check_field("event_subtype", event.subtype, SHORT_TEXT_MAX, required=False)
        check_field("description", event.description, DESCRIPTION_MAX, required=False)
        check_field("related_entity_type", related_type, SHORT_TEXT_MAX, required=False)
        metadata = event.metadata
        if metadata is None:
            encoded = None
        elif event.shape_trusted:
            encoded = encode_trusted(metadata)
        else:
            encoded = encode_metadata(metadata)
        return [
            patient_id,
            None,
            _TYPE_TEXT[event.event_type],
            event.subtype,
            to_storage(event.when),
            event.title,
            event.description,
            encoded,
            related_type,
            related_id,
            _IMPORTANCE_TEXT[event.importance],
            event.is_private,
        ]
    except ValidationError as exc:
        raise FhirInputError(path, f"{exc.field} {exc.message}", entry) from None


THERAPIST_AT, TYPE_AT, METADATA_AT, PRIVATE_AT = (
    COLUMNS.index(c) for c in ("therapist_id", "event_type", "metadata", "is_private")
)


def as_row(values: list[Any]) -> dict[str, Any]:
    """Checked values as a row by column name (metadata as its JSON text), for the rare paths."""
    return dict(zip(COLUMNS, values, strict=True))


def _one_shot_encoder() -> Callable[[Any], str]:
    """``json.dumps(value, allow_nan=False, ensure_ascii=False)``, built once instead of per call.

    The C encoder json.dumps builds on every call, kept; the text is the same, byte for
    byte (the digests of earlier imports depend on it).  Without the C module, json.dumps.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return partial(json.dumps, allow_nan=False, ensure_ascii=False)

    def refuse(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    encoder = make(None, refuse, json.encoder.encode_basestring, None, ": ", ", ", False, False, False)
    join = "".join
    return lambda value: join(encoder(value, 0))


_dumps = _one_shot_encoder()


def encode_trusted(metadata: dict[str, Any]) -> str:
    """:func:`encode_metadata` with ``shape_trusted``: the same checks and text, with a reused encoder.

    Only for metadata the mapping built (fixed depth, no cycles, numbers checked).
    """
    encoded = _dumps(metadata)
    if "\\u0000" in encoded:
        raise ValidationError("metadata", "must not contain NUL characters")
    if encoded.isascii():
        size = len(encoded)
    else:
        try:
            size = len(encoded.encode("utf-8"))
        except UnicodeEncodeError:
            raise ValidationError("metadata", "contains characters that are not valid Unicode text") from None
    if size > METADATA_MAX_BYTES:
        raise ValidationError("metadata", f"is larger than {METADATA_MAX_BYTES // 1024} KiB")
    return encoded


def check_field(field_name: str, value: str | None, maximum: int, *, required: bool) -> None:
    """:func:`check_text`, with a fast path for the usual case that gives the same answers.

    Plain ASCII without NUL has no surrogates and is as long in characters as it looks.
    """
    if (
        value.__class__ is str
        and value.isascii()
        and "\x00" not in value
        and len(value) <= maximum
        and (not required or value.strip())
    ):
        return
    check_text(field_name, value, maximum, required=required)


def digest_of(values: list[Any]) -> str:
    """A stable hash of everything the import would store of an event (metadata as its JSON text)."""
    text = "\x1f".join(map(str, values))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


_FHIR_PREFIX = '{"fhir": {'


def with_digest(metadata_json: str | None, digest: str) -> str | None:
    """``metadata.fhir.digest``: a re-import compares it instead of reading the event back.

    The mapping builds the metadata of a FHIR resource's event with ``fhir`` first,
    so the digest goes in without encoding the metadata again.
    """
    if metadata_json is None or not metadata_json.startswith(_FHIR_PREFIX):
        return metadata_json
    return f'{_FHIR_PREFIX}"digest": "{digest}", {metadata_json[len(_FHIR_PREFIX) :]}'


@contextmanager
def copy_rows(conn: sa.Connection, columns: tuple[str, ...]) -> Iterator[Callable[[list[Any]], None]]:
    """A ``COPY timeline_events`` open for rows written one at a time (opened at the first row)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    with ExitStack() as stack:
        copy: Any = None

        def write(values: list[Any]) -> None:
            nonlocal copy
            if copy is None:
                cursor = stack.enter_context(driver.cursor())
                copy = stack.enter_context(
                    cursor.copy(f"COPY timeline_events ({', '.join(columns)}) FROM STDIN")
                )
            copy.write_row(values)

        yield write


def copy_events(conn: sa.Connection, rows: list[dict[str, Any]], *, with_id: bool = False) -> None:
    """Stream new events into ``timeline_events`` with COPY (the fast path for bulk loads)."""
    if not rows:
        return
    columns = ("id", *COLUMNS) if with_id else COLUMNS
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY timeline_events ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([row[c] for c in columns])
