"""Read FHIR files without trusting them: size, nesting and shape are checked before any use.

Accepted: a JSON Bundle of type transaction, collection, batch or searchset,
or an NDJSON bulk-export file (one resource per line).  Every problem raises
:class:`FhirInputError` naming the file and, where there is one, the entry
index (the line number for NDJSON) and what is wrong, never the content.
JSON files are read whole up to :data:`MAX_JSON_BYTES` (and refused above
it); NDJSON files are streamed line by line, so their size is bounded only by
:data:`MAX_NDJSON_BYTES`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viewer.fhir.json_bounds import deeper_than
from viewer.services.errors import ServiceError

MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_NDJSON_BYTES = 16 * 1024 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
BUNDLE_TYPES = frozenset({"transaction", "collection", "batch", "searchset"})


class FhirInputError(ServiceError):
    """A FHIR file cannot be imported; nothing from it was written."""

    def __init__(self, path: Path, message: str, entry: int | None = None) -> None:
        where = f"{path.name}" + (f", entry {entry}" if entry is not None else "")
        super().__init__(f"{where}: {message}")
        self.path = path
        self.entry = entry
        self.reason = message


@dataclass(frozen=True)
class Entry:
    """One resource of a file: its index (0-based entry, or 1-based NDJSON line) and fullUrl.

    ``offset`` is how far into the file (in bytes) the reading is once this entry is
    done: exact for NDJSON, proportional to the entry's place in a bundle.
    """

    index: int
    full_url: str | None
    resource: dict[str, Any]
    offset: int = 0


def _parse(path: Path, text: str | bytes, entry: int | None) -> Any:
    """One JSON value; nesting beyond :data:`MAX_DEPTH` is refused, naming the entry where it is."""
    try:
        value = json.loads(text)
    except RecursionError:
        where = entry if entry is not None else _deep_entry(text, MAX_DEPTH)
        raise FhirInputError(path, f"nested deeper than {MAX_DEPTH} levels", where) from None
    except (ValueError, UnicodeDecodeError) as exc:
        position = (
            f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        )
        raise FhirInputError(path, f"not JSON{position}", entry) from None
    return value


_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]')


def _deep_entry(text: str | bytes, limit: int) -> int | None:
    """Which Bundle entry nests deeper than ``limit`` (json.loads only says *that* something does).

    A scan of the text's strings and brackets, run only when a file has been refused,
    up to the first place that is too deep.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    depth = 0
    key: bytes | None = None  # the last string at depth 1, if it is a key
    entries_open = False
    index = 0
    previous = b""
    for match in _TOKEN.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return index if entries_open else None
            if depth == 2 and token == b"[" and key == b'"entry"':
                entries_open, index = True, 0
        elif token in (b"]", b"}"):
            if depth == 2 and entries_open:
                entries_open = False
            depth -= 1
        elif token == b"," and depth == 2 and entries_open:
            index += 1
        elif token == b":" and depth == 1:
            key = previous
        previous = token
    return None


def _resource(path: Path, value: Any, entry: int | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FhirInputError(path, "a resource must be a JSON object", entry)
    kind = value.get("resourceType")
    if not isinstance(kind, str) or not kind:
        raise FhirInputError(path, "missing required field resourceType", entry)
    return value


def read_entries(path: Path) -> Iterator[Entry]:
    """The resources of one file, in order; raises FhirInputError at the first problem."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FhirInputError(path, f"cannot be read ({exc.strerror})") from None
    if path.suffix.lower() == ".ndjson":
        if size > MAX_NDJSON_BYTES:
            raise FhirInputError(path, "is larger than this importer accepts")
        yield from _read_ndjson(path)
        return
    if size > MAX_JSON_BYTES:
        raise FhirInputError(
            path, f"is larger than {MAX_JSON_BYTES // 2**20} MiB; export it as NDJSON to stream it instead"
        )
    data = path.read_bytes()
    if not data.strip():
        raise FhirInputError(path, "is empty")
    bundle = _resource(path, _parse(path, data, None), None)
    if bundle["resourceType"] != "Bundle":
        raise FhirInputError(path, f"wrong resourceType {bundle['resourceType'][:40]!r}: expected a Bundle")
    kind = bundle.get("type")
    if kind not in BUNDLE_TYPES:
        raise FhirInputError(path, f"Bundle type must be one of {', '.join(sorted(BUNDLE_TYPES))}")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise FhirInputError(path, "Bundle.entry must be a list")
    if deeper_than({k: v for k, v in bundle.items() if k != "entry"}, MAX_DEPTH):
        raise FhirInputError(path, f"nested deeper than {MAX_DEPTH} levels")
    for index, item in enumerate(entries):
        if deeper_than(item, MAX_DEPTH - 2):  # inside the Bundle and its entry list
            raise FhirInputError(path, f"nested deeper than {MAX_DEPTH} levels", index)
        if not isinstance(item, dict):
            raise FhirInputError(path, "an entry must be a JSON object", index)
        if "resource" not in item:
            raise FhirInputError(path, "missing required field resource", index)
        full_url = item.get("fullUrl")
        yield Entry(
            index,
            full_url if isinstance(full_url, str) else None,
            _resource(path, item["resource"], index),
            len(data) * (index + 1) // len(entries),
        )


def _read_ndjson(path: Path) -> Iterator[Entry]:
    with path.open("rb") as handle:
        number = found = 0
        while True:
            line = handle.readline(MAX_LINE_BYTES + 1)  # never more than the limit in memory
            if not line:
                if not found:
                    raise FhirInputError(path, "is empty: no resources in it")
                return
            number += 1
            if len(line) > MAX_LINE_BYTES:
                raise FhirInputError(path, "line is longer than this importer accepts", number)
            if not line.strip():
                continue
            value = _parse(path, line, number)
            if deeper_than(value, MAX_DEPTH):
                raise FhirInputError(path, f"nested deeper than {MAX_DEPTH} levels", number)
            found += 1
            yield Entry(number, None, _resource(path, value, number), handle.tell())
