"""Local wall-clock times and the moments they name, daylight saving time included.

The editor shows and takes the machine's local wall-clock time.  Twice a year
that is not one-to-one: on the night the clocks go forward an hour of wall
times never happens, and on the night they go back an hour happens twice.
Qt's date editor, left to its own zone rules, silently kept the last time it
had shown when a user typed one from the gap, and read a time in the repeated
hour as its first occurrence, so an event could move by an hour without a
word.  So the editor edits the wall time itself (a naive value) and this
module says which moment it names, which of two, or why there is none.

Python's own local-time conversion (``astimezone`` on a naive value, with
``fold`` choosing between the two readings of a repeated time, PEP 495) does
the zone arithmetic, so the answer follows ``TZ`` exactly as the rest of the
app does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from viewer.domain import ValidationError


class NoSuchLocalTime(ValidationError):
    """A wall-clock time that does not happen here (the hour skipped when the clocks go forward)."""

    def __init__(self, wall: datetime, instead: datetime | None) -> None:
        if instead is None:
            super().__init__("event_date", "is outside the years 1 to 9999 in UTC")
        else:
            super().__init__(
                "event_date",
                f"is in the hour the clocks skip: {wall:%H:%M} on {wall.day} {wall:%b %Y} does not exist here;"
                f" did you mean {instead:%H:%M}?",
            )
        self.instead = instead


def _reading(wall: datetime, fold: int) -> datetime:
    """``wall`` read as local time with ``fold`` (0: the first reading of a repeated time)."""
    return wall.replace(fold=fold).astimezone()


def moment_of(wall: datetime, *, second: bool = False) -> datetime:
    """The aware moment the naive local wall time ``wall`` names.

    ``second`` picks the later of a wall time that happens twice; it changes
    nothing for any other time.  Raises :class:`NoSuchLocalTime` for a wall
    time in the gap the clocks skip (or beyond what can be stored).
    """
    try:
        moment = _reading(wall, 1 if second else 0)
    except (OverflowError, ValueError, OSError):
        raise NoSuchLocalTime(wall, None) from None
    if moment.replace(tzinfo=None) != wall.replace(fold=0):
        # In the gap the two readings land either side of it; the later is the time the clocks show.
        other = _reading(wall, 0 if second else 1)
        raise NoSuchLocalTime(wall, max(moment, other).replace(tzinfo=None))
    return moment


def is_repeated(wall: datetime) -> bool:
    """Whether the naive local wall time ``wall`` happens twice (the hour the clocks go back)."""
    try:
        first, second = _reading(wall, 0), _reading(wall, 1)
    except (OverflowError, ValueError, OSError):
        return False
    same_wall = first.replace(tzinfo=None) == second.replace(tzinfo=None) == wall.replace(fold=0)
    return same_wall and first.utcoffset() != second.utcoffset()


def wall_of(moment: datetime) -> tuple[datetime, bool]:
    """The naive local wall time showing the aware ``moment``, and whether it is that time's second occurrence."""
    try:
        local = moment.astimezone()
    except OverflowError:  # the calendar's first or last hours, locally year 0 or 10000: as given
        return moment.replace(tzinfo=None, fold=0), False
    wall = local.replace(tzinfo=None, fold=0)
    second = is_repeated(wall) and _reading(wall, 1) == moment
    return wall, second


def utc_offset_text(moment: datetime) -> str:
    """``UTC+02:00``: how far local time was from UTC at ``moment``, to tell two occurrences apart."""
    offset = moment.astimezone().utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
