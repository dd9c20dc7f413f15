"""Finding events fast: which marker is under the mouse, which event comes next.

Built once per patient and filter (O(N)); each question is a binary search
(O(log N)), so hovering stays well under a millisecond at a million events.
Rows are positions in the patient's time-sorted ``TimelineColumns``, so row
order is time order and "next event" means "next visible row".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from viewer.domain import EventType
from viewer.services.timeline_query import TimelineColumns

IntArray = npt.NDArray[np.int64]


class TimelineIndex:
    """Visible rows overall and per lane, for hit-testing and keyboard navigation."""

    def __init__(self, columns: TimelineColumns, mask: npt.NDArray[np.bool_]) -> None:
        self.columns = columns
        self.visible_rows: IntArray = np.flatnonzero(mask).astype(np.int64)
        lanes = columns.lane[self.visible_rows]
        self._lane_rows: list[IntArray] = [self.visible_rows[lanes == lane] for lane in range(len(EventType))]
        self._lane_times = [columns.time_ms[rows] for rows in self._lane_rows]

    def __len__(self) -> int:
        return int(self.visible_rows.shape[0])

    def nearest(self, time_ms: float, lane: int, tolerance_ms: float) -> int | None:
        """The visible row in ``lane`` closest in time to ``time_ms``, if within the tolerance."""
        if not 0 <= lane < len(self._lane_rows):
            return None
        times = self._lane_times[lane]
        if not len(times):
            return None
        at = int(np.searchsorted(times, time_ms))
        best: int | None = None
        best_distance = tolerance_ms
        for candidate in (at - 1, at):
            if 0 <= candidate < len(times):
                distance = abs(float(times[candidate]) - time_ms)
                if distance <= best_distance:
                    best, best_distance = candidate, distance
        return None if best is None else int(self._lane_rows[lane][best])

    def next_row(self, after_row: int | None, from_time_ms: float | None = None) -> int | None:
        """The first visible row after ``after_row``; with no row, the first at or after ``from_time_ms``."""
        if after_row is not None:
            at = int(np.searchsorted(self.visible_rows, after_row, side="right"))
        elif from_time_ms is not None:
            at = int(np.searchsorted(self.columns.time_ms[self.visible_rows], from_time_ms, side="left"))
        else:
            at = 0
        return int(self.visible_rows[at]) if at < len(self.visible_rows) else None

    def previous_row(self, before_row: int | None, from_time_ms: float | None = None) -> int | None:
        """The last visible row before ``before_row``; with no row, the last before ``from_time_ms``."""
        if before_row is not None:
            at = int(np.searchsorted(self.visible_rows, before_row, side="left")) - 1
        elif from_time_ms is not None:
            at = int(np.searchsorted(self.columns.time_ms[self.visible_rows], from_time_ms, side="right")) - 1
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
