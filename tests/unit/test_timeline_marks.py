"""Thinned marks keep their distance and never leave a busy stretch unmarked."""

from __future__ import annotations

from random import Random

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from viewer.timeline_marks import spaced

GAP = 14.0

marks = st.lists(st.tuples(st.floats(-2000, 4000, allow_nan=False), st.integers(0, 7)), max_size=300)


@given(marks)
def test_kept_marks_are_spaced_and_cover_every_cluster(points: list[tuple[float, int]]) -> None:
    x = np.array([p[0] for p in points], dtype=np.float64)
    lane = np.array([p[1] for p in points], dtype=np.int64)
    kept = spaced(x, lane, GAP)
    assert np.all(np.diff(kept) > 0)  # ascending indices, no repeats
    for one in np.unique(lane):
        xs = np.sort(x[kept][lane[kept] == one])
        assert np.all(np.diff(xs) >= GAP - 1e-9)  # never overlapping
        for point in x[lane == one]:  # every mark has a kept one nearby in its lane
            assert np.min(np.abs(xs - point)) < 3 * GAP


@given(marks, st.randoms(use_true_random=False))
def test_marks_in_time_order_are_thinned_as_any_others(points: list[tuple[float, int]], rng: Random) -> None:
    """Marks in time order take a shortcut; it must keep the same marks as the general way."""
    points = sorted(points)
    points += points[::4]  # some marks share a position
    points.sort(key=lambda p: p[0])
    x = np.array([p[0] for p in points], dtype=np.float64)
    lane = np.array([p[1] for p in points], dtype=np.int64)
    shuffled = list(range(len(points)))
    rng.shuffle(shuffled)
    order = np.array(shuffled, dtype=np.int64)
    kept = spaced(x, lane, GAP)
    general = order[spaced(x[order], lane[order], GAP)]  # out of order: the general way
    assert sorted(zip(lane[kept].tolist(), x[kept].tolist(), strict=True)) == sorted(
        zip(lane[general].tolist(), x[general].tolist(), strict=True)
    )


def test_a_dense_lane_keeps_one_mark_per_gap() -> None:
    x = np.arange(0, 1000, 0.5)
    kept = spaced(x, np.zeros(len(x), np.int64), GAP)
    assert 1000 / (3 * GAP) <= len(kept) <= 1000 / GAP + 1
    assert len(spaced(x[:1], np.zeros(1, np.int64), GAP)) == 1
