"""Local wall-clock times across daylight saving time: the gap, the repeated hour, the round trip."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from viewer.local_time import NoSuchLocalTime, is_repeated, moment_of, utc_offset_text, wall_of


@pytest.fixture(params=["Europe/Berlin", "America/New_York"])
def zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


SKIPPED = {"Europe/Berlin": datetime(2026, 3, 29, 2, 30), "America/New_York": datetime(2026, 3, 8, 2, 15)}
REPEATED = {"Europe/Berlin": datetime(2026, 10, 25, 2, 30), "America/New_York": datetime(2026, 11, 1, 1, 30)}


def test_a_time_the_clocks_skip_is_named_with_the_time_meant(zone: str) -> None:
    wall = SKIPPED[zone]
    with pytest.raises(NoSuchLocalTime) as raised:
        moment_of(wall)
    assert raised.value.field == "event_date"
    assert raised.value.instead == wall + timedelta(hours=1)
    assert f"did you mean {wall.hour + 1:02d}:{wall.minute:02d}?" in raised.value.message
    assert not is_repeated(wall)


def test_a_repeated_time_names_two_moments_an_hour_apart_and_each_round_trips(zone: str) -> None:
    wall = REPEATED[zone]
    assert is_repeated(wall)
    first, second = moment_of(wall), moment_of(wall, second=True)
    assert second - first == timedelta(hours=1)
    assert wall_of(first) == (wall, False) and wall_of(second) == (wall, True)
    assert utc_offset_text(first) != utc_offset_text(second)


def test_an_ordinary_time_has_one_moment(zone: str) -> None:
    wall = datetime(2026, 6, 1, 12, 0)
    assert not is_repeated(wall)
    assert moment_of(wall) == moment_of(wall, second=True)
    assert moment_of(wall).astimezone(UTC).hour == (10 if zone == "Europe/Berlin" else 16)


def test_a_time_beyond_what_can_be_stored_is_refused_not_crashed(zone: str) -> None:
    with pytest.raises(NoSuchLocalTime) as raised:
        moment_of(datetime(1, 1, 1, 0, 0) if zone == "Europe/Berlin" else datetime(9999, 12, 31, 23, 59))
    assert raised.value.instead is None and "years 1 to 9999" in raised.value.message


@contextmanager
def _berlin() -> Iterator[None]:
    """TZ=Europe/Berlin for a block (hypothesis runs its examples inside one test call, not per fixture)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@given(st.integers(min_value=0, max_value=10 * 366 * 24 * 4))
def test_every_moment_round_trips_through_its_wall_time(quarter_hours: int) -> None:
    moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * quarter_hours)
    with _berlin():
        wall, second = wall_of(moment)
        assert moment_of(wall, second=second) == moment


def test_the_detail_pane_says_which_of_a_repeated_time_it_means(zone: str) -> None:
    from viewer.event_text import format_when

    wall = REPEATED[zone]
    first, second = (moment_of(wall, second=s).astimezone(UTC).replace(tzinfo=None) for s in (False, True))
    assert format_when(first) != format_when(second)
    assert format_when(second).endswith(f"({utc_offset_text(moment_of(wall, second=True))})")
    ordinary = datetime(2026, 6, 1, 10, 0)
    assert "UTC" not in format_when(ordinary)
