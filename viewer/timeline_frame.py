"""What one repaint of the timeline draws, decided without Qt.

A frame is either individual markers (few enough events in view) or density
buckets per lane (too many to tell apart), plus the critical events in view,
which are drawn as markers at every zoom level so a critical event never
hides inside a bucket.  The renderer in ``ui/`` only turns a frame into
pixels; this module decides *what* is drawn and is tested against brute force.

:func:`brute_force_frame` computes a frame straight from the columns: it is
the naive baseline for benchmarks and the oracle for tests.  The level-of-
detail pyramid (:mod:`viewer.lod`) produces the same frames in time that does
not grow with the number of events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from viewer.domain import Importance
from viewer.services.timeline_query import TimelineColumns

MARKERS_PER_PIXEL = 4  # switch to buckets above ~4 markers per horizontal pixel
CRITICAL_MARKER_LIMIT = 20_000

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Buckets:
    """Non-empty buckets: lane, [start_ms, end_ms), event count and highest importance."""

    lane: npt.NDArray[np.int8]
    start_ms: IntArray
    end_ms: IntArray
    count: npt.NDArray[np.int64]
    max_importance: npt.NDArray[np.int8]

    @classmethod
    def empty(cls) -> Buckets:
        return cls(
            np.empty(0, np.int8),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            np.empty(0, np.int8),
        )

    def __len__(self) -> int:
        return int(self.lane.shape[0])


@dataclass(frozen=True)
class Frame:
    """``rows`` are the visible rows to draw as markers, or None when ``buckets`` are drawn instead."""

    rows: IntArray | None
    buckets: Buckets
    critical_rows: IntArray
    visible_count: int


def visible_bounds(time_ms: npt.NDArray[np.int64], t0_ms: float, t1_ms: float) -> tuple[int, int]:
    """Row range ``[lo, hi)`` of sorted times within ``[t0, t1)``."""
    lo = int(np.searchsorted(time_ms, np.ceil(t0_ms), side="left"))
    hi = int(np.searchsorted(time_ms, np.ceil(t1_ms), side="left"))
    return lo, hi


def brute_force_frame(
    columns: TimelineColumns,
    mask: npt.NDArray[np.bool_],
    t0_ms: float,
    t1_ms: float,
    width_px: int,
) -> Frame:
    """The frame for the window ``[t0, t1)`` at ``width_px``, computed directly from the rows."""
    lo, hi = visible_bounds(columns.time_ms, t0_ms, t1_ms)
    rows = lo + np.flatnonzero(mask[lo:hi])
    critical = rows[columns.importance[rows] == int(Importance.CRITICAL)][:CRITICAL_MARKER_LIMIT]
    if len(rows) <= MARKERS_PER_PIXEL * max(width_px, 1):
        return Frame(rows.astype(np.int64), Buckets.empty(), critical.astype(np.int64), len(rows))
    bucket_ms = max((t1_ms - t0_ms) / max(width_px, 1), 1.0)
    index = np.floor((columns.time_ms[rows] - t0_ms) / bucket_ms).astype(np.int64)
    lanes = columns.lane[rows].astype(np.int64)
    key = lanes * (width_px + 2) + index
    unique, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    max_imp = np.full(len(unique), -1, dtype=np.int8)
    np.maximum.at(max_imp, inverse, columns.importance[rows])
    lane_of = (unique // (width_px + 2)).astype(np.int8)
    start = np.floor(t0_ms + (unique % (width_px + 2)) * bucket_ms).astype(np.int64)
    buckets = Buckets(
        lane_of, start, (start + np.ceil(bucket_ms)).astype(np.int64), counts.astype(np.int64), max_imp
    )
    return Frame(None, buckets, critical.astype(np.int64), len(rows))
