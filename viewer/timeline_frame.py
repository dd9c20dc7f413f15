"""What one repaint of the timeline draws, decided without Qt.

A frame is either individual markers (few enough events in view) or density
buckets per lane (too many to tell apart), plus a star for every bucket that
holds a critical event, drawn on top at every zoom level, so a critical
event never hides inside a bucket.  The renderer in ``ui/`` only turns a frame into
pixels; this module decides *what* is drawn.

Buckets are power-of-two wide (``2**level`` ms) and aligned to the epoch, so
the buckets of a zoom level are the same whatever the exact window: that is
what lets the level-of-detail pyramid (:mod:`viewer.lod`) precompute them.
A frame shows whole buckets, so the first and last bucket may count events
just outside the window.

:func:`brute_force_frame` computes a frame straight from the columns: it is
the naive path for benchmarks and the oracle the pyramid is tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from viewer.domain import EventType, Importance
from viewer.services.timeline_query import TimelineColumns

MARKERS_PER_PIXEL = 4  # switch to buckets above ~4 markers per horizontal pixel
CRITICAL_MARKER_LIMIT = 20_000
MAX_LEVEL = 48  # 2**48 ms is about 8,900 years: one bucket holds any history
LANE_BITS = 3  # bucket keys are (index << LANE_BITS) | lane
# Stars over density bars are thinned per bucket two levels coarser than the bars (4-8 px wide):
# a star is 16 px wide, so every critical event still lies within half a star of the star drawn
# for it.  The bench's million-event gesture draws 550 stars a frame where one level coarser drew
# 800, each a 32x32 blended sprite at a device pixel ratio of 2 (0.1-0.2 ms of a 3 ms repaint).
STAR_LEVELS_COARSER = 2
assert len(EventType) <= 1 << LANE_BITS

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Buckets:
    """Non-empty buckets: lane, [start_ms, end_ms), event count, highest importance, any private event."""

    lane: npt.NDArray[np.int8]
    start_ms: IntArray
    end_ms: IntArray
    count: npt.NDArray[np.int64]
    max_importance: npt.NDArray[np.int8]
    private: npt.NDArray[np.bool_]

    @classmethod
    def empty(cls) -> Buckets:
        return cls.from_keys(
            np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8), np.empty(0, np.bool_), 0
        )

    @classmethod
    def from_keys(
        cls,
        keys: IntArray,
        count: npt.NDArray[np.integer],
        max_importance: npt.NDArray[np.int8],
        private: npt.NDArray[np.bool_],
        level: int,
    ) -> Buckets:
        """Buckets from sorted keys ``(index << LANE_BITS) | lane`` at ``level``."""
        index = keys >> LANE_BITS
        return cls(
            (keys & ((1 << LANE_BITS) - 1)).astype(np.int8),
            index << level,
            (index + 1) << level,
            count.astype(np.int64),
            max_importance.astype(np.int8),
            private.astype(np.bool_),
        )

    def __len__(self) -> int:
        return int(self.lane.shape[0])

    def starting_in(self, start_ms: int, end_ms: int) -> Buckets:
        """The buckets that start in ``[start_ms, end_ms)``; buckets come sorted by start."""
        a = int(np.searchsorted(self.start_ms, start_ms, side="left"))
        b = int(np.searchsorted(self.start_ms, end_ms, side="left"))
        return Buckets(
            self.lane[a:b],
            self.start_ms[a:b],
            self.end_ms[a:b],
            self.count[a:b],
            self.max_importance[a:b],
            self.private[a:b],
        )


@dataclass(frozen=True)
class Frame:
    """``rows`` are the visible rows to draw as markers, or None when ``buckets`` are drawn instead."""

    rows: IntArray | None
    buckets: Buckets
    critical_rows: IntArray
    visible_count: int
    level: int


def bucket_level(t0_ms: float, t1_ms: float, width_px: int) -> int:
    """The finest power-of-two bucket no narrower than one pixel of the window."""
    per_pixel = max((t1_ms - t0_ms) / max(width_px, 1), 1.0)
    return min(max(0, math.ceil(math.log2(per_pixel))), MAX_LEVEL)


def visible_bounds(time_ms: npt.NDArray[np.int64], t0_ms: float, t1_ms: float) -> tuple[int, int]:
    """Row range ``[lo, hi)`` of sorted times within ``[t0, t1)``."""
    lo = int(np.searchsorted(time_ms, math.ceil(t0_ms), side="left"))
    hi = int(np.searchsorted(time_ms, math.ceil(t1_ms), side="left"))
    return lo, hi


def bucket_span(t0_ms: float, t1_ms: float, level: int) -> tuple[int, int]:
    """The first and last bucket index at ``level`` that the window ``[t0, t1)`` touches."""
    first = math.ceil(t0_ms) >> level
    last = max(math.ceil(t1_ms) - 1, math.ceil(t0_ms)) >> level
    return first, last


def bucket_keys(time_ms: IntArray, lane: npt.NDArray[np.int8], level: int) -> IntArray:
    """Each event's bucket key at ``level``; sorted times give keys sorted up to ties in a bucket."""
    return ((time_ms >> level) << LANE_BITS) | lane.astype(np.int64)


def bin_rows(columns: TimelineColumns, rows: IntArray, level: int) -> Buckets:
    """Count, highest importance and privacy per (lane, bucket) of ``rows``, straight from the rows.

    Rows are time-sorted, so their buckets span a known range; when that range
    is small (a window's worth, the usual case) the buckets are tallied in a
    dense array with ``bincount`` (a few ms at a million rows), else sorted.
    """
    if not len(rows):
        return Buckets.empty()
    time_ms = columns.time_ms[rows]
    lane = columns.lane[rows].astype(np.int64)
    importance = columns.importance[rows]
    private = columns.is_private[rows]
    first = int(time_ms[0]) >> level
    cells = ((int(time_ms[-1]) >> level) - first + 1) << LANE_BITS
    if cells > 4 * len(rows) + 4096:
        keys = bucket_keys(time_ms, columns.lane[rows], level)
        unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        max_imp = np.full(len(unique), -1, dtype=np.int8)
        np.maximum.at(max_imp, inverse, importance)
        any_private = np.zeros(len(unique), dtype=np.bool_)
        any_private[inverse[private]] = True
        return Buckets.from_keys(unique, counts, max_imp, any_private, level)
    levels = len(Importance)
    bucket = (((time_ms >> level) - first) << LANE_BITS) | lane
    cell = bucket * levels + importance
    # One pass: events per (bucket, lane, importance); the count and the highest level fall out.
    tally = np.bincount(cell, minlength=cells * levels).reshape(cells, levels)
    counts = tally.sum(axis=1)
    max_imp = ((levels - 1) - np.argmax(tally[:, ::-1] > 0, axis=1)).astype(np.int8)
    any_private = np.zeros(cells, dtype=np.bool_)
    any_private[bucket[private]] = True
    occupied = np.flatnonzero(counts)
    keys = occupied.astype(np.int64) + (first << LANE_BITS)
    return Buckets.from_keys(keys, counts[occupied], max_imp[occupied], any_private[occupied], level)


def rows_in_window(rows: IntArray, columns: TimelineColumns, t0_ms: float, t1_ms: float) -> IntArray:
    """The rows of a sorted subset (search matches) whose events fall in ``[t0, t1)``."""
    lo, hi = visible_bounds(columns.time_ms, t0_ms, t1_ms)
    a, b = np.searchsorted(rows, lo, side="left"), np.searchsorted(rows, hi, side="left")
    return rows[int(a) : int(b)]


def star_level(level: int) -> int:
    """The bucket level stars are thinned at when the bars are at ``level``."""
    return min(level + STAR_LEVELS_COARSER, MAX_LEVEL)


def one_critical_per_bucket(columns: TimelineColumns, critical: IntArray, level: int) -> IntArray:
    """The first critical event of each (lane, bucket): stars a pixel apart would hide each other anyway.

    Over density bars the buckets are :func:`star_level`'s, 4-8 px wide: every
    critical event in the window still lies under a drawn star (16 px wide),
    so none hides, and a year of daily critical check-ins costs a few hundred sprites, not 10,000.
    The same thinning serves any marked subset drawn over density bars (search matches).
    """
    if len(critical) < 2:
        return critical
    keys = bucket_keys(columns.time_ms[critical], columns.lane[critical], level)
    _, first = np.unique(keys, return_index=True)
    return critical[np.sort(first)][:CRITICAL_MARKER_LIMIT]


def brute_force_frame(
    columns: TimelineColumns,
    mask: npt.NDArray[np.bool_],
    t0_ms: float,
    t1_ms: float,
    width_px: int,
) -> Frame:
    """The frame for the window ``[t0, t1)`` at ``width_px``, computed directly from the rows."""
    lo, hi = visible_bounds(columns.time_ms, t0_ms, t1_ms)
    rows = (lo + np.flatnonzero(mask[lo:hi])).astype(np.int64)
    critical = rows[columns.importance[rows] == int(Importance.CRITICAL)]
    level = bucket_level(t0_ms, t1_ms, width_px)
    if len(rows) <= MARKERS_PER_PIXEL * max(width_px, 1):
        return Frame(rows, Buckets.empty(), critical[:CRITICAL_MARKER_LIMIT], len(rows), level)
    critical = one_critical_per_bucket(columns, critical, star_level(level))
    first, last = bucket_span(t0_ms, t1_ms, level)
    b_lo = int(np.searchsorted(columns.time_ms, first << level, side="left"))
    b_hi = int(np.searchsorted(columns.time_ms, (last + 1) << level, side="left"))
    in_buckets = (b_lo + np.flatnonzero(mask[b_lo:b_hi])).astype(np.int64)
    return Frame(None, bin_rows(columns, in_buckets, level), critical, len(rows), level)
