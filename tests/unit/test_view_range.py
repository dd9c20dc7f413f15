"""Zoom keeps the anchor in place, pans move by a fraction, presets find the right place, limits hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from viewer.view_range import (
    DAY_MS,
    EDGE_MARGIN,
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
def test_presets_centre_on_the_anchor_or_end_at_the_latest(preset: Preset, span: float) -> None:
    view = ViewRange(T0, T0 + 3 * YEAR_MS)
    selected = view.preset(preset, None, anchor_ms=T0 + YEAR_MS, latest_ms=T0 + 2 * YEAR_MS)
    assert selected.span_ms == pytest.approx(span)
    assert selected.centre_ms == pytest.approx(T0 + YEAR_MS)
    latest = view.preset(preset, None, latest_ms=T0 + 2 * YEAR_MS)
    assert latest.span_ms == pytest.approx(span)
    assert latest.contains(T0 + 2 * YEAR_MS) and latest.end_ms - (T0 + 2 * YEAR_MS) < 0.05 * span
    unknown = view.preset(preset, None)
    assert unknown.centre_ms == pytest.approx(view.centre_ms)


def test_presets_reach_today_when_the_latest_event_still_shows() -> None:
    view = ViewRange(T0, T0 + 3 * YEAR_MS)
    last = T0 + 2 * YEAR_MS
    soon = view.preset(Preset.MONTH, None, latest_ms=last, now_ms=last + 10 * DAY_MS)
    assert soon.contains(last) and soon.contains(last + 10 * DAY_MS)
    assert soon.end_ms - (last + 10 * DAY_MS) < 0.05 * MONTH_MS
    later = view.preset(Preset.MONTH, None, latest_ms=last, now_ms=last + 40 * DAY_MS)
    assert later.contains(last) and not later.contains(last + 40 * DAY_MS)  # the month of the last events
    year = view.preset(Preset.YEAR, None, latest_ms=last, now_ms=last + 40 * DAY_MS)
    assert year.contains(last + 40 * DAY_MS)


def test_all_preset_is_the_history() -> None:
    history = ViewRange.covering(T0, T0 + 2 * YEAR_MS)
    assert ViewRange(T0, T0 + DAY_MS).preset(Preset.ALL, history) == history
    assert history.start_ms < T0 and history.end_ms > T0 + 2 * YEAR_MS


def test_single_event_history_gets_a_day() -> None:
    assert ViewRange.covering(T0, T0).span_ms >= DAY_MS


def test_showing_moves_only_when_needed() -> None:
    view = ViewRange(T0, T0 + 10 * DAY_MS)
    assert view.showing(T0 + 5 * DAY_MS) is view
    moved = view.showing(T0 + 30 * DAY_MS)  # further than a window away: centred
    assert moved.centre_ms == pytest.approx(T0 + 30 * DAY_MS) and moved.span_ms == view.span_ms


def test_the_whole_history_shows_its_first_and_last_event_without_moving() -> None:
    history = ViewRange.covering(T0, T0 + 2 * YEAR_MS)
    assert history.showing(T0) is history
    assert history.showing(T0 + 2 * YEAR_MS) is history


@given(where=st.floats(min_value=-1.0, max_value=2.0))
def test_showing_a_moment_just_outside_slides_by_as_little_as_needed(where: float) -> None:
    view = ViewRange(T0, T0 + 10 * DAY_MS)
    moment = T0 + where * view.span_ms
    moved = view.showing(moment)
    margin = view.span_ms * EDGE_MARGIN
    assert moved.span_ms == pytest.approx(view.span_ms)
    assert moved.start_ms + margin - 1 <= moment <= moved.end_ms - margin + 1
    if view.start_ms + margin <= moment <= view.end_ms - margin:
        assert moved is view
    else:  # the moment sits right at the margin of the edge it came in by
        assert min(abs(moment - moved.start_ms), abs(moved.end_ms - moment)) == pytest.approx(margin)


def test_room_around_the_history_fits_every_preset() -> None:
    short = ViewRange.covering(T0, T0 + 3 * DAY_MS).with_room()
    assert short.span_ms >= YEAR_MS
    long = ViewRange.covering(T0, T0 + 10 * YEAR_MS)
    room = long.with_room()
    assert room.start_ms == pytest.approx(long.start_ms - long.span_ms / 4)
    assert room.end_ms == pytest.approx(long.end_ms + long.span_ms / 4)


@given(
    start=st.floats(min_value=-300 * YEAR_MS, max_value=300 * YEAR_MS),
    span=st.floats(min_value=1.0, max_value=400 * YEAR_MS),
)
def test_clamped_windows_stay_in_bounds(start: float, span: float) -> None:
    bounds = ViewRange.covering(T0, T0 + 2 * YEAR_MS).with_room()
    clamped = ViewRange(start, start + span).clamped(bounds)
    assert bounds.start_ms - 1 <= clamped.start_ms and clamped.end_ms <= bounds.end_ms + 1
    assert MIN_SPAN_MS * (1 - 1e-9) <= clamped.span_ms <= bounds.span_ms * (1 + 1e-9)
    if span <= bounds.span_ms and span >= MIN_SPAN_MS:
        assert clamped.span_ms == pytest.approx(span)  # moved, not shrunk


def test_clamped_leaves_a_fitting_window_alone() -> None:
    bounds = ViewRange(T0, T0 + 2 * YEAR_MS)
    view = ViewRange(T0 + DAY_MS, T0 + 40 * DAY_MS)
    assert view.clamped(bounds) is view
    assert ViewRange(T0, T0 + 1.0).clamped(None).span_ms == MIN_SPAN_MS


def test_empty_range_is_refused() -> None:
    with pytest.raises(ValueError):
        ViewRange(T0, T0)


def test_the_whole_history_reaches_today_when_it_is_recent() -> None:
    now = T0 + 2 * YEAR_MS + 30 * DAY_MS
    recent = ViewRange.of_history(T0, T0 + 2 * YEAR_MS, now)
    assert recent.contains(now) and recent.end_ms - now == pytest.approx(recent.span_ms * 0.03 / 1.06)
    old = ViewRange.of_history(T0, T0 + YEAR_MS, T0 + 5 * YEAR_MS)  # closed four years ago
    assert old == ViewRange.covering(T0, T0 + YEAR_MS)
    single = ViewRange.of_history(T0, T0, T0 + 3 * DAY_MS)  # one event three days ago: a month counts
    assert single.contains(T0) and single.contains(T0 + 3 * DAY_MS)
    future = ViewRange.of_history(T0, T0 + YEAR_MS, T0 + 100 * DAY_MS)  # planned events ahead of today
    assert future == ViewRange.covering(T0, T0 + YEAR_MS)


def test_a_history_spanning_centuries_is_shown_whole() -> None:
    """One event typed as 2926 for 2026 capped "All" at 200 empty years and put the rest out of reach."""
    first, typo = T0, T0 + 900 * YEAR_MS
    history = ViewRange.of_history(first, typo, now_ms=T0)
    assert history.contains(first) and history.contains(typo)
    bounds = history.with_room()
    assert history.clamped(bounds) == history
    day = ViewRange.around(first, DAY_MS).clamped(bounds)
    assert day.contains(first) and day.span_ms == pytest.approx(DAY_MS)


def test_windows_stay_within_the_calendar() -> None:
    from viewer.view_range import EARLIEST_MS, LATEST_MS

    whole = ViewRange.covering(EARLIEST_MS + DAY_MS, LATEST_MS - DAY_MS)  # events in years 1 and 9999
    assert whole.start_ms >= EARLIEST_MS and whole.end_ms <= LATEST_MS
    assert whole.with_room().start_ms >= EARLIEST_MS and whole.with_room().end_ms <= LATEST_MS
    early = ViewRange(EARLIEST_MS - 5 * YEAR_MS, EARLIEST_MS + 5 * YEAR_MS).clamped(None)
    assert early.start_ms == EARLIEST_MS and early.span_ms == pytest.approx(10 * YEAR_MS)
    assert ViewRange(EARLIEST_MS, LATEST_MS).zoom_out().span_ms == MAX_SPAN_MS


def test_a_window_wider_than_the_bounds_keeps_what_it_shows_of_them() -> None:
    """Dragging the overview box's left edge past the start moved its right edge too (re-centred)."""
    bounds = ViewRange(T0, T0 + 2 * YEAR_MS)
    dragged = ViewRange(T0 - 5 * YEAR_MS, T0 + YEAR_MS)  # the left edge far past the start
    assert dragged.clamped(bounds) == ViewRange(T0, T0 + YEAR_MS)
    far_off = ViewRange(T0 + 10 * YEAR_MS, T0 + 15 * YEAR_MS)  # wider, and all of it outside
    assert far_off.clamped(bounds) == bounds
