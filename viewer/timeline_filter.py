"""Which events the timeline shows (types, minimum importance, privacy, dates) and which it highlights.

A filter is a value; applying it to the columns gives a boolean mask, so the
drawing layer never needs to know why an event is hidden.  Text search runs in
the database (titles are not in the columns) and arrives as the set of
matching rows.  It does not hide the rest: like a find in a document, the
matches are highlighted among dimmed neighbours, so a therapist sees what
happened around each match, and the mask (and the pyramid built on it) does
not change while they type.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np
import numpy.typing as npt

from viewer.domain import EventType, Importance, to_local
from viewer.services.timeline_query import TimelineColumns, from_epoch_ms
from viewer.wording import count_of

ALL_TYPES: frozenset[EventType] = frozenset(EventType)


class PrivateMode(Enum):
    SHOWN = "shown"
    HIDDEN = "hidden"
    ONLY = "only"


@dataclass(frozen=True)
class TimelineFilter:
    types: frozenset[EventType] = ALL_TYPES
    min_importance: Importance = Importance.LOW
    private: PrivateMode = PrivateMode.SHOWN
    start_ms: int | None = None
    end_ms: int | None = None
    text: str = ""
    # Rows whose title matches ``text`` (from the database); None while unknown or with no text.
    text_rows: npt.NDArray[np.int64] | None = field(default=None, compare=False)

    @property
    def is_default(self) -> bool:
        return (
            self.types == ALL_TYPES
            and self.min_importance is Importance.LOW
            and self.private is PrivateMode.SHOWN
            and self.start_ms is None
            and self.end_ms is None
            and not self.text.strip()
        )

    def with_text_rows(self, rows: npt.NDArray[np.int64] | None) -> TimelineFilter:
        return replace(self, text_rows=rows)

    def mask(self, columns: TimelineColumns) -> npt.NDArray[np.bool_]:
        """True for each event the filter lets through."""
        keep = np.ones(len(columns), dtype=np.bool_)
        if self.types != ALL_TYPES:
            lanes = np.array(sorted(t.lane for t in self.types), dtype=np.int8)
            keep &= np.isin(columns.lane, lanes)
        if self.min_importance > Importance.LOW:
            keep &= columns.importance >= int(self.min_importance)
        if self.private is PrivateMode.HIDDEN:
            keep &= ~columns.is_private
        elif self.private is PrivateMode.ONLY:
            keep &= columns.is_private
        if self.start_ms is not None:
            keep &= columns.time_ms >= self.start_ms
        if self.end_ms is not None:
            keep &= columns.time_ms < self.end_ms
        return keep

    @property
    def searching(self) -> bool:
        """A title search is active and its matches are known (they are highlighted, not filtered)."""
        return bool(self.text.strip()) and self.text_rows is not None

    def describe(self) -> str:
        """The filter in plain words, for the line above the timeline."""
        if self.is_default:
            return "Showing all events"
        parts: list[str] = []
        if self.types != ALL_TYPES:
            names = [t.label.lower() for t in EventType if t in self.types]
            parts.append("only " + ", ".join(names) if names else "no event types ticked")
        if self.min_importance > Importance.LOW:
            parts.append(f"importance {self.min_importance.label.lower()} or more")
        if self.private is PrivateMode.HIDDEN:
            parts.append("private events hidden")
        elif self.private is PrivateMode.ONLY:
            parts.append("only private events")
        if self.start_ms is not None and self.end_ms is not None:
            parts.append(f"from {_day(self.start_ms)} to {_day(self.end_ms - 1)}")
        elif self.start_ms is not None:
            parts.append(f"from {_day(self.start_ms)}")
        elif self.end_ms is not None:
            parts.append(f"until {_day(self.end_ms - 1)}")
        search = f"highlighting titles containing “{self.text.strip()}”" if self.text.strip() else ""
        if not parts:
            return search[0].upper() + search[1:]
        return "Filtered: " + "; ".join(parts) + (f"; {search}" if search else "")


def _day(time_ms: int) -> str:
    """``1 Mar 2025``: the local date of a moment (an end bound is passed as its last millisecond)."""
    local = to_local(from_epoch_ms(time_ms))
    return f"{local.day} {local:%b %Y}"


def describe_filters(flt: TimelineFilter, hidden_lanes: tuple[EventType, ...]) -> str:
    """The filter and the hidden lanes in plain words: a hidden lane hides its events like a filter."""
    if not hidden_lanes:
        return flt.describe()
    lanes = "hidden lanes: " + ", ".join(t.label for t in hidden_lanes)
    if flt.is_default:
        return lanes[0].upper() + lanes[1:]
    return f"{flt.describe()} · {lanes}"


def describe_counts(total: int, matching: int, in_view: int) -> str:
    """The event counts above the timeline, each named for what it counts.

    ``total`` events were loaded, ``matching`` pass the filters, ``in_view``
    of those fall inside the window on screen.
    """
    if not total:
        return "no events"
    shown = (
        count_of(total, "event")
        if matching == total
        else f"{matching} of {count_of(total, 'event')} "
        + ("matches" if matching == 1 else "match")
        + " the filters"
    )
    if not matching:
        return shown
    return f"{shown} · {'all' if in_view == matching else in_view} in view"
