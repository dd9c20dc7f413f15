"""How the detail pane names an event's related entity (Qt-free).

``related_entity_type``/``related_entity_id`` point at another Caseline
event (a review linked to its treatment plan) or, for imported events, at the
FHIR resource they came from.  A therapist reads neither a UUID nor a column
name: a Caseline event is named by its kind, date and title; an imported
source points to the Source row, which spells out the resource and its codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from viewer.domain import EventDetail, EventType
from viewer.event_text import format_when


@dataclass(frozen=True)
class RelatedEvent:
    """The related event as this timeline knows it; ``title`` None while it is being fetched."""

    event_type: EventType
    event_date: datetime  # naive UTC, as stored
    title: str | None = None
    private: bool = False  # another author's private event: its title is not read here


def related_kind(entity_type: str) -> str:
    """``treatment_plan`` -> ``Treatment plan``; a FHIR resource type stays as it is (``Encounter``)."""
    for event_type in EventType:
        if event_type.value == entity_type:
            return event_type.label
    if entity_type[:1].isupper():
        return entity_type
    return entity_type.replace("_", " ").capitalize()


def describe_related(detail: EventDetail, target: RelatedEvent | None) -> str | None:
    """The Related row's text, or None when the event relates to nothing."""
    if not detail.related_entity_type:
        return None
    kind = related_kind(detail.related_entity_type)
    if target is None:
        source = (detail.metadata or {}).get("fhir")
        if isinstance(source, dict) and source.get("resourceType") == detail.related_entity_type:
            return f"the FHIR {kind} it was imported from (see Source)"
        return f"{kind} (not on this timeline)"
    head = f"{target.event_type.label}, {format_when(target.event_date)}"
    if target.private:
        return f"{head} (private: its author's)"
    if target.title is None:
        return f"{head} …"
    return f"{head}: “{target.title}”"
