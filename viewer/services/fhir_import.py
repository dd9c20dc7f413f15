"""Import FHIR files into the timeline: each file all or nothing, the same file twice changes nothing.

A file is read and mapped completely before anything is written, so a bad
entry anywhere (not JSON, wrong resourceType, a missing field, a dangling
reference, an unparseable date, hostile nesting) raises
:class:`~viewer.fhir.reader.FhirInputError` naming the file and entry, and the
database never sees the file.  Writing then happens in one transaction: new
events stream in through ``COPY`` while the rest are still being checked, events
whose source resource changed are updated (their version history keeps the old
text), unchanged ones are left alone.  Each event keeps a digest of what it was
made from (``metadata.fhir.digest``), so a re-import compares digests instead of
reading every event back, and an edit made in Caseline survives the re-import of
an unchanged source.  Patients become users with role ``patient`` found again on re-import, and
practitioners the events' author only when Caseline knows one of their
identifiers (:mod:`viewer.services.fhir_patients`).  A Caseline export's events
are found again by their event ids, so importing an export where it came from
changes nothing.  A resource listed twice is taken once when both would store
the same event, and refused naming both entries when they differ.  The import runs as the database owner (it writes events no
clinician authored) and leaves one audit row per file.  Turning a mapped event into its
checked, digested COPY row is :mod:`viewer.services.fhir_rows`.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import mmap
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from viewer.domain import (
    ValidationError,
)
from viewer.fhir import reader
from viewer.fhir.mapping import ID_MAX, MappedEvent, MappingError, Skip, map_resource
from viewer.fhir.people import (
    PatientInfo,
    identifiers,
    patient_info,
    patient_of,
    patient_username,
)
from viewer.fhir.reader import Entry, FhirInputError, read_entries
from viewer.services.audit import AuditKey, append
from viewer.services.fhir_patients import (
    UNKNOWN_AUTHOR,
    DanglingReference,
    authors_of,
    resolve_patients,
)
from viewer.services.fhir_rows import (
    COLUMNS,
    METADATA_AT,
    PRIVATE_AT,
    THERAPIST_AT,
    TYPE_AT,
    as_row,
    check_field,
    checked_values,
    comparable,
    copy_events,
    copy_rows,
    digest_of,
    with_digest,
)
from viewer.wording import count_of

__all__ = [
    "FileSummary",
    "ImportProgress",
    "expand_paths",
    "import_file",
    "import_order",
    "import_paths",
    "patient_username",
]

log = logging.getLogger(__name__)

FHIR_SUFFIXES = (".json", ".ndjson")
DELETED_HERE = "event deleted in Caseline since it was exported"


@dataclass
class FileSummary:
    path: Path
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    patients_created: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    # Private events stored with no author: no clinician can read them (the owner can).
    private_without_author: int = 0
    # Of created, updated and unchanged, how many are private: the audit row counts shared events only.
    private: Counter[str] = field(default_factory=Counter)

    @property
    def events(self) -> int:
        return self.created + self.updated + self.unchanged

    def render(self) -> str:
        skipped = ", ".join(f"{n} {kind}" for kind, n in sorted(self.skipped.items()))
        text = (
            f"{self.path.name}: {count_of(self.created, 'event')} added, {self.updated} updated, "
            f"{self.unchanged} unchanged; {count_of(self.patients_created, 'new patient')}"
            + (f"; skipped {skipped}" if skipped else "")
        )
        if self.private_without_author:
            text += (
                f"; {count_of(self.private_without_author, 'private event')} without an author in this database, so no "
                "clinician can read them (record the author's identifier in user_identifiers and import again)"
            )
        return text


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
    offset: int  # how far into the file this entry ends, for progress


def _plan(
    path: Path,
    entries: list[Entry],
    summary: FileSummary,
    practitioners: dict[str, list[tuple[str, str]]],
    patient_refs: dict[str, str],
    seen: _Seen,
    tracker: _Tracker,
) -> tuple[dict[str, PatientInfo], list[_Planned]]:
    """Map every entry of a batch; raises FhirInputError at the first problem, before any write.

    ``practitioners`` (reference -> identifiers) and ``patient_refs`` (reference -> the
    patient's FHIR id) are filled in and carried from batch to batch, like ``seen``.
    """
    patients: dict[str, PatientInfo] = {}
    for entry in entries:
        kind = entry.resource["resourceType"]
        try:
            if kind == "Patient":
                info = patient_info(entry.resource, entry.index)
                if seen.first(
                    path, kind, info.fhir_id, entry.index, hash((info.name, info.caseline_id, info.username))
                ):
                    patients[info.fhir_id] = info
                    for key in _keys_of(entry):
                        patient_refs[key] = info.fhir_id
            elif kind == "Practitioner":
                found = identifiers(entry.resource)
                rid = entry.resource.get("id")
                if not isinstance(rid, str) or seen.first(path, kind, rid, entry.index, hash(tuple(found))):
                    for key in _keys_of(entry):
                        practitioners[key] = found
        except MappingError as exc:
            raise FhirInputError(path, str(exc), entry.index) from None
    planned: list[_Planned] = []
    for entry in entries:
        tracker.mapped(entry.offset)
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
            check_field("subject reference", patient, ID_MAX, required=True)
        except ValidationError as exc:
            raise FhirInputError(path, f"{exc.field} {exc.message}", entry.index) from None
        planned.append(_Planned(entry.index, mapped, patient, entry.offset))
    return patients, planned


class _Seen:
    """The resources a file has listed so far, to catch one listed twice with different content.

    Kept for the whole file (across NDJSON batches) as two small integers per resource,
    hashes of its type/id and of what Caseline would store of it: an identical repeat
    is accepted and counted, a conflicting one refused naming both entries.
    """

    def __init__(self) -> None:
        self._first: dict[int, tuple[int, int]] = {}
        self.repeats = 0

    def first(self, path: Path, kind: str, rid: str, index: int, content: int) -> bool:
        """True for a resource not listed before; False for an identical repeat; raises on a conflict."""
        key = hash((kind, rid))
        earlier = self._first.setdefault(key, (index, content))
        if earlier == (index, content):
            return True
        if earlier[1] != content:
            raise FhirInputError(
                path,
                f"entries {earlier[0]} and {index} are the same {kind} (one id) with different content",
                index,
            )
        self.repeats += 1
        return False


class _Tracker:
    """Progress within a file: each entry is read and mapped, then checked and written.

    The share done counts both passes over the file's bytes, so a big bundle moves
    the bar while it is mapped and again while it is written; it is told at most
    every :data:`PROGRESS_EVERY` entries.
    """

    def __init__(self, path: Path, report: Callable[[float, int], None] | None) -> None:
        try:
            self._size = max(path.stat().st_size, 1)
        except OSError:
            self._size = 1
        self._report = report
        self._mapped = self._written = self._count = 0

    def mapped(self, offset: int) -> None:
        self._mapped = offset
        self._tick()

    def written(self, offset: int) -> None:
        self._written = offset
        self._tick()

    def _tick(self) -> None:
        self._count += 1
        if self._report is not None and self._count % PROGRESS_EVERY == 0:
            share = min(1.0, (self._mapped + self._written) / (2 * self._size))
            self._report(share, self._count // 2)


PROGRESS_EVERY = 2_000


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
    imported_by: str | None = None,
    progress: Callable[[float, int], None] | None = None,
) -> FileSummary:
    """Import one file in the caller's transaction (the caller commits; any error leaves nothing).

    Big NDJSON files go in batches, so memory stays bounded whatever their size; the
    transaction still makes the whole file one unit.  ``practitioners`` (reference ->
    identifiers) holds those of earlier files of the run and gains this file's.
    ``imported_by`` (who asked for the import: the signed-in administrator, the OS
    user of the command line) goes into the audit row, whose actor is the database
    login that wrote.  ``progress`` hears (share of the file done, entries done).
    """
    summary = FileSummary(path)
    practitioners = {} if practitioners is None else practitioners
    patient_refs: dict[str, str] = {}
    seen = _Seen()
    tracker = _Tracker(path, progress)
    with cyclic_gc_paused():
        for batch in _batches(read_entries(path), BATCH_ENTRIES):
            _import_batch(conn, path, batch, summary, practitioners, patient_refs, seen, tracker, assign_to)
    if seen.repeats:
        summary.skipped["repeated entry (identical)"] += seen.repeats
    if key is not None:
        append(
            conn,
            key,
            "import",
            detail={
                "by": imported_by,
                "sha256": _digest(path) if path.suffix.lower() == ".json" else None,
                # An administrator reads this row; with private events in them, its counts less the
                # events she sees told her how many private notes a patient has.
                "shared_created": summary.created - summary.private["created"],
                "shared_updated": summary.updated - summary.private["updated"],
                "shared_unchanged": summary.unchanged - summary.private["unchanged"],
            },
        )
    return summary


class _CollectorPause:
    """How many imports hold the cycle collector off now, and whether it was on before the first."""

    lock = threading.Lock()
    holders = 0
    was_enabled = False


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cycle collector off while a file is parsed, mapped and copied, then as it was.

    A parsed bundle is millions of small dicts and lists that live until the file is
    done; each collection walks all of them again, which took over half of an
    import's time.  Parsed JSON holds no reference cycles, and reference counting
    still frees everything else at once, so nothing is lost by waiting.  Counted, so
    overlapping imports (the app's worker and a test) restore it only at the last.
    """
    with _CollectorPause.lock:
        if _CollectorPause.holders == 0:
            _CollectorPause.was_enabled = gc.isenabled()
            gc.disable()
        _CollectorPause.holders += 1
    try:
        yield
    finally:
        with _CollectorPause.lock:
            _CollectorPause.holders -= 1
            if _CollectorPause.holders == 0 and _CollectorPause.was_enabled:
                gc.enable()


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Where an event came from: ("fhir", patient id, resource type, resource id) for a FHIR resource,
# ("event", event id) for an event of a Caseline export.
_Source = tuple[Any, ...]


def _import_batch(
    conn: sa.Connection,
    path: Path,
    entries: list[Entry],
    summary: FileSummary,
    practitioners: dict[str, list[tuple[str, str]]],
    patient_refs: dict[str, str],
    seen: _Seen,
    tracker: _Tracker,
    assign_to: uuid.UUID | None,
) -> None:
    """Map a batch, look up what earlier imports left, then check and stream each event.

    The rows go to ``COPY`` one by one as they are checked and encoded, so the server
    parses, indexes and checks them on the other core meanwhile.  A problem found
    half-way aborts the COPY; the caller's transaction then leaves nothing.
    """
    patients, planned = _plan(path, entries, summary, practitioners, patient_refs, seen, tracker)
    wanted = set(patients) | {item.patient_key for item in planned}
    first_entries: dict[str, int] = {}
    for item in planned:
        first_entries.setdefault(item.patient_key, item.entry)
    patient_ids, created = resolve_patients(conn, path, patients, wanted, first_entries.__getitem__)
    summary.patients_created += created
    if assign_to is not None:
        for patient_id in patient_ids.values():
            conn.execute(
                sa.text(
                    "INSERT INTO care_assignments (therapist_id, patient_id) VALUES (:t, :p) "
                    "ON CONFLICT (therapist_id, patient_id) DO UPDATE SET active = true"
                ),
                {"t": assign_to, "p": patient_id},
            )
    author = authors_of(conn, practitioners)
    sources = [_source_of(item.event, patient_ids[item.patient_key]) for item in planned]
    stored = _stored(
        conn, path, planned, sources, [patient_ids[item.patient_key] for item in planned], summary
    )
    with_ids: list[dict[str, Any]] = []  # new events of a Caseline export, keeping their ids
    updates: list[dict[str, Any]] = []
    by_type = summary.by_type
    written = tracker.written
    with copy_rows(conn, COLUMNS) as write:
        for item, source in zip(planned, sources, strict=True):
            written(item.offset)
            event = item.event
            before = stored.get(source)
            if before is DELETED:
                continue
            values = checked_values(path, item.event, item.entry, patient_ids[item.patient_key])
            therapist = author(event)
            if therapist is UNKNOWN_AUTHOR:  # keep the author an earlier import found
                therapist = None if before is None else before["therapist_id"]
            values[THERAPIST_AT] = therapist
            digest = digest_of(values)
            if not seen.first(path, event.source_type, event.source_id, item.entry, hash(digest)):
                continue
            by_type[values[TYPE_AT]] += 1
            if therapist is None and values[PRIVATE_AT]:
                summary.private_without_author += 1
            if source[0] == "fhir":  # what an event from a FHIR resource was made from travels with it
                values[METADATA_AT] = with_digest(values[METADATA_AT], digest)
            private = bool(values[PRIVATE_AT])
            if before is None:
                summary.created += 1
                summary.private["created"] += private
                if source[0] == "event":
                    with_ids.append({**as_row(values), "id": source[1]})
                else:
                    write(values)
            elif before.get("digest") == digest or (
                "digest" not in before
                and comparable(before) == comparable({**as_row(values), "metadata": event.metadata})
            ):
                summary.unchanged += 1
                summary.private["unchanged"] += private
            else:
                updates.append({**as_row(values), "id": before["id"]})
                summary.private["updated"] += private
    copy_events(conn, with_ids, with_id=True)
    if updates:
        conn.execute(
            sa.text(
                "UPDATE timeline_events SET therapist_id = :therapist_id, event_type = :event_type, "
                "event_subtype = :event_subtype, event_date = :event_date, title = :title, "
                "description = :description, metadata = CAST(:metadata AS jsonb), importance = :importance, "
                "is_private = :is_private, related_entity_type = :related_entity_type, "
                "related_entity_id = :related_entity_id WHERE id = :id"
            ),
            updates,
        )
        summary.updated += len(updates)


def _source_of(event: MappedEvent, patient_id: uuid.UUID) -> _Source:
    if event.caseline_id is not None:
        return ("event", event.caseline_id)
    return ("fhir", patient_id, *event.source_key)


DELETED: dict[str, Any] = {}  # marker: the event of a Caseline export was deleted here since


def _stored(
    conn: sa.Connection,
    path: Path,
    planned: list[_Planned],
    sources: list[_Source],
    patients_of: list[uuid.UUID],
    summary: FileSummary,
) -> dict[_Source, dict[str, Any]]:
    """What earlier imports (or Caseline itself) left for each source.

    An event an import made carries the digest of what it was made from, so only
    ids and digests are read back; older ones without a digest, and the events of a
    Caseline export, are read whole and compared column by column.
    """
    stored: dict[_Source, dict[str, Any]] = {}
    fhir_ids = sorted({str(source[3]) for source in sources if source[0] == "fhir"})
    patients = sorted({source[1] for source in sources if source[0] == "fhir"}, key=str)
    whole: list[uuid.UUID] = []
    if fhir_ids:
        for record in conn.execute(
            sa.text(
                "SELECT id, patient_id, therapist_id, metadata->'fhir'->>'resourceType' AS source_type, "
                "metadata->'fhir'->>'id' AS source_id, metadata->'fhir'->>'digest' AS digest FROM timeline_events "
                "WHERE patient_id = ANY(:p) AND metadata->'fhir'->>'id' = ANY(:ids) AND deleted_at IS NULL"
            ),
            {"p": patients, "ids": fhir_ids},
        ):
            stored[("fhir", record.patient_id, record.source_type, record.source_id)] = {
                "id": record.id,
                "therapist_id": record.therapist_id,
                "digest": record.digest,
            }
            if record.digest is None:
                whole.append(record.id)
    if whole:
        for full in conn.execute(
            sa.text(
                f"SELECT id, {', '.join(COLUMNS)}, metadata->'fhir'->>'resourceType' AS source_type, "
                "metadata->'fhir'->>'id' AS source_id FROM timeline_events WHERE id = ANY(:ids)"
            ),
            {"ids": whole},
        ).mappings():
            stored[("fhir", full["patient_id"], full["source_type"], full["source_id"])] = _comparable_record(
                full
            )
    entry_of: dict[_Source, int] = {}
    patient_of_event: dict[_Source, uuid.UUID] = {}
    for item, source, patient in zip(planned, sources, patients_of, strict=True):
        if source[0] == "event":
            entry_of[source], patient_of_event[source] = item.entry, patient
    if entry_of:
        for event in conn.execute(
            sa.text(f"SELECT id, {', '.join(COLUMNS)}, deleted_at FROM timeline_events WHERE id = ANY(:ids)"),
            {"ids": [source[1] for source in entry_of]},
        ).mappings():
            key: _Source = ("event", event["id"])
            if event["patient_id"] != patient_of_event[key]:
                raise FhirInputError(path, "this event id belongs to another patient's event", entry_of[key])
            if event["deleted_at"] is not None:
                summary.skipped[DELETED_HERE] += 1
                stored[key] = DELETED
            else:
                stored[key] = _comparable_record(event)
    return stored


def _comparable_record(record: sa.RowMapping) -> dict[str, Any]:
    earlier = dict(record)
    if earlier["related_entity_id"] is not None:  # compared with the text the mapping produces
        earlier["related_entity_id"] = str(earlier["related_entity_id"])
    return earlier


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


@dataclass(frozen=True)
class ImportProgress:
    """Where a run of imports is: the file being imported (1-based, of ``files`` attempts,
    retries included), entries of it done so far, and the share of the whole run done (by bytes)."""

    file: int
    files: int
    path: Path
    entries: int
    done: float


def import_paths(
    engine: sa.Engine,
    key: AuditKey | None,
    paths: Iterable[Path],
    *,
    assign_to: uuid.UUID | None = None,
    imported_by: str | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
) -> tuple[list[FileSummary], list[FhirInputError]]:
    """Import each file in its own transaction; a bad file is reported and the others still land.

    Files that bring patients go first; a file refused only for a reference to a patient
    that no file had brought yet is tried again once another file has landed (its
    patients may be there now), as long as that makes progress.  Practitioners of
    landed files are remembered for the files after them.  ``progress`` hears at the
    start of each file and every few thousand entries within one.
    """
    files = expand_paths(paths)
    results: dict[Path, FileSummary | FhirInputError] = {}
    practitioners: dict[str, list[tuple[str, str]]] = {}
    sizes = {path: _size(path) for path in files}
    pending = import_order(files)
    attempts, total = 0, len(files)
    finished, all_bytes = 0, sum(sizes.values())
    while pending:
        deferred: list[Path] = []
        landed = False
        for path in pending:
            attempts += 1
            report = None
            if progress is not None:
                report = partial(
                    _tell, progress, attempts, total, path, finished / all_bytes, sizes[path] / all_bytes
                )
                report(0.0, 0)
            outcome = _import_one(engine, key, path, assign_to, practitioners, imported_by, report)
            finished += sizes[path]
            results[path] = outcome
            if isinstance(outcome, FileSummary):
                landed = True
            elif isinstance(outcome, DanglingReference):
                deferred.append(path)
        if not (landed and deferred):
            break
        pending = deferred
        total += len(deferred)
        all_bytes += sum(sizes[path] for path in deferred)
    if progress is not None and files:
        progress(ImportProgress(total, total, files[-1], 0, 1.0))
    done = [r for path in files if isinstance(r := results[path], FileSummary)]
    failed = [r for path in files if isinstance(r := results[path], FhirInputError)]
    return done, failed


def _tell(
    progress: Callable[[ImportProgress], None],
    number: int,
    files: int,
    path: Path,
    before: float,
    weight: float,
    share: float,
    entries: int,
) -> None:
    """One file's progress as a share of the run: what came before, plus its own share by its size."""
    progress(ImportProgress(number, files, path, entries, min(before + share * weight, 1.0)))


def _size(path: Path) -> int:
    try:
        return max(path.stat().st_size, 1)
    except OSError:
        return 1


def _import_one(
    engine: sa.Engine,
    key: AuditKey | None,
    path: Path,
    assign_to: uuid.UUID | None,
    practitioners: dict[str, list[tuple[str, str]]],
    imported_by: str | None,
    progress: Callable[[float, int], None] | None,
) -> FileSummary | FhirInputError:
    """One file in its own transaction: its summary, or why nothing from it was written."""
    known = dict(practitioners)
    try:
        with engine.begin() as conn:
            summary = import_file(
                conn,
                key,
                path,
                assign_to=assign_to,
                practitioners=known,
                imported_by=imported_by,
                progress=progress,
            )
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
