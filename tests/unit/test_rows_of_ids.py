"""Finding rows by id: the two-halves search gives exactly what set membership gives."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from viewer.services.timeline_query import TimelineColumns, rows_of_ids

# A few first halves and second halves, so ids often share one half (and sometimes both: duplicates).
_HALVES = st.sampled_from([0, 1, 2**63, 2**64 - 1, 0x0123456789ABCDEF])
_IDS = st.lists(st.tuples(_HALVES, _HALVES), min_size=0, max_size=30)


def _s16(pairs: list[tuple[int, int]]) -> np.ndarray:
    raw = b"".join(hi.to_bytes(8, "big") + lo.to_bytes(8, "big") for hi, lo in pairs)
    return np.frombuffer(raw, "S16").copy() if raw else np.empty(0, "S16")


@settings(max_examples=200, deadline=None)
@given(_IDS, _IDS)
def test_rows_of_ids_equals_set_membership(have: list[tuple[int, int]], want: list[tuple[int, int]]) -> None:
    n = len(have)
    columns = TimelineColumns(
        _s16(have),
        np.arange(n, dtype=np.int64),
        np.zeros(n, np.int8),
        np.zeros(n, np.int8),
        np.zeros(n, np.uint8),
    )
    expected = [row for row, pair in enumerate(have) if pair in set(want)]
    assert rows_of_ids(columns, _s16(want)).tolist() == expected
