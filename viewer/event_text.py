"""How an event reads in a tooltip and in the detail pane (plain text, Qt-free).

Dates are shown in the viewer's local time zone; private events say who can
see them, so nobody mistakes a private note for a shared one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from viewer.domain import EventDetail, EventType, Importance, local_or_utc
from viewer.local_time import is_repeated, utc_offset_text, wall_of

PRIVATE_NOTICE = "Private: only its author and the author's supervisor can see it"


def format_when(stored: datetime) -> str:
    """``Tue 4 Mar 2025, 10:30`` in local time, from a naive-UTC stored timestamp.

    A time the clocks pass twice (the night they go back) says which of the
    two it is: ``Sun 25 Oct 2026, 02:45 (UTC+01:00)``.
    """
    local, in_utc = local_or_utc(stored)
    text = f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
    if in_utc:  # the calendar's first or last hours, which local time cannot name
        return f"{text} UTC"
    wall, _second = wall_of(local)
    return f"{text} ({utc_offset_text(local)})" if is_repeated(wall) else text


def tooltip_head(event_type: EventType, importance: Importance, stored: datetime, private: bool) -> str:
    """What is known without fetching text: shown at once while the title loads."""
    lock = " · private" if private else ""
    return f"{format_when(stored)} · {event_type.label} · {importance.label}{lock}"


def tooltip_text(detail: EventDetail) -> str:
    head = tooltip_head(detail.event_type, detail.importance, detail.event_date, detail.is_private)
    author = f"by {detail.therapist_name}" if detail.therapist_name else "No author recorded"
    return f"{head}\n{detail.title}\n{author}"


@dataclass(frozen=True)
class DetailField:
    label: str
    value: str


def detail_fields(detail: EventDetail) -> list[DetailField]:
    """Label/value pairs for the detail pane, in reading order."""
    fields = [
        DetailField("When", format_when(detail.event_date)),
        DetailField(
            "Type", detail.event_type.label + (f" ({detail.event_subtype})" if detail.event_subtype else "")
        ),
        DetailField("Importance", detail.importance.label),
        DetailField("Author", detail.therapist_name or "no author recorded"),
    ]
    if detail.is_private:
        fields.append(DetailField("Privacy", PRIVATE_NOTICE))
    if detail.related_entity_type:
        fields.append(DetailField("Related", f"{detail.related_entity_type} {detail.related_entity_id}"))
    if detail.metadata:
        source = detail.metadata.get("fhir")
        rest = {k: v for k, v in detail.metadata.items() if k != "fhir" or not isinstance(source, dict)}
        if isinstance(source, dict):
            fields.append(DetailField("Source", format_fhir_source(source)))
        if rest:
            fields.append(DetailField("Metadata", format_metadata(rest)))
    fields.append(DetailField("Created", format_when(detail.created_at)))
    # What the editor's "Related to" asks for: without it shown, no event could be linked to another.
    fields.append(DetailField("Id", str(detail.id)))
    return fields


_SYSTEMS = {
    "http://snomed.info/sct": "SNOMED CT",
    "http://loinc.org": "LOINC",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://hl7.org/fhir/sid/cvx": "CVX",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
}


def format_fhir_source(source: dict[str, object]) -> str:
    """Where an imported event came from, readable: the resource, then one line per code."""
    lines = [f"FHIR {source.get('resourceType', 'resource')} {source.get('id', '')}".rstrip()]
    codes = source.get("codes")
    for code in codes if isinstance(codes, list) else []:
        if isinstance(code, dict):
            system = str(code.get("system", ""))
            label = _SYSTEMS.get(system, system.rsplit("/", 1)[-1] or "code")
            lines.append(f"{label} {code.get('code', '')}: {code.get('display', '')}".rstrip(": "))
    return "\n".join(lines)


def format_metadata(metadata: dict[str, object]) -> str:
    """One ``key: value`` line per entry; nested values as compact JSON."""
    lines = []
    for key, value in metadata.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
        lines.append(f"{key}: {shown}")
    return "\n".join(lines)
