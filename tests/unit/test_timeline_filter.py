"""The filter mask equals a brute-force check of each event."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from viewer.domain import EventType, Importance
from viewer.services.timeline_query import FLAG_PRIVATE, TimelineColumns
from viewer.timeline_filter import PrivateMode, TimelineFilter, describe_counts


def _columns(rows: list[tuple[int, int, int, bool]]) -> TimelineColumns:
    rows = sorted(rows)
    return TimelineColumns(
        ids=np.array([i.to_bytes(16, "big") for i in range(len(rows))], dtype="S16"),
        time_ms=np.array([r[0] for r in rows], dtype=np.int64),
        lane=np.array([r[1] for r in rows], dtype=np.int8),
        importance=np.array([r[2] for r in rows], dtype=np.int8),
        flags=np.array([FLAG_PRIVATE if r[3] else 0 for r in rows], dtype=np.uint8),
    )


events = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 7), st.integers(0, 3), st.booleans()), max_size=60
)
filters = st.builds(
    TimelineFilter,
    types=st.frozensets(st.sampled_from(list(EventType))),
    min_importance=st.sampled_from(list(Importance)),
    private=st.sampled_from(list(PrivateMode)),
    start_ms=st.none() | st.integers(0, 10_000),
    end_ms=st.none() | st.integers(0, 10_000),
)


@given(events, filters, st.sets(st.integers(0, 59)), st.booleans())
def test_mask_matches_brute_force(
    rows: list, flt: TimelineFilter, matched: set[int], with_text: bool
) -> None:
    columns = _columns(rows)
    text_rows = np.array(sorted(r for r in matched if r < len(columns)), dtype=np.int64)
    if with_text:
        flt = TimelineFilter(
            flt.types, flt.min_importance, flt.private, flt.start_ms, flt.end_ms, "x", text_rows
        )
    expected = []
    for i in range(len(columns)):
        t, lane, imp, private = (
            int(columns.time_ms[i]),
            int(columns.lane[i]),
            int(columns.importance[i]),
            bool(columns.is_private[i]),
        )
        ok = EventType.from_lane(lane) in flt.types and imp >= flt.min_importance
        ok &= not (flt.private is PrivateMode.HIDDEN and private) and not (
            flt.private is PrivateMode.ONLY and not private
        )
        ok &= (flt.start_ms is None or t >= flt.start_ms) and (flt.end_ms is None or t < flt.end_ms)
        # A title search highlights its matches; it never hides the other events.
        expected.append(ok)
    assert flt.mask(columns).tolist() == expected


def test_default_filter_describes_itself_and_keeps_everything() -> None:
    columns = _columns([(1, 0, 0, False), (2, 7, 3, True)])
    flt = TimelineFilter()
    assert flt.is_default and flt.describe() == "Showing all events"
    assert flt.mask(columns).all()


def test_describe_names_each_restriction() -> None:
    flt = TimelineFilter(
        types=frozenset({EventType.SESSION, EventType.NOTE}),
        min_importance=Importance.HIGH,
        private=PrivateMode.HIDDEN,
        text="intake",
    )
    text = flt.describe()
    for part in ("session", "note", "importance high or more", "private events hidden", "intake"):
        assert part in text
    assert not flt.is_default
    alone = TimelineFilter(text="intake")
    assert alone.describe() == "Highlighting titles containing “intake”" and not alone.is_default
    assert not alone.searching and alone.with_text_rows(np.array([3])).searching


def _local_midnight(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day).astimezone().timestamp() * 1000)


def test_describe_says_the_dates() -> None:
    start, end = _local_midnight(2025, 3, 1), _local_midnight(2025, 7, 1)  # the end is exclusive
    assert TimelineFilter(start_ms=start, end_ms=end).describe() == "Filtered: from 1 Mar 2025 to 30 Jun 2025"
    assert TimelineFilter(start_ms=start).describe() == "Filtered: from 1 Mar 2025"
    assert TimelineFilter(end_ms=end).describe() == "Filtered: until 30 Jun 2025"


def test_counts_name_what_they_count() -> None:
    assert describe_counts(1457, 1457, 1457) == "1457 events · all in view"
    assert describe_counts(1457, 1457, 120) == "1457 events · 120 in view"
    assert describe_counts(1457, 36, 12) == "36 of 1457 events match the filters · 12 in view"
    assert describe_counts(1457, 0, 0) == "0 of 1457 events match the filters"
    assert describe_counts(0, 0, 0) == "no events"
    assert describe_counts(1, 1, 1) == "1 event · all in view"  # not "1 events"
    assert describe_counts(1457, 1, 0) == "1 of 1457 events matches the filters · 0 in view"
