"""The level-of-detail pyramid: any zoom of any history in time that does not grow with it.

Per lane and per power-of-two time bucket (``2**level`` ms, aligned to the
epoch) the pyramid keeps the number of visible events, their highest
importance and whether any is private, for every level from a finest one up
to :data:`MAX_LEVEL`.  A repaint picks the level with about one bucket per
pixel and slices the buckets in view with two binary searches, so drawing a
million events costs what drawing a thousand does.  It is the approach of
Perfetto's timeline cache and of map tile pyramids.

Memory is bounded: a level is stored as sorted keys (``(index << 3) | lane``,
int64), counts (uint32), maximum importance (int8) and whether a private
event is inside (bool, so the lanes can mark it with a lock), 14 bytes per
non-empty bucket, and the finest level is chosen so the whole pyramid stays
within :data:`BUDGET_BYTES_PER_EVENT`.  Windows finer than the finest level
hold few events by construction and are binned from the rows directly; the
binning covers a window's width either side and is kept, so panning at one
zoom slices it again instead of binning every frame.

Critical events are not left to the buckets: the frame draws a star on every
bucket in the window that holds a visible critical event
(:mod:`viewer.timeline_frame`), so no level ever hides one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from viewer.services.timeline_query import TimelineColumns
from viewer.timeline_frame import (
    CRITICAL_MARKER_LIMIT,
    LANE_BITS,
    MARKERS_PER_PIXEL,
    MAX_LEVEL,
    Buckets,
    Frame,
    bin_rows,
    bucket_keys,
    bucket_level,
    bucket_span,
    star_level,
    visible_bounds,
)
from viewer.timeline_index import TimelineIndex

BUDGET_BYTES_PER_EVENT = 6.0
FINE_MARGIN = 1  # buckets binned from the rows reach this many window widths beyond either side
BYTES_PER_BUCKET = 8 + 4 + 1 + 1  # key, count, highest importance, any private

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Level:
    """The non-empty buckets of one level, sorted by key."""

    keys: IntArray
    count: npt.NDArray[np.uint32]
    max_importance: npt.NDArray[np.int8]
    private: npt.NDArray[np.bool_]  # the bucket holds a private event: the lanes mark it with a lock

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.count.nbytes + self.max_importance.nbytes + self.private.nbytes)


def _reduce(
    keys: IntArray,
    count: npt.NDArray[np.uint32],
    max_imp: npt.NDArray[np.int8],
    private: npt.NDArray[np.bool_],
) -> Level:
    """Merge equal keys.  Keys arrive sorted except within a bucket, which a stable sort fixes in O(n)."""
    if not len(keys):
        return Level(keys, count, max_imp, private)
    order = np.argsort(keys, kind="stable")
    keys, count, max_imp, private = keys[order], count[order], max_imp[order], private[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return Level(
        keys[starts],
        np.add.reduceat(count, starts).astype(np.uint32),
        np.maximum.reduceat(max_imp, starts).astype(np.int8),
        np.logical_or.reduceat(private, starts),
    )


def _coarser(level: Level) -> Level:
    """The next level up: bucket index halves, lane stays."""
    lane_mask = (1 << LANE_BITS) - 1
    keys = ((level.keys >> (LANE_BITS + 1)) << LANE_BITS) | (level.keys & lane_mask)
    return _reduce(keys, level.count, level.max_importance, level.private)


def _star_merge_levels(columns: TimelineColumns, critical: npt.NDArray[np.int32]) -> npt.NDArray[np.int8]:
    """Per critical row: the lowest level at which it shares a bucket with its lane's previous critical row.

    Two times share a bucket at ``level`` exactly when they agree above bit
    ``level``, so that level is the bit length of their XOR (``frexp`` gives it
    exactly: times are far below 2**53).  A lane's first critical row never
    merges, nor does a row after 1970 with one before (their XOR has the sign bit).  One byte per critical event.
    """
    merge = np.full(len(critical), np.iinfo(np.int8).max, dtype=np.int8)
    if len(critical) < 2:
        return merge
    order = np.argsort(columns.lane[critical], kind="stable")  # by lane, time order kept
    times = columns.time_ms[critical[order]]
    lanes = columns.lane[critical[order]]
    same_lane = lanes[1:] == lanes[:-1]
    differ = times[1:] ^ times[:-1]  # negative when the two straddle 1970: they never share a bucket
    _, bits = np.frexp(differ.astype(np.float64))
    merged = np.where(same_lane & (differ >= 0), bits, np.iinfo(np.int8).max).astype(np.int8)
    merge[order[1:]] = merged
    return merge


def _distinct_buckets(time_ms: IntArray, level: int) -> int:
    """Distinct time buckets at ``level`` among sorted times (ignoring lanes)."""
    if not len(time_ms):
        return 0
    shifted = time_ms >> level
    return int(np.count_nonzero(shifted[1:] != shifted[:-1])) + 1


class LodPyramid:
    """Counts and highest importance per lane and power-of-two bucket of an index's visible events."""

    def __init__(self, index: TimelineIndex, budget_bytes_per_event: float = BUDGET_BYTES_PER_EVENT) -> None:
        self.index = index
        self.columns: TimelineColumns = index.columns
        rows = index.visible_rows
        times = self.columns.time_ms[rows]
        lanes = self.columns.lane[rows]
        importance = self.columns.importance[rows]
        budget = budget_bytes_per_event * max(len(rows), 1)
        self.star_merge = _star_merge_levels(self.columns, index.critical_rows)
        self.finest = self._finest_level(times, budget)
        self.levels: dict[int, Level] = {}
        level = _reduce(
            bucket_keys(times, lanes, self.finest),
            np.ones(len(rows), np.uint32),
            importance.copy(),
            self.columns.is_private[rows],
        )
        for k in range(self.finest, MAX_LEVEL + 1):
            self.levels[k] = level
            if k < MAX_LEVEL:
                level = _coarser(level)
        while self.nbytes > budget and self.finest < MAX_LEVEL:
            del self.levels[self.finest]
            self.finest += 1
        self._fine = Buckets.empty()  # the last binning finer than the stored levels ...
        self._fine_key = (-1, 0, -1)  # ... its level and first and last bucket index

    @staticmethod
    def _finest_level(times: IntArray, budget: float) -> int:
        """The smallest level whose buckets, at two lanes per time bucket, fit a third of the budget."""
        limit = budget / 3 / BYTES_PER_BUCKET
        lo, hi = 0, MAX_LEVEL
        while lo < hi:
            mid = (lo + hi) // 2
            if 2 * _distinct_buckets(times, mid) <= limit:
                hi = mid
            else:
                lo = mid + 1
        return lo

    @property
    def nbytes(self) -> int:
        return sum(level.nbytes for level in self.levels.values()) + int(self.star_merge.nbytes)

    def _stars(self, t0_ms: float, lo: int, hi: int, level: int) -> IntArray:
        """:func:`one_critical_per_bucket` of the visible critical rows in ``[lo, hi)``, without a sort.

        A critical event is the first of its (lane, bucket) at ``level`` when its
        lane's previous critical event lies in an earlier bucket: when it merges
        with that one only above ``level`` (:attr:`star_merge`).  Only the
        window's first bucket may start before the window, so there the first
        event of each lane inside the window is taken whatever came before.
        """
        critical = self.index.critical_rows
        a = int(np.searchsorted(critical, np.int32(lo), side="left"))
        b = int(np.searchsorted(critical, np.int32(hi), side="left"))
        chosen = self.star_merge[a:b] > level
        edge_end_ms = ((math.ceil(t0_ms) >> level) + 1) << level
        edge_row = int(np.searchsorted(self.columns.time_ms, edge_end_ms, side="left"))
        k = int(np.searchsorted(critical[a:b], np.int32(edge_row), side="left"))
        if k:
            _, first = np.unique(self.columns.lane[critical[a : a + k]], return_index=True)
            chosen[first] = True
        return critical[a:b][chosen][:CRITICAL_MARKER_LIMIT].astype(np.int64)

    def buckets(self, level: int, first: int | None = None, last: int | None = None) -> Buckets:
        """The level's buckets with index in ``[first, last]`` (all of them by default)."""
        stored = self.levels[level]
        a = 0 if first is None else int(np.searchsorted(stored.keys, first << LANE_BITS, side="left"))
        b = (
            len(stored)
            if last is None
            else int(np.searchsorted(stored.keys, (last + 1) << LANE_BITS, side="left"))
        )
        return Buckets.from_keys(
            stored.keys[a:b], stored.count[a:b], stored.max_importance[a:b], stored.private[a:b], level
        )

    def frame(self, t0_ms: float, t1_ms: float, width_px: int) -> Frame:
        """What to draw for the window ``[t0, t1)``; equal to :func:`brute_force_frame`."""
        lo, hi = visible_bounds(self.columns.time_ms, t0_ms, t1_ms)
        a, b = self.index.position(lo), self.index.position(hi)
        level = bucket_level(t0_ms, t1_ms, width_px)
        if b - a <= MARKERS_PER_PIXEL * max(width_px, 1):
            rows = self.index.visible_rows[a:b].astype(np.int64)
            critical = self.index.critical_between(lo, hi)
            return Frame(rows, Buckets.empty(), critical[:CRITICAL_MARKER_LIMIT], b - a, level)
        critical = self._stars(t0_ms, lo, hi, star_level(level))
        first, last = bucket_span(t0_ms, t1_ms, level)
        if level >= self.finest:
            buckets = self.buckets(level, first, last)
        else:
            buckets = self._fine_buckets(level, first, last)
        return Frame(None, buckets, critical, b - a, level)

    def _fine_buckets(self, level: int, first: int, last: int) -> Buckets:
        """Buckets finer than the stored levels, binned from the rows: few events by construction.

        Binning took a sixth of a repaint at a million events, and a pan keeps its
        level: so the binning reaches :data:`FINE_MARGIN` window widths beyond the
        window and is kept until a window leaves it or the level changes.  A
        bucket's figures depend only on its own rows, so a slice of the wider
        binning equals binning the window alone.
        """
        kept_level, kept_first, kept_last = self._fine_key
        if level != kept_level or first < kept_first or last > kept_last:
            margin = (last - first + 1) * FINE_MARGIN
            kept_first, kept_last = first - margin, last + margin
            b_lo = int(np.searchsorted(self.columns.time_ms, kept_first << level, side="left"))
            b_hi = int(np.searchsorted(self.columns.time_ms, (kept_last + 1) << level, side="left"))
            self._fine = bin_rows(self.columns, self.index.rows_between(b_lo, b_hi), level)
            self._fine_key = (level, kept_first, kept_last)
        return self._fine.starting_in(first << level, (last + 1) << level)
