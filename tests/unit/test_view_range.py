"""Zoom keeps the anchor in place, pans move by a fraction, presets keep the centre."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from viewer.view_range import (
    DAY_MS,
    MAX_SPAN_MS,
    MIN_SPAN_MS,
    MONTH_MS,
    WEEK_MS,
    YEAR_MS,
    Preset,
    ViewRange,
)

T0 = 1_700_000_000_000.0
spans = st.floats(min_value=MIN_SPAN_MS, max_value=50 * YEAR_MS)
fractions = st.floats(min_value=0.0, max_value=1.0)


@given(span=spans, where=fractions, factor=st.floats(min_value=0.01, max_value=100))
def test_zoom_keeps_the_anchor_at_the_same_screen_position(span: float, where: float, factor: float) -> None:
    view = ViewRange(T0, T0 + span)
    anchor = T0 + where * span
    zoomed = view.zoomed(factor, anchor)
    assert (anchor - zoomed.start_ms) / zoomed.span_ms == pytest.approx(where, abs=1e-6)
    assert MIN_SPAN_MS <= zoomed.span_ms <= MAX_SPAN_MS


def test_zoom_in_then_out_returns() -> None:
    view = ViewRange(T0, T0 + 30 * DAY_MS)
    back = view.zoom_in(T0 + 3 * DAY_MS).zoom_out(T0 + 3 * DAY_MS)
    assert back.start_ms == pytest.approx(view.start_ms) and back.end_ms == pytest.approx(view.end_ms)


def test_zoom_is_clamped() -> None:
    tiny = ViewRange(T0, T0 + MIN_SPAN_MS)
    assert tiny.zoom_in().span_ms == MIN_SPAN_MS
    assert ViewRange(T0, T0 + MAX_SPAN_MS).zoom_out().span_ms == MAX_SPAN_MS


def test_pan_moves_by_a_fraction() -> None:
    view = ViewRange(T0, T0 + 10 * DAY_MS)
    assert view.panned(0.1) == ViewRange(T0 + DAY_MS, T0 + 11 * DAY_MS)
    assert view.panned(-0.1).start_ms == T0 - DAY_MS


@pytest.mark.parametrize(
    ("preset", "span"), [(Preset.WEEK, WEEK_MS), (Preset.MONTH, MONTH_MS), (Preset.YEAR, YEAR_MS)]
)
def test_presets_keep_the_centre(preset: Preset, span: float) -> None:
    view = ViewRange(T0, T0 + 3 * YEAR_MS)
    result = view.preset(preset, None)
    assert result.span_ms == pytest.approx(span)
    assert result.centre_ms == pytest.approx(view.centre_ms)


def test_all_preset_is_the_history() -> None:
    history = ViewRange.covering(T0, T0 + 2 * YEAR_MS)
    assert ViewRange(T0, T0 + DAY_MS).preset(Preset.ALL, history) == history
    assert history.start_ms < T0 and history.end_ms > T0 + 2 * YEAR_MS


def test_single_event_history_gets_a_day() -> None:
    assert ViewRange.covering(T0, T0).span_ms >= DAY_MS


def test_showing_moves_only_when_needed() -> None:
    view = ViewRange(T0, T0 + 10 * DAY_MS)
    assert view.showing(T0 + 5 * DAY_MS) is view
    moved = view.showing(T0 + 30 * DAY_MS)
    assert moved.contains(T0 + 30 * DAY_MS) and moved.span_ms == view.span_ms


def test_empty_range_is_refused() -> None:
    with pytest.raises(ValueError):
        ViewRange(T0, T0)
