"""The words printed around an exported or printed timeline (Qt-free).

An exported picture leaves the app, so it must say on its face whose
timeline it is, which stretch of time it shows, what was filtered out, and
that it is a confidential record; a picture without that is a liability.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from viewer.domain import from_storage, local_or_utc
from viewer.lane_layout import LaneLayout
from viewer.services.timeline_query import from_epoch_ms
from viewer.timeline_filter import TimelineFilter, describe_counts, describe_filters
from viewer.view_range import CALENDAR_END_MS, CALENDAR_START_MS, ViewRange

CONFIDENTIAL = "Confidential clinical record. Store and share only as your practice's policy allows."


def describe_range(view: ViewRange) -> str:
    """``3 Mar 2026 10:00 – 2 Apr 2026 18:30`` (local time); dates only for windows of days or more."""
    # A window may reach a day past the calendar's ends; its edges are named within it.
    edges = [from_epoch_ms(int(min(max(t, CALENDAR_START_MS), CALENDAR_END_MS))) for t in view.edges()]
    shown = [local_or_utc(edge) for edge in edges]
    in_utc = any(utc for _moment, utc in shown)
    # Both in UTC where one end cannot be local (the calendar's first or last hours), said once.
    start, end = (
        from_storage(edge) if in_utc else moment for edge, (moment, _utc) in zip(edges, shown, strict=True)
    )
    with_time = view.span_ms < 4 * 24 * 3600 * 1000
    pattern = "%d %b %Y %H:%M" if with_time else "%d %b %Y"
    text = f"{start.strftime(pattern).lstrip('0')} – {end.strftime(pattern).lstrip('0')}"
    return f"{text} UTC" if in_utc else text


@dataclass(frozen=True)
class ExportCaption:
    title: str
    range_line: str
    filter_line: str
    footer: str

    def lines(self) -> list[str]:
        return [self.title, self.range_line, self.filter_line, self.footer]


def export_caption(
    patient_name: str,
    view: ViewRange,
    flt: TimelineFilter,
    layout: LaneLayout,
    visible_events: int,
    total_events: int,
    in_view: int,
    exported_at: datetime,
) -> ExportCaption:
    """The caption of an export of ``patient_name``'s timeline as the user sees it now.

    The counts read as they do above the lanes: "177 of 197 events in the
    loaded history" after a date range read as 177 inside it, where 15 were.
    """
    shown = describe_counts(total_events, visible_events, in_view)
    filters = describe_filters(flt, layout.hidden)
    stamp = exported_at.astimezone().strftime("%d %b %Y %H:%M").lstrip("0")
    return ExportCaption(
        title=f"{patient_name}: timeline",
        range_line=f"{describe_range(view)} · {shown}",
        filter_line=filters,
        footer=f"Exported from Caseline on {stamp}. {CONFIDENTIAL}",
    )
