"""Import FHIR files into the timeline: each file all or nothing, the same file twice changes nothing.

A file is read and mapped completely before anything is written, so a bad
entry anywhere (not JSON, wrong resourceType, a missing field, a dangling
reference, an unparseable date, hostile nesting) raises
:class:`~viewer.fhir.reader.FhirInputError` naming the file and entry, and the
database never sees the file.  Writing then happens in one transaction: new
events stream in through ``COPY``, events whose source resource changed are
updated (their version history keeps the old text), unchanged ones are left
alone.  Patients become users with role ``patient`` whose username is derived
from the FHIR id, so a re-import finds them again; practitioners become the
events' author only when their identifier is one a Caseline user is known by
(``user_identifiers``).  The import runs as the database owner (it writes
events no clinician authored) and leaves one audit row per file.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from viewer.domain import (
    DESCRIPTION_MAX,
    SHORT_TEXT_MAX,
    TITLE_MAX,
    EventType,
    Importance,
    ValidationError,
    check_text,
    encode_metadata,
    to_storage,
)
from viewer.fhir import reader
from viewer.fhir.mapping import ID_MAX, MappedEvent, MappingError, Skip, map_resource, resource_id
from viewer.fhir.reader import Entry, FhirInputError, read_entries
from viewer.services.audit import AuditKey, append

log = logging.getLogger(__name__)

FHIR_SUFFIXES = (".json", ".ndjson")
_COLUMNS = (
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


@dataclass
class FileSummary:
    path: Path
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    patients_created: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)

    @property
    def events(self) -> int:
        return self.created + self.updated + self.unchanged

    def render(self) -> str:
        skipped = ", ".join(f"{n} {kind}" for kind, n in sorted(self.skipped.items()))
        return (
            f"{self.path.name}: {self.created} events added, {self.updated} updated, {self.unchanged} unchanged; "
            f"{self.patients_created} new patients" + (f"; skipped {skipped}" if skipped else "")
        )


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders as their .json and .ndjson files (sorted, not recursive)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.iterdir() if p.suffix.lower() in FHIR_SUFFIXES and p.is_file())
            )
        else:
            found.append(path)
    return found


def patient_username(fhir_id: str) -> str:
    """A stable username for an imported patient (never their name: usernames appear in logs)."""
    return "fhir_" + hashlib.sha256(fhir_id.encode("utf-8")).hexdigest()[:24]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_DIGITS = re.compile(r"\d+$")


def _display_name(resource: dict[str, Any]) -> str:
    names = resource.get("name")
    if isinstance(names, list) and names and isinstance(names[0], dict):
        chosen = next((n for n in names if isinstance(n, dict) and n.get("use") == "official"), names[0])
        if isinstance(chosen.get("text"), str) and chosen["text"].strip():
            return str(chosen["text"]).strip()[:200]
        given = [g for g in _as_list(chosen.get("given")) if isinstance(g, str)]
        family = chosen.get("family") if isinstance(chosen.get("family"), str) else ""
        # Synthea numbers its made-up names ("Blair400"); real names have no trailing digits.
        parts = [_DIGITS.sub("", p) for p in [*given, family] if p]
        text = " ".join(p for p in parts if p).strip()
        if text:
            return text[:200]
    return f"FHIR patient {str(resource.get('id', ''))[:36]}"


_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([^/]+)(?:/_history/[^/]+)?$")


def patient_of(reference: str, known: dict[str, str]) -> str | None:
    """The FHIR id of the patient a reference names: one of this file, else one imported before.

    ``known`` maps the references of the file's own Patients (fullUrl, ``Patient/id``,
    ``urn:uuid:id``) to their ids.  Otherwise ``urn:uuid:ID``, ``Patient/ID`` and
    ``https://server/fhir/Patient/ID`` name patient ``ID``, which the database must
    already hold (an NDJSON bulk export keeps its patients in another file).
    """
    found = known.get(reference)
    if found is not None:
        return found
    if reference.startswith("urn:uuid:"):
        return reference[len("urn:uuid:") :] or None
    match = _PATIENT_REFERENCE.search(reference)
    return match.group(1) if match else None


class DanglingReference(FhirInputError):
    """A reference to a patient neither the file nor the database holds (yet: another file may)."""


def _keys_of(entry: Entry) -> list[str]:
    """The references that may point at this resource: its fullUrl and Type/id."""
    keys = []
    if entry.full_url:
        keys.append(entry.full_url)
    rid = entry.resource.get("id")
    if isinstance(rid, str):
        keys.append(f"{entry.resource['resourceType']}/{rid}")
        keys.append(f"urn:uuid:{rid}")
    return keys


@dataclass(frozen=True)
class _Planned:
    entry: int
    event: MappedEvent
    patient_key: str  # the patient's FHIR id


def _plan(
    path: Path,
    entries: list[Entry],
    summary: FileSummary,
    practitioners: dict[str, list[tuple[str, str]]],
    patient_refs: dict[str, str],
) -> tuple[dict[str, tuple[int, str]], list[_Planned]]:
    """Map every entry of a batch; raises FhirInputError at the first problem, before any write.

    ``practitioners`` (reference -> identifiers) and ``patient_refs`` (reference -> the
    patient's FHIR id) are filled in and carried from batch to batch.
    """
    patients: dict[str, tuple[int, str]] = {}  # FHIR id -> (entry index, display name)
    for entry in entries:
        kind = entry.resource["resourceType"]
        if kind == "Patient":
            try:
                rid = resource_id(entry.resource)
                name = _display_name(entry.resource)
                check_text("Patient name", name, TITLE_MAX, required=True)
            except MappingError as exc:
                raise FhirInputError(path, str(exc), entry.index) from None
            except ValidationError as exc:
                raise FhirInputError(path, f"{exc.field} {exc.message}", entry.index) from None
            patients[rid] = (entry.index, name)
            for key in _keys_of(entry):
                patient_refs[key] = rid
        elif kind == "Practitioner":
            identifiers = [
                (str(i["system"]), str(i["value"]))
                for i in _as_list(entry.resource.get("identifier"))
                if isinstance(i, dict)
                and isinstance(i.get("system"), str)
                and isinstance(i.get("value"), str)
            ]
            try:  # they become query parameters: text PostgreSQL can hold
                for system, value in identifiers:
                    check_text("Practitioner identifier", system, 1000, required=False)
                    check_text("Practitioner identifier", value, 1000, required=False)
            except ValidationError as exc:
                raise FhirInputError(path, f"{exc.field} {exc.message}", entry.index) from None
            for key in _keys_of(entry):
                practitioners[key] = identifiers
    planned: list[_Planned] = []
    for entry in entries:
        try:
            mapped = map_resource(entry.resource)
        except MappingError as exc:
            raise FhirInputError(path, str(exc), entry.index) from None
        if isinstance(mapped, Skip):
            if entry.resource["resourceType"] not in ("Patient", "Practitioner"):
                summary.skipped[entry.resource["resourceType"]] += 1
            continue
        patient = patient_of(mapped.patient_ref, patient_refs)
        if patient is None:
            raise DanglingReference(
                path, "dangling reference in subject: not a Patient reference", entry.index
            )
        try:
            check_text("subject reference", patient, ID_MAX, required=True)
        except ValidationError as exc:
            raise FhirInputError(path, f"{exc.field} {exc.message}", entry.index) from None
        planned.append(_Planned(entry.index, mapped, patient))
    return patients, planned


class _Unknown:
    """Who wrote an event is not known from this run (as opposed to known to be nobody here)."""


UNKNOWN_AUTHOR = _Unknown()

_TYPE_TEXT = {t: t.value for t in EventType}
_IMPORTANCE_TEXT = {i: i.db_value for i in Importance}


def _row(
    event: MappedEvent,
    patient_id: uuid.UUID,
    therapist_id: uuid.UUID | _Unknown | None,
    stored_date: datetime,
) -> dict[str, Any]:
    related_type, related_id = event.related_entity
    return {
        "patient_id": patient_id,
        "therapist_id": therapist_id,
        "event_type": _TYPE_TEXT[event.event_type],
        "event_subtype": event.subtype,
        "event_date": stored_date,
        "title": event.title,
        "description": event.description,
        "metadata": event.metadata,
        "related_entity_type": related_type,
        "related_entity_id": related_id,
        "importance": _IMPORTANCE_TEXT[event.importance],
        "is_private": event.is_private,
    }


def _comparable(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c] for c in _COLUMNS)  # metadata compares as dicts: key order does not matter


BATCH_ENTRIES = 50_000  # an NDJSON file is read, mapped and written this many lines at a time


def _batches(entries: Iterator[Entry], size: int) -> Iterator[list[Entry]]:
    batch: list[Entry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_file(
    conn: sa.Connection,
    key: AuditKey | None,
    path: Path,
    *,
    assign_to: uuid.UUID | None = None,
    practitioners: dict[str, list[tuple[str, str]]] | None = None,
) -> FileSummary:
    """Import one file in the caller's transaction (the caller commits; any error leaves nothing).

    Big NDJSON files go in batches, so memory stays bounded whatever their size; the
    transaction still makes the whole file one unit.  ``practitioners`` (reference ->
    identifiers) holds those of earlier files of the run and gains this file's.
    """
    summary = FileSummary(path)
    practitioners = {} if practitioners is None else practitioners
    patient_refs: dict[str, str] = {}
    for batch in _batches(read_entries(path), BATCH_ENTRIES):
        _import_batch(conn, path, batch, summary, practitioners, patient_refs, assign_to)
    if key is not None:
        append(
            conn,
            key,
            "import",
            detail={
                "sha256": _digest(path) if path.suffix.lower() == ".json" else None,
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
            },
        )
    return summary


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _import_batch(
    conn: sa.Connection,
    path: Path,
    entries: list[Entry],
    summary: FileSummary,
    practitioners: dict[str, list[tuple[str, str]]],
    patient_refs: dict[str, str],
    assign_to: uuid.UUID | None,
) -> None:
    patients, planned = _plan(path, entries, summary, practitioners, patient_refs)
    encoded: dict[int, str] = {}
    dates: dict[int, datetime] = {}
    for item in planned:  # the schema's own rules, checked before the first write
        event = item.event
        try:
            check_text("title", event.title, TITLE_MAX, required=True)
            check_text("event_subtype", event.subtype, SHORT_TEXT_MAX, required=False)
            check_text("description", event.description, DESCRIPTION_MAX, required=False)
            check_text("related_entity_type", event.related_entity[0], SHORT_TEXT_MAX, required=False)
            dates[id(event)] = to_storage(event.when)
            encoded[id(event)] = encode_metadata(event.metadata, shape_trusted=event.shape_trusted)
        except ValidationError as exc:
            raise FhirInputError(path, f"{exc.field} {exc.message}", item.entry) from None

    # Patients: found again by their derived username (or, for a Caseline export, their id), else created.
    wanted = {fhir_id for fhir_id in patients} | {item.patient_key for item in planned}
    patient_ids = _resolve_patients(conn, path, patients, wanted, planned, summary)
    if assign_to is not None:
        for patient_id in patient_ids.values():
            conn.execute(
                sa.text(
                    "INSERT INTO care_assignments (therapist_id, patient_id) VALUES (:t, :p) "
                    "ON CONFLICT (therapist_id, patient_id) DO UPDATE SET active = true"
                ),
                {"t": assign_to, "p": patient_id},
            )

    # Practitioners: an author only when a user is known by one of their identifiers.
    pairs = sorted({pair for identifiers in practitioners.values() for pair in identifiers})
    known: dict[tuple[str, str], uuid.UUID] = {}
    if pairs:
        for match in conn.execute(
            sa.text(
                "SELECT i.system, i.value, i.user_id FROM user_identifiers i JOIN users u ON u.id = i.user_id "
                "WHERE u.role IN ('therapist', 'supervisor') AND (i.system, i.value) IN "
                "(SELECT * FROM unnest(CAST(:s AS text[]), CAST(:v AS text[])))"
            ),
            {"s": [p[0] for p in pairs], "v": [p[1] for p in pairs]},
        ):
            known[(match.system, match.value)] = match.user_id

    def author(event: MappedEvent) -> uuid.UUID | _Unknown | None:
        """The author, None for a practitioner Caseline does not know, or UNKNOWN_AUTHOR
        when no file of the run described the practitioners (an event file imported alone)."""
        described = False
        for ref in event.practitioner_refs:
            identifiers = practitioners.get(ref)
            if identifiers is None:
                continue
            described = True
            for pair in identifiers:
                if pair in known:
                    return known[pair]
        return UNKNOWN_AUTHOR if event.practitioner_refs and not described else None

    # Events: compare with what earlier imports left, by source.
    rows: dict[tuple[uuid.UUID, str, str], dict[str, Any]] = {}
    for item in planned:
        row = _row(item.event, patient_ids[item.patient_key], author(item.event), dates[id(item.event)])
        row["metadata_json"] = encoded[id(item.event)]
        rows[(row["patient_id"], *item.event.source_key)] = row  # a resource listed twice: the last wins
        summary.by_type[item.event.event_type.value] += 1
    stored: dict[tuple[uuid.UUID, str, str], dict[str, Any]] = {}
    for record in conn.execute(
        sa.text(
            f"SELECT id, {', '.join(_COLUMNS)}, metadata->'fhir'->>'resourceType' AS source_type, "
            "metadata->'fhir'->>'id' AS source_id FROM timeline_events "
            "WHERE patient_id = ANY(:p) AND metadata->'fhir'->>'id' = ANY(:ids) AND deleted_at IS NULL"
        ),
        {"p": list(set(patient_ids.values())), "ids": sorted({key[2] for key in rows})},
    ).mappings():
        earlier = dict(record)
        if earlier["related_entity_id"] is not None:  # compared with the text the mapping produces
            earlier["related_entity_id"] = str(earlier["related_entity_id"])
        stored[(record["patient_id"], record["source_type"], record["source_id"])] = earlier
    fresh: list[dict[str, Any]] = []
    for source, row in rows.items():
        before = stored.get(source)
        if row["therapist_id"] is UNKNOWN_AUTHOR:  # keep the author an earlier import found
            row["therapist_id"] = None if before is None else before["therapist_id"]
        if before is None:
            fresh.append(row)
        elif _comparable(before) == _comparable(row):
            summary.unchanged += 1
        else:
            conn.execute(
                sa.text(
                    "UPDATE timeline_events SET therapist_id = :therapist_id, event_type = :event_type, "
                    "event_subtype = :event_subtype, event_date = :event_date, title = :title, "
                    "description = :description, metadata = CAST(:metadata AS jsonb), importance = :importance, "
                    "is_private = :is_private, related_entity_type = :related_entity_type, "
                    "related_entity_id = :related_entity_id WHERE id = :id"
                ),
                {**row, "metadata": row["metadata_json"], "id": before["id"]},
            )
            summary.updated += 1
    copy_events(conn, fresh)
    summary.created += len(fresh)


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _resolve_patients(
    conn: sa.Connection,
    path: Path,
    patients: dict[str, tuple[int, str]],
    wanted: set[str],
    planned: list[_Planned],
    summary: FileSummary,
) -> dict[str, uuid.UUID]:
    """The Caseline user of each FHIR patient id: found again, or created from the file's Patient.

    A patient is found by the username derived from its FHIR id (an earlier import),
    else by its id when that is the id of a Caseline patient (a Caseline export, or an
    NDJSON file whose patients an earlier file brought).
    """
    usernames = {fhir_id: patient_username(fhir_id) for fhir_id in wanted}
    as_ids = {fhir_id: u for fhir_id in wanted if (u := _as_uuid(fhir_id)) is not None}
    by_username: dict[str, uuid.UUID] = {}
    by_id: set[uuid.UUID] = set()
    for row in conn.execute(
        sa.text(
            "SELECT id, username FROM users WHERE role = 'patient' AND (username = ANY(:u) OR id = ANY(:i))"
        ),
        {"u": list(usernames.values()), "i": list(as_ids.values())},
    ):
        by_username[row.username] = row.id
        by_id.add(row.id)
    patient_ids: dict[str, uuid.UUID] = {}
    for fhir_id, username in usernames.items():
        found = by_username.get(username)
        if found is None and as_ids.get(fhir_id) in by_id:
            found = as_ids[fhir_id]
        if found is not None:
            patient_ids[fhir_id] = found
            if fhir_id in patients:
                conn.execute(
                    sa.text("UPDATE users SET display_name = :d WHERE id = :i AND display_name <> :d"),
                    {"d": patients[fhir_id][1], "i": found},
                )
        elif fhir_id in patients:
            patient_ids[fhir_id] = conn.execute(
                sa.text(
                    "INSERT INTO users (username, display_name, role) VALUES (:u, :d, 'patient') RETURNING id"
                ),
                {"u": username, "d": patients[fhir_id][1]},
            ).scalar_one()
            summary.patients_created += 1
        else:
            index = next(item.entry for item in planned if item.patient_key == fhir_id)
            raise DanglingReference(
                path, "dangling reference in subject: no such Patient in the file or in Caseline", index
            )
    return patient_ids


def copy_events(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Stream new events into ``timeline_events`` with COPY (the fast path for bulk loads)."""
    if not rows:
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY timeline_events ({', '.join(_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([row["metadata_json"] if c == "metadata" else row[c] for c in _COLUMNS])


_PEOPLE = re.compile(rb'"resourceType"\s*:\s*"(Patient|Practitioner)"')


def _brings_people(path: Path) -> bool:
    """Whether a file holds Patient or Practitioner resources (a cheap look, never a parse).

    NDJSON bulk exports keep one resource type per file, so the first line tells;
    a bundle is searched as bytes.
    """
    try:
        with path.open("rb") as handle:
            if path.suffix.lower() == ".ndjson":
                for line in iter(lambda: handle.readline(reader.MAX_LINE_BYTES), b""):
                    if line.strip():
                        return _PEOPLE.search(line) is not None
                return False
            if path.stat().st_size > reader.MAX_JSON_BYTES:
                return False  # refused when imported
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
                return _PEOPLE.search(view) is not None
    except (OSError, ValueError):  # unreadable or empty: import_file names the problem
        return False


def import_order(files: list[Path]) -> list[Path]:
    """Files that bring patients and practitioners first, so the others' references resolve.

    A bulk export writes Encounter.ndjson, Observation.ndjson… beside Patient.ndjson,
    and Patient sorts after Encounter.
    """
    people = [path for path in files if _brings_people(path)]
    return people + [path for path in files if path not in people]


def import_paths(
    engine: sa.Engine,
    key: AuditKey | None,
    paths: Iterable[Path],
    *,
    assign_to: uuid.UUID | None = None,
    progress: Callable[[int, int, Path], None] | None = None,
) -> tuple[list[FileSummary], list[FhirInputError]]:
    """Import each file in its own transaction; a bad file is reported and the others still land.

    Files that bring patients go first; a file refused only for a reference to a patient
    that no file had brought yet is tried again once another file has landed (its
    patients may be there now), as long as that makes progress.  Practitioners of
    landed files are remembered for the files after them.
    """
    files = expand_paths(paths)
    results: dict[Path, FileSummary | FhirInputError] = {}
    practitioners: dict[str, list[tuple[str, str]]] = {}
    pending = import_order(files)
    attempts, total = 0, len(files)
    while pending:
        deferred: list[Path] = []
        landed = False
        for path in pending:
            if progress is not None:
                progress(attempts, total, path)
            attempts += 1
            outcome = _import_one(engine, key, path, assign_to, practitioners)
            results[path] = outcome
            if isinstance(outcome, FileSummary):
                landed = True
            elif isinstance(outcome, DanglingReference):
                deferred.append(path)
        if not (landed and deferred):
            break
        pending = deferred
        total += len(deferred)
    if progress is not None and files:
        progress(total, total, files[-1])
    done = [r for path in files if isinstance(r := results[path], FileSummary)]
    failed = [r for path in files if isinstance(r := results[path], FhirInputError)]
    return done, failed


def _import_one(
    engine: sa.Engine,
    key: AuditKey | None,
    path: Path,
    assign_to: uuid.UUID | None,
    practitioners: dict[str, list[tuple[str, str]]],
) -> FileSummary | FhirInputError:
    """One file in its own transaction: its summary, or why nothing from it was written."""
    known = dict(practitioners)
    try:
        with engine.begin() as conn:
            summary = import_file(conn, key, path, assign_to=assign_to, practitioners=known)
    except FhirInputError as exc:
        return exc
    except sa.exc.DataError as exc:
        # The checks above should have named the entry; a value the database still refuses is
        # the file's fault all the same, so it is reported (and logged as a gap in the checks).
        state = getattr(exc.orig, "sqlstate", None) or "unknown"
        log.warning("import of %s: the database refused a value (SQLSTATE %s)", path.name, state)
        return FhirInputError(path, f"the database refused a value (SQLSTATE {state})")
    practitioners.update(known)
    return summary
