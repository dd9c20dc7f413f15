"""Lane hiding and reordering keep drawing and hit-testing in agreement."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from viewer.domain import EventType
from viewer.lane_layout import LaneLayout

actions = st.lists(
    st.tuples(
        st.sampled_from(["move", "hide", "show"]), st.sampled_from(list(EventType)), st.integers(-9, 9)
    ),
    max_size=25,
)


@given(actions)
def test_every_shown_lane_is_found_at_its_own_row(steps: list) -> None:
    layout = LaneLayout()
    for action, event_type, n in steps:
        if action == "move":
            layout = layout.moved(event_type, n)
        elif action == "hide":
            layout = layout.hiding(event_type)
        else:
            layout = layout.showing(event_type)
    assert 1 <= layout.rows <= 8
    assert set(layout.order) | set(layout.hidden) == set(EventType)
    table = layout.y_table()
    for event_type in EventType:
        y = layout.y_of(event_type)
        if event_type in layout.hidden:
            assert y is None and math.isnan(table[event_type.lane])
            assert not layout.visible_lanes()[event_type.lane]
        else:
            assert y == table[event_type.lane]
            assert layout.lane_at(y) is event_type and layout.lane_at(y + 0.3) is event_type
            assert layout.lane_at(y + 0.45) is None  # the gap between lanes selects nothing


def test_moves_and_hiding() -> None:
    layout = LaneLayout()
    assert layout.order[0] is EventType.SESSION and layout.is_default
    up = layout.moved(EventType.ASSESSMENT, -10)
    assert up.order[0] is EventType.ASSESSMENT and up.y_of(EventType.ASSESSMENT) == 7.0
    hidden = up.hiding(EventType.NOTE)
    assert hidden.rows == 7 and hidden.hidden == (EventType.NOTE,)
    assert hidden.showing(EventType.NOTE).order[-1] is EventType.NOTE
    only = LaneLayout((EventType.SESSION,))
    assert only.hiding(EventType.SESSION) is only  # the last lane stays
    with pytest.raises(ValueError):
        LaneLayout((EventType.SESSION, EventType.SESSION))
