"""The level-of-detail pyramid equals brute force (counts, highest importance, privacy) at every level and frame."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from viewer.domain import Importance
from viewer.lod import BUDGET_BYTES_PER_EVENT, LodPyramid
from viewer.services.timeline_query import TimelineColumns
from viewer.timeline_frame import MAX_LEVEL, Buckets, Frame, bin_rows, brute_force_frame, star_level
from viewer.timeline_index import TimelineIndex

CRITICAL = int(Importance.CRITICAL)


def _columns(rows: list[tuple[int, int, int]]) -> TimelineColumns:
    rows = sorted(rows)
    n = len(rows)
    return TimelineColumns(
        ids=np.array([i.to_bytes(16, "big") for i in range(n)], dtype="S16"),
        time_ms=np.array([r[0] for r in rows], dtype=np.int64),
        lane=np.array([r[1] for r in rows], dtype=np.int8),
        importance=np.array([r[2] for r in rows], dtype=np.int8),
        # Every third event private (by time, lane and importance, so it varies with the draw).
        flags=np.array([(r[0] + r[1] + r[2]) % 3 == 0 for r in rows], dtype=np.uint8).reshape(n),
    )


# Times cluster (bursts) and spread (years, before and after 1970) so buckets both merge and stay apart.
times = st.one_of(st.integers(-(2**36), 2**41), st.integers(0, 5_000), st.integers(10**12, 10**12 + 2**20))
events = st.lists(st.tuples(times, st.integers(0, 7), st.integers(0, 3)), min_size=0, max_size=120)
# Busier histories with few lanes and many critical events: several stars share a bucket.
busy_events = st.lists(
    st.tuples(st.integers(0, 50_000), st.integers(0, 2), st.integers(2, 3)), min_size=40, max_size=200
)


def _assert_buckets_equal(got: Buckets, expected: Buckets) -> None:
    for field in ("lane", "start_ms", "end_ms", "count", "max_importance", "private"):
        np.testing.assert_array_equal(getattr(got, field), getattr(expected, field), err_msg=field)


def _assert_frames_equal(got: Frame, expected: Frame) -> None:
    assert got.visible_count == expected.visible_count
    assert got.level == expected.level
    assert (got.rows is None) == (expected.rows is None)
    if expected.rows is not None:
        np.testing.assert_array_equal(got.rows, expected.rows)
    np.testing.assert_array_equal(got.critical_rows, expected.critical_rows)
    _assert_buckets_equal(got.buckets, expected.buckets)


@given(events, st.data(), st.sampled_from([0.5, BUDGET_BYTES_PER_EVENT, 1000.0]))
def test_every_level_equals_brute_force(rows: list, data: st.DataObject, budget: float) -> None:
    columns = _columns(rows)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows))), dtype=bool)
    pyramid = LodPyramid(TimelineIndex(columns, mask), budget_bytes_per_event=budget)
    visible = np.flatnonzero(mask).astype(np.int64)
    assert set(pyramid.levels) == set(range(pyramid.finest, MAX_LEVEL + 1))
    for level in pyramid.levels:
        expected = bin_rows(columns, visible, level)
        got = pyramid.buckets(level)
        _assert_buckets_equal(got, expected)
        assert int(got.count.sum()) == len(visible)  # nothing lost, nothing counted twice


windows = st.tuples(
    st.integers(-(2**37), 2**41), st.integers(1, 2**42), st.one_of(st.integers(1, 8), st.integers(1, 64))
)


@given(
    events | busy_events,
    st.data(),
    windows,
    st.sampled_from([0.5, BUDGET_BYTES_PER_EVENT, 1000.0]),
    st.booleans(),
)
def test_frames_equal_brute_force(
    rows: list, data: st.DataObject, window: tuple, budget: float, around_data: bool
) -> None:
    columns = _columns(rows)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows))), dtype=bool)
    pyramid = LodPyramid(TimelineIndex(columns, mask), budget_bytes_per_event=budget)
    start, span, width = window
    if around_data and len(columns):  # a window over the data, so bucket frames are common
        start = int(columns.time_ms[0]) - span % 1000
        span = int(columns.time_ms[-1]) - start + 1 + span % 5000
    t0, t1 = float(start) + 0.25, float(start + span) + 0.5
    frame = pyramid.frame(t0, t1, width)
    _assert_frames_equal(frame, brute_force_frame(columns, mask, t0, t1, width))
    _assert_no_critical_hides(columns, mask, frame, t0, t1, width)


# A gesture: start somewhere over the data, then pan (in window widths) or zoom (factors) in turn;
# mostly pans and small zooms, which keep the level, so kept binnings are both reused and outrun.
gestures = st.lists(
    st.one_of(
        st.floats(-2.5, 2.5).map(lambda f: ("pan", f)),
        st.floats(-0.4, 0.4).map(lambda f: ("pan", f)),
        st.floats(0.8, 1.25).map(lambda f: ("zoom", f)),
        st.floats(0.3, 3.0).map(lambda f: ("zoom", f)),
    ),
    min_size=1,
    max_size=12,
)


@given(st.integers(0, 2**31), gestures, st.floats(0.05, 0.3), st.floats(0.0, 1.0))
def test_a_gesture_on_one_pyramid_equals_brute_force_frame_by_frame(
    seed: int, gesture: list, share: float, at: float
) -> None:
    """The pyramid keeps its binning of the levels it does not store: every later frame must still be exact."""
    rng = np.random.default_rng(seed)
    n = 3000
    time_ms = np.sort(rng.integers(0, 2**22, n))
    importance = rng.choice(4, n, p=[0.3, 0.5, 0.17, 0.03]).astype(np.int8)
    columns = TimelineColumns(
        np.zeros(n, "S16"), time_ms, rng.integers(0, 8, n).astype(np.int8), importance, np.zeros(n, np.uint8)
    )
    mask = rng.random(n) < 0.8
    pyramid = LodPyramid(TimelineIndex(columns, mask), budget_bytes_per_event=0.5)  # few stored levels
    span = 2**22 * share
    t0 = (2**22 - span) * at + 0.25
    for move, amount in gesture:
        if move == "pan":
            t0 += span * amount
        else:
            t0, span = t0 + span / 2 - span * amount / 2, max(span * amount, 1.0)
        frame = pyramid.frame(t0, t0 + span, 16)
        _assert_frames_equal(frame, brute_force_frame(columns, mask, t0, t0 + span, 16))


def _assert_no_critical_hides(
    columns: TimelineColumns, mask: np.ndarray, frame: Frame, t0: float, t1: float, width_px: int
) -> None:
    """Every visible critical event in the window is drawn, or shares its lane and star bucket with a drawn star.

    A star bucket is narrower than 8 px, so the event lies under its star (16 px wide, 8 px either side).
    """
    in_window = [
        i
        for i in range(len(columns))
        if mask[i] and t0 <= columns.time_ms[i] < t1 and columns.importance[i] == CRITICAL
    ]
    drawn = set(frame.critical_rows.tolist())
    if frame.rows is not None:
        assert drawn == set(in_window) and set(in_window) <= set(frame.rows.tolist())
        return
    assert drawn <= set(in_window)
    level = star_level(frame.level)
    assert 2**level < 8 * max((t1 - t0) / width_px, 1.0)
    starred = {(int(columns.time_ms[i]) >> level, int(columns.lane[i])) for i in drawn}
    for i in in_window:
        assert (int(columns.time_ms[i]) >> level, int(columns.lane[i])) in starred


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**31))
def test_a_large_history_uses_buckets_within_budget(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 200_000
    time_ms = np.sort(rng.integers(1_600_000_000_000, 1_700_000_000_000, n))
    importance = rng.choice(4, n, p=[0.3, 0.5, 0.19, 0.01]).astype(np.int8)
    private = (rng.random(n) < 0.1).astype(np.uint8)
    columns = TimelineColumns(
        np.zeros(n, "S16"), time_ms, rng.integers(0, 8, n).astype(np.int8), importance, private
    )
    mask = np.ones(n, dtype=bool)
    pyramid = LodPyramid(TimelineIndex(columns, mask))
    assert pyramid.nbytes <= BUDGET_BYTES_PER_EVENT * n
    t0, t1 = float(time_ms[0]), float(time_ms[-1]) + 1
    frame = pyramid.frame(t0, t1, 1600)
    assert frame.rows is None and frame.visible_count == n
    assert len(frame.buckets) <= 8 * 1602  # about one bucket per pixel per lane
    assert int(frame.buckets.count.sum()) == n
    assert frame.buckets.private.any() and not frame.buckets.private.all()
    assert 0 < len(frame.critical_rows) <= int((importance == 3).sum())
    _assert_no_critical_hides(columns, mask, frame, t0, t1, 1600)
    _assert_frames_equal(frame, brute_force_frame(columns, mask, t0, t1, 1600))


@given(events, st.integers(0, MAX_LEVEL))
def test_binning_equals_a_plain_tally(rows: list, level: int) -> None:
    """The oracle itself (dense bincount or sort, whichever it picks) against a dictionary tally."""
    columns = _columns(rows)
    tally: dict[tuple[int, int], list[int]] = {}
    private = columns.is_private
    for t, lane, importance, secret in zip(
        columns.time_ms, columns.lane, columns.importance, private, strict=True
    ):
        entry = tally.setdefault((int(t) >> level, int(lane)), [0, -1, 0])
        entry[0] += 1
        entry[1] = max(entry[1], int(importance))
        entry[2] = max(entry[2], int(secret))
    got = bin_rows(columns, np.arange(len(columns), dtype=np.int64), level)
    expected = sorted(tally.items())
    assert [(int(s) >> level, int(lane)) for s, lane in zip(got.start_ms, got.lane, strict=True)] == [
        key for key, _ in expected
    ]
    assert got.count.tolist() == [v[0] for _, v in expected]
    assert got.max_importance.tolist() == [v[1] for _, v in expected]
    assert got.private.tolist() == [bool(v[2]) for _, v in expected]


def test_stars_equal_brute_force_over_many_windows_of_a_busy_history() -> None:
    """The pyramid picks each window's stars without sorting; windows cut star buckets at both ends."""
    rng = np.random.default_rng(11)
    n = 20_000
    time_ms = np.sort(rng.integers(-(2**29), 2**29, n))  # 1970 inside: stars straddle the sign change
    columns = TimelineColumns(
        np.zeros(n, "S16"),
        time_ms,
        rng.integers(0, 3, n).astype(np.int8),
        rng.choice(4, n, p=[0.2, 0.3, 0.2, 0.3]).astype(np.int8),
        (rng.random(n) < 0.2).astype(np.uint8),
    )
    mask = rng.random(n) < 0.9
    pyramid = LodPyramid(TimelineIndex(columns, mask))
    bucket_frames = 0
    for _ in range(300):
        span = float(2 ** rng.uniform(17, 31))
        t0 = float(rng.uniform(-(2**29), 2**29)) + 0.37
        width = int(rng.integers(16, 400))
        frame = pyramid.frame(t0, t0 + span, width)
        expected = brute_force_frame(columns, mask, t0, t0 + span, width)
        np.testing.assert_array_equal(frame.critical_rows, expected.critical_rows)
        bucket_frames += frame.rows is None
    assert bucket_frames > 100  # the star thinning was exercised, not only the marker path


def test_star_merge_level_is_where_a_critical_event_joins_its_lanes_previous_one() -> None:
    rng = np.random.default_rng(5)
    n = 3_000
    time_ms = np.sort(rng.integers(-(2**25), 2**25, n))
    columns = TimelineColumns(
        np.zeros(n, "S16"),
        time_ms,
        rng.integers(0, 8, n).astype(np.int8),
        np.full(n, CRITICAL, np.int8),
        np.zeros(n, np.uint8),
    )
    pyramid = LodPyramid(TimelineIndex(columns, np.ones(n, dtype=bool)))
    for level in (0, 3, 10, 17, 24, 30):
        first_of_bucket: dict[tuple[int, int], int] = {}
        for row in range(n):
            first_of_bucket.setdefault((int(columns.lane[row]), int(time_ms[row]) >> level), row)
        expected = np.zeros(n, dtype=bool)
        expected[list(first_of_bucket.values())] = True
        np.testing.assert_array_equal(pyramid.star_merge > level, expected, err_msg=f"level {level}")
