"""Finding events fast: which marker is under the mouse, which event comes next.

Built once per patient and filter (O(N)); each question is a binary search
(O(log N)), so hovering stays well under a millisecond at a million events.
Rows are positions in the patient's time-sorted ``TimelineColumns``, so row
order is time order and "next event" means "next visible row".

The index keeps only 4 bytes per visible event (the visible rows as int32)
plus the filter mask, because it lives as long as the view does and the
whole view must fit in about 40 bytes per event (``performance.md``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from viewer.domain import Importance
from viewer.services.timeline_query import TimelineColumns

IntArray = npt.NDArray[np.int64]
RowArray = npt.NDArray[np.int32]


class TimelineIndex:
    """The visible rows (those the filter keeps), for hit-testing, navigation and the pyramid."""

    def __init__(self, columns: TimelineColumns, mask: npt.NDArray[np.bool_]) -> None:
        self.columns = columns
        self.mask = mask
        self.visible_rows: RowArray = np.flatnonzero(mask).astype(np.int32)
        critical = columns.importance[self.visible_rows] == int(Importance.CRITICAL)
        self.critical_rows: RowArray = self.visible_rows[critical]

    def __len__(self) -> int:
        return int(self.visible_rows.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.mask.nbytes + self.visible_rows.nbytes + self.critical_rows.nbytes)

    def position(self, row: int) -> int:
        """How many visible rows come before ``row``."""
        # An int32 needle: a Python int would make numpy convert the whole int32 array first.
        return int(np.searchsorted(self.visible_rows, np.int32(row), side="left"))

    def rows_between(self, lo_row: int, hi_row: int) -> IntArray:
        """Visible rows in ``[lo_row, hi_row)``."""
        return self.visible_rows[self.position(lo_row) : self.position(hi_row)].astype(np.int64)

    def critical_between(self, lo_row: int, hi_row: int) -> IntArray:
        """Visible critical rows in ``[lo_row, hi_row)``."""
        a = int(np.searchsorted(self.critical_rows, np.int32(lo_row), side="left"))
        b = int(np.searchsorted(self.critical_rows, np.int32(hi_row), side="left"))
        return self.critical_rows[a:b].astype(np.int64)

    def nearest(self, time_ms: float, lane: int, tolerance_ms: float) -> int | None:
        """The visible row in ``lane`` closest in time to ``time_ms``, if within the tolerance."""
        times = self.columns.time_ms
        # Integer needles: a float needle would make numpy convert the whole int64 column first.
        lo = int(np.searchsorted(times, math.ceil(time_ms - tolerance_ms), side="left"))
        hi = int(np.searchsorted(times, math.floor(time_ms + tolerance_ms), side="right"))
        if lo >= hi:
            return None
        candidates = np.flatnonzero((self.columns.lane[lo:hi] == lane) & self.mask[lo:hi])
        if not len(candidates):
            return None
        distance = np.abs(times[lo:hi][candidates].astype(np.float64) - time_ms)
        best = int(np.argmin(distance))
        if distance[best] > tolerance_ms:
            return None
        return lo + int(candidates[best])

    def same_moment(self, row: int) -> IntArray:
        """The visible rows in ``row``'s lane at exactly its time, ascending: one marker on screen."""
        times, lanes = self.columns.time_ms, self.columns.lane
        lo = int(np.searchsorted(times, times[row], side="left"))
        hi = int(np.searchsorted(times, times[row], side="right"))
        return (np.flatnonzero((lanes[lo:hi] == lanes[row]) & self.mask[lo:hi]) + lo).astype(np.int64)

    def next_row(self, after_row: int | None, from_time_ms: float | None = None) -> int | None:
        """The first visible row after ``after_row``; with no row, the first at or after ``from_time_ms``."""
        if after_row is not None:
            at = int(np.searchsorted(self.visible_rows, np.int32(after_row), side="right"))
        elif from_time_ms is not None:
            row = int(np.searchsorted(self.columns.time_ms, math.ceil(from_time_ms), side="left"))
            at = self.position(row)
        else:
            at = 0
        return int(self.visible_rows[at]) if at < len(self.visible_rows) else None

    def previous_row(self, before_row: int | None, from_time_ms: float | None = None) -> int | None:
        """The last visible row before ``before_row``; with no row, the last at or before ``from_time_ms``."""
        if before_row is not None:
            at = self.position(before_row) - 1
        elif from_time_ms is not None:
            row = int(np.searchsorted(self.columns.time_ms, math.floor(from_time_ms), side="right"))
            at = self.position(row) - 1
        else:
            at = len(self.visible_rows) - 1
        return int(self.visible_rows[at]) if at >= 0 else None

    def step_in(self, rows: IntArray, current: int | None, step: int) -> int | None:
        """Next (+1) or previous (-1) of a sorted subset of rows (search matches), wrapping around."""
        if not len(rows):
            return None
        if current is None:
            return int(rows[0] if step > 0 else rows[-1])
        if step > 0:
            at = int(np.searchsorted(rows, current, side="right"))
            return int(rows[at % len(rows)])
        at = int(np.searchsorted(rows, current, side="left")) - 1
        return int(rows[at % len(rows)])
