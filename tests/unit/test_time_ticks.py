"""Calendar ticks: a clock-time window names its day on the first label; other windows do not change.

The tick cache answers what ``tick_times`` would, also after the local zone changes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from viewer.time_ticks import TickCache, choose_units, tick_times


def _ms(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp() * 1000


def test_a_day_view_names_its_day() -> None:
    t0, t1 = _ms(2025, 10, 13, 0, 30), _ms(2025, 10, 13, 23, 30)  # no midnight inside
    major, _ = choose_units(t1 - t0, 1400)
    labels = [label for _, label in tick_times(t0, t1, major, UTC)]
    assert labels[0].startswith("Mon 13 Oct, ") and labels[0].endswith(":00")
    assert all(label[:1].isdigit() for label in labels[1:])  # the others stay short


def test_a_whole_day_names_it_though_its_midnights_sit_on_the_edges() -> None:
    t0, t1 = _ms(2025, 10, 13), _ms(2025, 10, 14)
    major, _ = choose_units(t1 - t0, 1400)
    labels = [label for _, label in tick_times(t0, t1, major, UTC)]
    assert labels[0] == "Mon 13 Oct" and labels[-1] == "Tue 14 Oct"  # at the edges, not drawn
    assert labels[1].startswith("Mon 13 Oct, ")


def test_a_window_across_midnight_already_names_the_day() -> None:
    t0, t1 = _ms(2025, 10, 13, 12), _ms(2025, 10, 14, 12)
    major, _ = choose_units(t1 - t0, 1400)
    labels = [label for _, label in tick_times(t0, t1, major, UTC)]
    assert "Tue 14 Oct" in labels and labels[0][:1].isdigit()


def test_day_and_month_labels_are_unchanged() -> None:
    t0, t1 = _ms(2025, 10, 1), _ms(2025, 11, 1)
    major, _ = choose_units(t1 - t0, 1400)
    first = tick_times(t0, t1, major, UTC)[0][1]
    assert "," not in first
    assert tick_times(t0, t1, major, UTC, labels=False)[0][1] == ""


def test_the_cache_answers_what_tick_times_would() -> None:
    cache = TickCache(size=2)
    t0, t1 = _ms(2025, 10, 13, 0, 30), _ms(2025, 10, 13, 23, 30)
    major, minor = choose_units(t1 - t0, 1400)
    assert minor is not None
    assert cache.ticks(t0, t1, major, UTC) == tuple(tick_times(t0, t1, major, UTC))
    assert cache.ticks(t0, t1, major, UTC) is cache.ticks(t0, t1, major, UTC)  # remembered
    unlabelled = tuple(tick_times(t0, t1, major, UTC, labels=False))
    assert cache.ticks(t0, t1, major, UTC, labels=False) == unlabelled
    assert cache.ticks(t0, t1 + 1, major, UTC) == tuple(tick_times(t0, t1 + 1, major, UTC))  # another window
    assert cache.ticks(t0, t1, minor, UTC) == tuple(tick_times(t0, t1, minor, UTC))  # another unit
    assert len(cache._entries) == 2  # the oldest were dropped


def test_the_cache_follows_a_changed_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TickCache()
    t0, t1 = _ms(2025, 10, 13, 0, 30), _ms(2025, 10, 13, 23, 30)
    major, _ = choose_units(t1 - t0, 1400)
    try:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
        in_utc = cache.ticks(t0, t1, major)
        monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30: every hour tick moves by half an hour
        time.tzset()
        assert cache.ticks(t0, t1, major) == tuple(tick_times(t0, t1, major)) != in_utc
    finally:
        monkeypatch.undo()
        time.tzset()


def test_an_overview_of_two_and_a_half_years_labels_its_quarters() -> None:
    """Years alone said little across a whole history: quarters fit, named by month, the year at New Year."""
    t0, t1 = _ms(2024, 6, 30), _ms(2026, 12, 27)
    major, minor = choose_units(t1 - t0, 840)  # the plot of a 1600 px window
    labels = [label for _, label in tick_times(t0, t1, major, UTC)]
    assert labels == ["Jul", "Oct", "2025", "Apr", "Jul", "Oct", "2026", "Apr", "Jul", "Oct"]
    assert minor is not None and minor.step == 1  # months between them, unlabelled
    decade_end = _ms(2034, 1, 1)
    decade, _ = choose_units(decade_end - t0, 840)
    assert all(label.isdigit() for _, label in tick_times(t0, decade_end, decade, UTC))  # years again


def test_a_year_labels_every_month_and_names_the_year_at_new_year() -> None:
    t0, t1 = _ms(2025, 9, 8), _ms(2026, 9, 9)
    major, _ = choose_units(t1 - t0, 840)
    labels = [label for _, label in tick_times(t0, t1, major, UTC)]
    assert labels == ["Oct", "Nov", "Dec", "2026", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep"]
