"""Hit-testing and navigation agree with brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from viewer.services.timeline_query import TimelineColumns
from viewer.timeline_index import TimelineIndex

rows_strategy = st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 7), st.booleans()), max_size=50)


def _build(rows: list[tuple[int, int, bool]]) -> tuple[TimelineColumns, np.ndarray]:
    rows = sorted(rows)
    n = len(rows)
    columns = TimelineColumns(
        ids=np.array([i.to_bytes(16, "big") for i in range(n)], dtype="S16"),
        time_ms=np.array([r[0] for r in rows], dtype=np.int64),
        lane=np.array([r[1] for r in rows], dtype=np.int8),
        importance=np.zeros(n, np.int8),
        flags=np.zeros(n, np.uint8),
    )
    return columns, np.array([r[2] for r in rows], dtype=bool)


@given(rows_strategy, st.integers(-50, 1050), st.integers(0, 7), st.integers(0, 100))
def test_nearest_matches_brute_force(rows: list, t: int, lane: int, tol: int) -> None:
    columns, mask = _build(rows)
    index = TimelineIndex(columns, mask)
    found = index.nearest(t, lane, tol)
    candidates = [
        i
        for i in range(len(columns))
        if mask[i] and columns.lane[i] == lane and abs(int(columns.time_ms[i]) - t) <= tol
    ]
    if not candidates:
        assert found is None
    else:
        best = min(abs(int(columns.time_ms[i]) - t) for i in candidates)
        assert found in candidates and abs(int(columns.time_ms[found]) - t) == best


@given(rows_strategy)
def test_next_and_previous_visit_visible_events_in_order(rows: list) -> None:
    columns, mask = _build(rows)
    index = TimelineIndex(columns, mask)
    expected = [i for i in range(len(columns)) if mask[i]]
    forward, row = [], index.next_row(None)
    while row is not None:
        forward.append(row)
        row = index.next_row(row)
    assert forward == expected
    backward, row = [], index.previous_row(None)
    while row is not None:
        backward.append(row)
        row = index.previous_row(row)
    assert backward == expected[::-1]


@given(rows_strategy, st.integers(-10, 1010))
def test_first_from_a_time(rows: list, t: int) -> None:
    columns, mask = _build(rows)
    index = TimelineIndex(columns, mask)
    after = [i for i in range(len(columns)) if mask[i] and columns.time_ms[i] >= t]
    before = [i for i in range(len(columns)) if mask[i] and columns.time_ms[i] <= t]
    assert index.next_row(None, t) == (after[0] if after else None)
    assert index.previous_row(None, t) == (before[-1] if before else None)


def test_step_in_wraps_around() -> None:
    columns, mask = _build([(i, 0, True) for i in range(10)])
    index = TimelineIndex(columns, mask)
    matches = np.array([2, 5, 7], dtype=np.int64)
    assert index.step_in(matches, None, 1) == 2
    assert index.step_in(matches, 2, 1) == 5
    assert index.step_in(matches, 7, 1) == 2
    assert index.step_in(matches, 2, -1) == 7
    assert index.step_in(matches, 6, -1) == 5
    assert index.step_in(np.empty(0, np.int64), None, 1) is None


def test_same_moment_finds_the_visible_events_sharing_a_marker() -> None:
    """Two notes at one minute share a marker; clicks take turns through them (the second was unreachable)."""
    times = np.array([10, 20, 20, 20, 20, 30], dtype=np.int64)
    lanes = np.array([2, 2, 3, 2, 2, 2], dtype=np.int8)
    columns = TimelineColumns(
        np.arange(6, dtype=">u8").astype("S16"), times, lanes, np.zeros(6, np.int8), np.zeros(6, np.uint8)
    )
    mask = np.array([True, True, True, False, True, True])
    index = TimelineIndex(columns, mask)
    assert index.same_moment(1).tolist() == [1, 4]  # not row 2 (another lane) nor row 3 (filtered out)
    assert index.same_moment(2).tolist() == [2]
    assert index.same_moment(0).tolist() == [0]
