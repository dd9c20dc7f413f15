"""The visible time window of the timeline, and how gestures change it.

Qt-free so the zoom rules are testable without a window: wheel and key zooms
keep the time under the cursor where it is, pans move by a fraction of the
window, stepping to an event moves the window only as far as needed,
presets centre on the selected event or end at the latest one, and every
window stays within the history plus some room (``with_room``).  Times
are epoch milliseconds (floats, so sub-millisecond zoom arithmetic is exact
enough and never overflows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

MINUTE_MS = 60_000.0
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
MONTH_MS = 30.436875 * DAY_MS  # mean Gregorian month
YEAR_MS = 365.2425 * DAY_MS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The years 1 to 9999 (UTC) that Python's calendar and the editor know: every stored event is in them.
CALENDAR_START_MS = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) / timedelta(milliseconds=1)
CALENDAR_END_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) / timedelta(
    milliseconds=1
)
# The times a window may show: the calendar and a day past each end, so an event on 31 Dec 9999 can be
# centred like any other (at the very edge its marker was cut in half, or out of sight in a day view).
# What names a window's edges keeps them within the calendar (viewer.export_caption.describe_range).
EARLIEST_MS = CALENDAR_START_MS - DAY_MS
LATEST_MS = CALENDAR_END_MS + DAY_MS
MIN_SPAN_MS = 10 * MINUTE_MS
# Wide enough for any history: with 200 years, one event mistyped as 2926 left "All" on an empty
# stretch of the 2400s and the rest of the timeline out of reach.
MAX_SPAN_MS = LATEST_MS - EARLIEST_MS
ZOOM_STEP = 1.25  # one key press or wheel notch
PAN_STEP = 0.1  # one arrow press: a tenth of the window
COVER_MARGIN = 0.03  # "All" leaves this fraction of its span empty at each end
EDGE_MARGIN = 0.02  # an event this close to an edge is in view; must be less than COVER_MARGIN
ROOM_MARGIN = 0.25  # pan and zoom may reach this fraction of the history's span beyond it
MIN_ROOM_MS = 1.05 * YEAR_MS  # ... and at least this much time in all, so every preset fits
assert EDGE_MARGIN < COVER_MARGIN


class Preset(Enum):
    DAY = "1 day"
    WEEK = "1 week"
    MONTH = "1 month"
    YEAR = "1 year"
    ALL = "All"

    @property
    def span_ms(self) -> float | None:
        return {Preset.DAY: DAY_MS, Preset.WEEK: WEEK_MS, Preset.MONTH: MONTH_MS, Preset.YEAR: YEAR_MS}.get(
            self
        )


@dataclass(frozen=True)
class ViewRange:
    """A half-open window ``[start_ms, end_ms)`` of epoch milliseconds."""

    start_ms: float
    end_ms: float

    def __post_init__(self) -> None:
        if not self.end_ms > self.start_ms:
            raise ValueError("a view range must have a positive span")

    @property
    def span_ms(self) -> float:
        return self.end_ms - self.start_ms

    @property
    def centre_ms(self) -> float:
        return (self.start_ms + self.end_ms) / 2

    @classmethod
    def around(cls, centre_ms: float, span_ms: float) -> ViewRange:
        span = min(max(span_ms, MIN_SPAN_MS), MAX_SPAN_MS)
        return cls(centre_ms - span / 2, centre_ms + span / 2)

    @classmethod
    def covering(cls, first_ms: float, last_ms: float, margin: float = COVER_MARGIN) -> ViewRange:
        """The whole history with a small margin; a single event gets a day around it."""
        span = max(last_ms - first_ms, DAY_MS)
        return cls.around((first_ms + last_ms) / 2, span * (1 + 2 * margin)).within_calendar()

    def within_calendar(self) -> ViewRange:
        """This window cut to the times a calendar can name (years 1 to 9999)."""
        if self.start_ms >= EARLIEST_MS and self.end_ms <= LATEST_MS:
            return self
        start, end = max(self.start_ms, EARLIEST_MS), min(self.end_ms, LATEST_MS)
        if end - start < MIN_SPAN_MS:  # wholly outside: the nearest end of the calendar
            start = min(max(start, EARLIEST_MS), LATEST_MS - MIN_SPAN_MS)
            end = start + MIN_SPAN_MS
        return ViewRange(start, end)

    @classmethod
    def of_history(cls, first_ms: float, last_ms: float, now_ms: float) -> ViewRange:
        """The "All" view: every event, and today too when the history is recent.

        Recent means today lies no further past the last event than the history
        is long (or a month, for a short one): a therapist then sees how long
        ago the last event was.  An old, closed history is shown alone, rather
        than squeezed into a corner of years of empty time.
        """
        recent = first_ms <= now_ms and now_ms - last_ms <= max(last_ms - first_ms, MONTH_MS)
        return cls.covering(first_ms, max(last_ms, now_ms) if recent else last_ms)

    def with_room(self) -> ViewRange:
        """How far pan and zoom may go around this "All" view.

        A quarter of the history's span on each side (there is nothing to see
        further out, and a wheel spun too far used to land in 1926-2126), and
        at least a year in all so every preset fits even a short history.
        """
        extra = max(self.span_ms * ROOM_MARGIN, (MIN_ROOM_MS - self.span_ms) / 2)
        return ViewRange(self.start_ms - extra, self.end_ms + extra).within_calendar()

    def clamped(self, bounds: ViewRange | None) -> ViewRange:
        """This window made to fit ``bounds`` (or the calendar): moved, not shrunk, inside.

        A window wider than the bounds keeps what it shows of them: dragging
        the overview box's left edge past the start stops it there and leaves
        the right edge where it was (re-centring used to move that too).
        """
        limits = (bounds if bounds is not None else _CALENDAR).within_calendar()
        span = max(self.span_ms, MIN_SPAN_MS)
        if span > limits.span_ms:
            start, end = max(self.start_ms, limits.start_ms), min(self.end_ms, limits.end_ms)
            if end - start >= MIN_SPAN_MS:
                return ViewRange(start, end)
            return limits
        start = self.centre_ms - span / 2 if span != self.span_ms else self.start_ms
        start = min(max(start, limits.start_ms), limits.end_ms - span)
        if start == self.start_ms and span == self.span_ms:
            return self
        return ViewRange(start, start + span)

    def zoomed(self, factor: float, anchor_ms: float | None = None) -> ViewRange:
        """Scale the span by ``factor`` (< 1 zooms in) keeping ``anchor_ms`` fixed on screen."""
        anchor = self.centre_ms if anchor_ms is None else anchor_ms
        new_span = min(max(self.span_ms * factor, MIN_SPAN_MS), MAX_SPAN_MS)
        ratio = (anchor - self.start_ms) / self.span_ms
        start = anchor - ratio * new_span
        return ViewRange(start, start + new_span)

    def zoom_in(self, anchor_ms: float | None = None) -> ViewRange:
        return self.zoomed(1 / ZOOM_STEP, anchor_ms)

    def zoom_out(self, anchor_ms: float | None = None) -> ViewRange:
        return self.zoomed(ZOOM_STEP, anchor_ms)

    def panned(self, fraction: float) -> ViewRange:
        """Move by ``fraction`` of the span (positive: later in time)."""
        shift = self.span_ms * fraction
        return ViewRange(self.start_ms + shift, self.end_ms + shift)

    def preset(
        self,
        preset: Preset,
        history: ViewRange | None,
        *,
        anchor_ms: float | None = None,
        latest_ms: float | None = None,
        now_ms: float | None = None,
    ) -> ViewRange:
        """The window a preset button shows.

        Centred on ``anchor_ms`` (the selected event) if given.  Else it ends
        at today (``now_ms``) when that still shows the latest event
        (``latest_ms``), or just after the latest event when today is further
        off: "the last month" of the history, never an empty stretch before
        today.  With neither, around the current centre.
        """
        span = preset.span_ms
        if span is None:
            return history if history is not None else self
        if anchor_ms is not None:
            return ViewRange.around(anchor_ms, span)
        if latest_ms is not None:
            end_at = latest_ms
            if now_ms is not None and latest_ms <= now_ms <= latest_ms + span * (1 - 2 * COVER_MARGIN):
                end_at = now_ms
            end = end_at + span * COVER_MARGIN
            return ViewRange(end - span, end)
        return ViewRange.around(self.centre_ms, span)

    def edges(self) -> tuple[float, float]:
        return self.start_ms, self.end_ms

    def contains(self, moment_ms: float) -> bool:
        return self.start_ms <= moment_ms < self.end_ms

    def showing(self, moment_ms: float) -> ViewRange:
        """The same span, moved just enough to bring ``moment_ms`` into view (with a small margin).

        A moment already in view (the "All" view shows every event, its margin
        being wider than this one) moves nothing; one just past an edge slides
        the window by as little as needed, so stepping along a lane scrolls
        smoothly; one further than a whole window away is centred, since
        nothing around the old view is worth keeping on screen.
        """
        margin = self.span_ms * EDGE_MARGIN
        if self.start_ms + margin <= moment_ms <= self.end_ms - margin:
            return self
        if moment_ms < self.start_ms - self.span_ms or moment_ms > self.end_ms + self.span_ms:
            return ViewRange.around(moment_ms, self.span_ms)
        if moment_ms < self.start_ms + margin:
            start = moment_ms - margin
        else:
            start = moment_ms + margin - self.span_ms
        return ViewRange(start, start + self.span_ms)


_CALENDAR = ViewRange(EARLIEST_MS, LATEST_MS)
