"""Calendar-aware ticks for the time axis: minutes to centuries, in local time.

A therapist reads "Tue 3 Mar" or "March 2026", never "1772539200": ticks fall
on local midnights, Mondays, first days of months and New Year, and the
labels say so.  The step is the finest calendar unit whose labels still fit
(``min_label_px`` apart); the next finer unit gives unlabelled minor ticks.

Times are epoch milliseconds.  ``tz`` is a ``tzinfo`` (tests pass a zone with
daylight saving); ``None`` means the machine's local zone, through naive
local datetimes, which Python converts with the platform's DST rules.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import Enum

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
MAX_TICKS = 400  # a guard: no window ever asks for more
EDGE_FRACTION = 0.02  # ticks this close to either end of the window are not labelled on screen
DATED_LABEL_PX = 110  # "Mon 13 Oct, 03:00" on screen, a little room included
CLOCK_LABEL_PX = 48  # "03:00", as the minute and hour units budget it


class Base(Enum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True)
class TickUnit:
    """A calendar step: ``step`` of ``base``, about ``approx_ms`` long, labels about ``label_px`` wide."""

    base: Base
    step: int
    approx_ms: float
    label_px: int

    def label(self, moment: datetime) -> str:
        """The tick label of a local moment at this unit."""
        if self.base in (Base.MINUTE, Base.HOUR):
            if moment.hour == 0 and moment.minute == 0:
                return f"{moment:%a} {moment.day} {moment:%b}"
            return f"{moment:%H:%M}"
        if self.base is Base.DAY or self.base is Base.WEEK:
            if moment.month == 1 and moment.day <= (7 if self.base is Base.WEEK else self.step):
                return f"{moment.day} {moment:%b %Y}"
            return (
                f"{moment:%a} {moment.day} {moment:%b}"
                if self.base is Base.DAY
                else f"{moment.day} {moment:%b}"
            )
        if self.base is Base.MONTH:  # the year at New Year, the month elsewhere: "Nov Dec 2026 Feb"
            return f"{moment.year}" if moment.month == 1 else f"{moment:%b}"
        return f"{moment.year}"


UNITS: tuple[TickUnit, ...] = (
    TickUnit(Base.MINUTE, 1, MINUTE_MS, 48),
    TickUnit(Base.MINUTE, 5, 5 * MINUTE_MS, 48),
    TickUnit(Base.MINUTE, 15, 15 * MINUTE_MS, 48),
    TickUnit(Base.MINUTE, 30, 30 * MINUTE_MS, 48),
    TickUnit(Base.HOUR, 1, HOUR_MS, 48),
    TickUnit(Base.HOUR, 3, 3 * HOUR_MS, 48),
    TickUnit(Base.HOUR, 6, 6 * HOUR_MS, 80),
    TickUnit(Base.HOUR, 12, 12 * HOUR_MS, 80),
    TickUnit(Base.DAY, 1, DAY_MS, 80),
    # Every other day (on even day numbers since 1 Jan 1 AD, so a pan never shifts them): a week in
    # an 800 px lane has no room for seven day labels, and Mondays alone left it with one or none.
    TickUnit(Base.DAY, 2, 2 * DAY_MS, 80),
    TickUnit(Base.WEEK, 1, 7 * DAY_MS, 80),
    TickUnit(Base.MONTH, 1, 30.4 * DAY_MS, 40),  # labels "2026", "Feb"
    TickUnit(Base.MONTH, 3, 91.3 * DAY_MS, 40),
    TickUnit(Base.YEAR, 1, 365.25 * DAY_MS, 44),
    TickUnit(Base.YEAR, 2, 2 * 365.25 * DAY_MS, 44),
    TickUnit(Base.YEAR, 5, 5 * 365.25 * DAY_MS, 44),
    TickUnit(Base.YEAR, 10, 10 * 365.25 * DAY_MS, 44),
    TickUnit(Base.YEAR, 25, 25 * 365.25 * DAY_MS, 44),
    TickUnit(Base.YEAR, 50, 50 * 365.25 * DAY_MS, 44),
    TickUnit(Base.YEAR, 100, 100 * 365.25 * DAY_MS, 44),
    TickUnit(Base.YEAR, 250, 250 * 365.25 * DAY_MS, 44),
    TickUnit(Base.YEAR, 500, 500 * 365.25 * DAY_MS, 44),
    TickUnit(Base.YEAR, 1000, 1000 * 365.25 * DAY_MS, 44),
    TickUnit(Base.YEAR, 2500, 2500 * 365.25 * DAY_MS, 44),
)

_DAILY = next(unit for unit in UNITS if unit.base is Base.DAY and unit.step == 1)
_CALENDAR_START_MS = (datetime(1, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000


def choose_units(span_ms: float, width_px: float, gap_px: int = 24) -> tuple[TickUnit, TickUnit | None]:
    """The finest unit whose labels fit, and the next finer one for minor ticks (if 6+ px apart)."""
    px_per_ms = max(width_px, 1.0) / max(span_ms, 1.0)
    major_at = len(UNITS) - 1
    for at, unit in enumerate(UNITS):
        if unit.approx_ms * px_per_ms >= unit.label_px + gap_px:
            major_at = at
            break
    minor = UNITS[major_at - 1] if major_at > 0 else None
    if minor is not None and UNITS[major_at].base is Base.WEEK:
        minor = _DAILY  # every other day does not divide a week; every day does
    if minor is not None and minor.approx_ms * px_per_ms < 6:
        minor = None
    return UNITS[major_at], minor


def _to_local(time_ms: float, tz: tzinfo | None) -> datetime:
    moment = datetime.fromtimestamp(time_ms / 1000.0, tz)
    return moment.replace(tzinfo=None) if tz is not None else moment


def _to_epoch_ms(local: datetime, tz: tzinfo | None) -> int:
    return round((local.replace(tzinfo=tz) if tz is not None else local).timestamp() * 1000)


def _floor(local: datetime, unit: TickUnit) -> datetime:
    """The last calendar boundary of ``unit`` at or before a local moment."""
    if unit.base is Base.MINUTE:
        return local.replace(minute=local.minute - local.minute % unit.step, second=0, microsecond=0)
    if unit.base is Base.HOUR:
        return local.replace(hour=local.hour - local.hour % unit.step, minute=0, second=0, microsecond=0)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit.base is Base.DAY:
        return midnight - timedelta(days=midnight.toordinal() % unit.step)
    if unit.base is Base.WEEK:
        return midnight - timedelta(days=midnight.weekday())
    if unit.base is Base.MONTH:
        month = (local.month - 1) // unit.step * unit.step + 1
        return midnight.replace(month=month, day=1)
    # There is no year 0: in the first century (millennium) the walk starts at the first boundary.
    return midnight.replace(year=max(local.year // unit.step * unit.step, unit.step), month=1, day=1)


def _advance(local: datetime, unit: TickUnit) -> datetime:
    if unit.base is Base.MINUTE:
        return local + timedelta(minutes=unit.step)
    if unit.base is Base.HOUR:
        return local + timedelta(hours=unit.step)
    if unit.base is Base.DAY:
        return local + timedelta(days=unit.step)
    if unit.base is Base.WEEK:
        return local + timedelta(weeks=unit.step)
    if unit.base is Base.MONTH:
        months = local.month - 1 + unit.step
        return local.replace(year=local.year + months // 12, month=months % 12 + 1)
    return local.replace(year=local.year + unit.step)


def tick_times(
    t0_ms: float, t1_ms: float, unit: TickUnit, tz: tzinfo | None = None, *, labels: bool = True
) -> list[tuple[int, str]]:
    """Ticks of ``unit`` within ``[t0, t1]``: (epoch ms, label), ascending, no repeats.

    With ``labels=False`` the labels are empty (minor ticks and grid lines need none).

    Wall-clock steps across a daylight-saving change can map two local times
    to one instant (or skip one); repeats are dropped.
    """
    out, _complete = _walk(t0_ms, t1_ms, unit, tz, labels)
    if labels and out and unit.base in (Base.MINUTE, Base.HOUR):
        _date_the_first(out, t0_ms, t1_ms, tz)
    return out


def _aligned(local: datetime, unit: TickUnit) -> bool:
    """Whether a local moment sits on a boundary of a clock unit (minutes or hours)."""
    if unit.base is Base.MINUTE:
        return local.minute % unit.step == 0 and local.second == 0 and local.microsecond == 0
    return local.hour % unit.step == 0 and local.minute == 0 and local.second == 0 and local.microsecond == 0


def _walk(
    t0_ms: float, t1_ms: float, unit: TickUnit, tz: tzinfo | None, labels: bool
) -> tuple[list[tuple[int, str]], bool]:
    """The calendar walk behind :func:`tick_times`, and whether it reached ``t1`` (not cut short).

    Every label is the local time of its own instant.  Steps of an hour or
    less walk in real time, so the night the clocks go back shows its repeated
    hour (02:00, 02:30, 02:00, 02:30) and the night they go forward goes from
    01:30 straight to 03:00; a walk of wall times used to label 03:00 "02:00"
    there and leave a 90-minute hole in autumn.  Coarser steps walk the wall
    clock (00:00, 06:00, 12:00 stay put across the change) and skip a wall
    time that does not happen.
    """
    out: list[tuple[int, str]] = []
    # A window may start before local time can name it (year 0, west of Greenwich): walk from the
    # calendar's first moment, or 12 hours in (named in every zone), or its third day.
    # Near the calendar's end the walk's first boundary may itself be past it (year 10000 east of
    # Greenwich): no ticks, rather than an exception inside a paint (which crashed Qt).
    for start in (t0_ms, *(max(t0_ms, _CALENDAR_START_MS + hours * HOUR_MS) for hours in (0, 12, 48))):
        try:
            local = _floor(_to_local(start, tz), unit)
        except (OverflowError, OSError, ValueError):
            continue
        try:
            at = _to_epoch_ms(local, tz)
            break
        except (OverflowError, OSError, ValueError):
            try:  # the boundary before the window is before the calendar: begin at the next one
                local = _advance(local, unit)
                at = _to_epoch_ms(local, tz)
                break
            except (OverflowError, OSError, ValueError):
                continue
    else:
        return out, False
    clock = unit.base in (Base.MINUTE, Base.HOUR)
    real_time = clock and unit.approx_ms <= HOUR_MS
    last = -(2**63)
    while len(out) < MAX_TICKS:
        if at > t1_ms:
            return out, True
        try:
            shown = _to_local(at, tz)
        except (OverflowError, OSError, ValueError):
            break
        if at >= t0_ms and at > last and (not clock or _aligned(shown, unit)):
            out.append((at, unit.label(shown) if labels else ""))
            last = at
        try:
            if real_time and _aligned(shown, unit):
                at += round(unit.approx_ms)
            else:  # a wall-clock step, or back onto the boundaries after an offset of odd minutes
                local = _advance(_floor(shown, unit) if real_time else local, unit)
                at = _to_epoch_ms(local, tz)
        except (OverflowError, ValueError):
            break
    return out, False


Ticks = tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class _Run:
    """All ticks of one unit within ``[start_ms, end_ms]``, walked once for a window and its neighbours."""

    start_ms: float
    end_ms: float
    times: list[int]
    labels: list[str]

    def covers(self, t0_ms: float, t1_ms: float) -> bool:
        return self.start_ms <= t0_ms and t1_ms <= self.end_ms

    def within(self, t0_ms: float, t1_ms: float) -> list[tuple[int, str]]:
        a, b = bisect_left(self.times, t0_ms), bisect_right(self.times, t1_ms)
        return list(zip(self.times[a:b], self.labels[a:b], strict=True))


class TickCache:
    """The ticks of recent windows, so a pan or zoom walks the calendar once every few frames.

    A repaint asks for the same major ticks twice (the axis for its labels, the
    lane background for its grid lines), a repaint without a range change
    (hover, selection) asks again, and each frame of a pan or zoom asks for a
    window overlapping the last one.  So a unit's ticks are walked for the
    window and half its span either side, and later windows inside that are
    answered by slicing it.  With ``tz=None`` the keys hold the local zone's offsets and names as of
    the last ``time.tzset()``, so a changed ``TZ`` is not answered from memory.
    """

    MARGIN = 0.5  # of the window's span, walked on either side

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[object, ...], Ticks] = OrderedDict()
        self._runs: OrderedDict[tuple[object, ...], _Run] = OrderedDict()

    def ticks(
        self, t0_ms: float, t1_ms: float, unit: TickUnit, tz: tzinfo | None = None, *, labels: bool = True
    ) -> Ticks:
        """:func:`tick_times`, remembered."""
        zone = tz if tz is not None else (time.timezone, time.altzone, time.daylight, time.tzname)
        key = (t0_ms, t1_ms, unit, zone, labels)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found
        found = tuple(self._compute(t0_ms, t1_ms, unit, tz, labels, (unit, zone, labels)))
        self._entries[key] = found
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return found

    def _compute(
        self,
        t0_ms: float,
        t1_ms: float,
        unit: TickUnit,
        tz: tzinfo | None,
        labels: bool,
        run_key: tuple[object, ...],
    ) -> list[tuple[int, str]]:
        run = self._runs.get(run_key)
        if run is None or not run.covers(t0_ms, t1_ms):
            margin = (t1_ms - t0_ms) * self.MARGIN
            start, end = t0_ms - margin, t1_ms + margin
            walked, complete = _walk(start, end, unit, tz, labels)
            if complete:
                run = _Run(start, end, [at for at, _ in walked], [label for _, label in walked])
            elif walked and len(walked) >= MAX_TICKS and walked[-1][0] >= t1_ms:
                run = _Run(start, walked[-1][0], [at for at, _ in walked], [label for _, label in walked])
            else:  # near the calendar's ends: walk just the window, as tick_times does
                return tick_times(t0_ms, t1_ms, unit, tz, labels=labels)
            self._runs[run_key] = run
            if len(self._runs) > self.size:
                self._runs.popitem(last=False)
        self._runs.move_to_end(run_key)
        out = run.within(t0_ms, t1_ms)
        if labels and out and unit.base in (Base.MINUTE, Base.HOUR):
            _date_the_first(out, t0_ms, t1_ms, tz)
        return out


def _date_the_first(ticks: list[tuple[int, str]], t0_ms: float, t1_ms: float, tz: tzinfo | None) -> None:
    """A clock-time window says which day it is: its first label carries the date.

    A day view's axis would read only ``03:00 … 21:00`` (the midnights at its
    very edges are not drawn), so the first label inside becomes ``Mon 13 Oct,
    03:00``.  Unless that first label is a midnight's (``Tue 14 Oct``): a
    midnight later in the window names only the day after, and the hours
    before it were left to guesswork.
    """
    edge = (t1_ms - t0_ms) * EDGE_FRACTION
    inside = [i for i, (at, _) in enumerate(ticks) if t0_ms + edge <= at <= t1_ms - edge]
    if not inside or not ticks[inside[0]][1][:1].isdigit():
        return
    at, label = ticks[inside[0]]
    ticks[inside[0]] = (at, _dated(at, label, tz))


def _dated(at: int, label: str, tz: tzinfo | None) -> str:
    moment = _to_local(at, tz)
    return f"{moment:%a} {moment.day} {moment:%b}, {label}"


def fit_dated_label(
    ticks: Ticks | list[tuple[int, str]],
    t0_ms: float,
    t1_ms: float,
    width_px: float,
    tz: tzinfo | None = None,
) -> list[tuple[int, str]]:
    """The ticks with the dated clock label (``Mon 13 Oct, 03:00``) where it has room on screen.

    It is about twice as wide as a clock time.  Centred on a tick near the left
    edge it would be clipped, and the axis drops clipped labels, so the window
    named no day at all; and tight clock ticks ran into it (``13:3313:34``).
    So the date moves to the first clock tick at least half its width from the
    edge (unless a midnight names a day first), and the next label is left out
    where the two would touch.
    """
    out = list(ticks)
    dated = next((i for i, (_, label) in enumerate(out) if ", " in label), None)
    span = t1_ms - t0_ms
    if dated is None or span <= 0 or width_px <= 0:
        return out

    def px(i: int) -> float:
        return (out[i][0] - t0_ms) * width_px / span

    half = DATED_LABEL_PX / 2
    if px(dated) < half:
        at, label = out[dated]
        out[dated] = (at, label.split(", ", 1)[1])
        dated = None
        for i in range(len(out)):
            at, label = out[i]
            if not label[:1].isdigit() and px(i) >= 0:
                break  # a midnight names its day first
            if label and px(i) >= half and px(i) <= width_px - half:
                out[i] = (at, _dated(at, label, tz))
                dated = i
                break
    if dated is not None and dated + 1 < len(out):
        at, label = out[dated + 1]
        if label[:1].isdigit() and px(dated + 1) - px(dated) < half + CLOCK_LABEL_PX / 2:
            out[dated + 1] = (at, "")
    return out
