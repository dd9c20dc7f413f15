"""Calendar ticks: a clock-time window names its day on the first label; other windows do not change.

The tick cache answers what ``tick_times`` would, also after the local zone changes.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viewer.time_ticks import DATED_LABEL_PX, UNITS, TickCache, choose_units, fit_dated_label, tick_times


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


def test_a_window_across_midnight_names_the_day_before_it_too() -> None:
    """Only "Tue 14 Oct" was named, and the hours before that midnight were left to guesswork."""
    t0, t1 = _ms(2025, 10, 13, 12), _ms(2025, 10, 14, 12)
    major, _ = choose_units(t1 - t0, 1400)
    labels = [label for _, label in tick_times(t0, t1, major, UTC)]
    assert "Tue 14 Oct" in labels and labels[0][:1].isdigit()  # the tick on the edge is not drawn
    assert labels[1].startswith("Mon 13 Oct, ")
    assert sum(", " in label for label in labels) == 1


def test_a_window_starting_at_midnight_is_named_by_that_midnight() -> None:
    t0, t1 = _ms(2025, 10, 13, 23), _ms(2025, 10, 14, 23)
    major, _ = choose_units(t1 - t0, 1400)
    labels = [label for at, label in tick_times(t0, t1, major, UTC) if at > t0 + (t1 - t0) * 0.02]
    assert labels[0] == "Tue 14 Oct" and not any(", " in label for label in labels)


@pytest.mark.parametrize("width_px", [720, 900, 1100])
def test_a_week_in_a_narrow_lane_labels_its_days(width_px: int) -> None:
    """At about 100 px a day the axis fell back to Mondays: a week showed one label or none."""
    t0, t1 = _ms(2026, 10, 5), _ms(2026, 10, 12)  # Monday to Monday
    major, minor = choose_units(t1 - t0, width_px)
    ticks = tick_times(t0, t1, major, UTC)
    inside = [label for at, label in ticks if t0 + (t1 - t0) * 0.05 < at < t1 - (t1 - t0) * 0.05]
    assert len(inside) >= 3 and all(
        label[:3] in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} for label in inside
    )
    assert minor is not None and major.approx_ms % minor.approx_ms == 0  # minor ticks divide the major step


def test_every_other_day_stays_put_under_a_pan() -> None:
    major = next(unit for unit in UNITS if unit.step == 2 and unit.approx_ms == 2 * 86_400_000)
    day = 86_400_000
    t0 = _ms(2026, 10, 5)
    seen = [
        set(at for at, _ in tick_times(t0 + k * day / 3, t0 + k * day / 3 + 7 * day, major, UTC))
        for k in range(6)
    ]
    for a, b in itertools.pairwise(seen):
        common = a & b
        assert len(common) >= 2 and all((t - min(common)) % (2 * day) == 0 for t in common)


def test_a_dated_label_near_the_left_edge_moves_to_a_tick_with_room() -> None:
    """Clipped on the left, the axis dropped it: the window named no day at all."""
    t0, t1 = _ms(2026, 6, 15, 13, 32, 30), _ms(2026, 6, 15, 13, 48, 6)  # about 15.6 minutes
    major, _ = choose_units(t1 - t0, 1000)
    ticks = tick_times(t0, t1, major, UTC)
    fitted = fit_dated_label(ticks, t0, t1, 1000, UTC)
    px = {at: (at - t0) * 1000 / (t1 - t0) for at, _ in ticks}
    dated = [(at, label) for at, label in fitted if ", " in label]
    assert len(dated) == 1 and dated[0][1].startswith("Mon 15 Jun, ")
    assert DATED_LABEL_PX / 2 <= px[dated[0][0]] <= 1000 - DATED_LABEL_PX / 2


def test_a_tight_neighbour_of_the_dated_label_is_left_out() -> None:
    """At the closest zoom "Mon 15 Jun, 13:33" ran into "13:34"."""
    t0 = _ms(2026, 6, 15, 13, 32)
    t1 = t0 + 10 * 60_000
    major, _ = choose_units(t1 - t0, 740)
    fitted = fit_dated_label(tick_times(t0, t1, major, UTC), t0, t1, 740, UTC)
    labels = [label for _, label in fitted]
    at = next(i for i, label in enumerate(labels) if ", " in label)
    assert labels[at + 1] == "" and labels[at + 2][:1].isdigit()
    roomy = fit_dated_label(tick_times(t0, t1, major, UTC), t0, t1, 2400, UTC)
    assert all(label for _, label in roomy)  # with room, nothing is left out


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


BERLIN = ZoneInfo("Europe/Berlin")  # daylight saving: hours repeat in October and vanish in March


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(_ms(2019, 1, 1), _ms(2027, 1, 1)),
    span=st.floats(60_000.0, 12 * 365.25 * 86_400_000),
    moves=st.lists(
        st.tuples(st.sampled_from(["pan", "zoom"]), st.floats(-0.6, 0.6)), min_size=1, max_size=25
    ),
    zone=st.sampled_from([UTC, BERLIN]),
)
def test_a_gesture_gets_from_the_cache_what_tick_times_gives_each_window(
    start: float, span: float, moves: list[tuple[str, float]], zone: ZoneInfo
) -> None:
    """Windows of a pan or zoom are answered by slicing walks of their neighbours: nothing may differ."""
    cache = TickCache()
    t0, t1 = start, start + span
    for kind, amount in moves:
        if kind == "pan":
            t0, t1 = t0 + amount * (t1 - t0), t1 + amount * (t1 - t0)
        else:
            middle, half = (t0 + t1) / 2, (t1 - t0) / 2 * (1 + amount)
            t0, t1 = middle - max(half, 30_000.0), middle + max(half, 30_000.0)
        major, minor = choose_units(t1 - t0, 1600)
        for unit in (major, minor) if minor is not None else (major,):
            for labels in (True, False):
                assert cache.ticks(t0, t1, unit, zone, labels=labels) == tuple(
                    tick_times(t0, t1, unit, zone, labels=labels)
                ), (unit, t0, t1, labels)


def test_the_cache_walks_a_pan_once_every_few_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    import viewer.time_ticks as ticks

    walks = []
    real = ticks._walk

    def counted(*args: object) -> object:
        walks.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(ticks, "_walk", counted)
    cache = TickCache()
    t0, span = _ms(2025, 3, 1), 30 * 86_400_000.0
    unit, _ = choose_units(span, 1600)
    for frame in range(25):  # 2% of the window a frame: a drag
        start = t0 + frame * 0.02 * span
        assert cache.ticks(start, start + span, unit, BERLIN) == tuple(
            tick_times(start, start + span, unit, BERLIN)
        )
    assert len(walks) <= 25 + 1  # tick_times above walks each window once itself
    assert len(walks) - 25 == 1  # the cache walked once for all 25 windows


def test_the_calendar_ends_are_answered_too() -> None:
    cache = TickCache()
    for unit in UNITS:
        first = datetime(1, 1, 1, tzinfo=UTC).timestamp() * 1000
        assert cache.ticks(first, first + unit.approx_ms * 3, unit, UTC) == tuple(
            tick_times(first, first + unit.approx_ms * 3, unit, UTC)
        )
        last = datetime(9999, 12, 31, tzinfo=UTC).timestamp() * 1000
        assert cache.ticks(last - unit.approx_ms * 3, last, unit, UTC) == tuple(
            tick_times(last - unit.approx_ms * 3, last, unit, UTC)
        )


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


def _ms(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp() * 1000


@pytest.mark.parametrize(("minutes", "step_min"), [(30, 30), (60, 60), (15, 15)])
def test_clock_ticks_say_the_time_they_sit_at_across_daylight_saving(minutes: int, step_min: int) -> None:
    unit = next(u for u in UNITS if u.approx_ms == step_min * 60_000)
    for t0, t1 in (
        (_ms(2026, 3, 28, 23), _ms(2026, 3, 29, 5)),
        (_ms(2026, 10, 24, 22), _ms(2026, 10, 25, 4)),
    ):
        ticks = tick_times(t0, t1, unit, BERLIN)
        for at, label in ticks:
            local = datetime.fromtimestamp(at / 1000, BERLIN)
            assert label.endswith(f"{local:%H:%M}") or label == f"{local:%a} {local.day} {local:%b}"
        gaps = {b - a for (a, _), (b, _) in itertools.pairwise(ticks)}
        assert gaps == {minutes * 60_000}  # evenly spaced in real time: no hole in the repeated hour
    autumn = [label for _, label in tick_times(_ms(2026, 10, 24, 23), _ms(2026, 10, 25, 2), unit, BERLIN)]
    assert sum(label.endswith("02:00") for label in autumn) == 2  # the hour the clocks pass twice, twice


def test_wall_clock_steps_stay_on_their_hours_across_daylight_saving() -> None:
    six_hours = next(u for u in UNITS if u.approx_ms == 6 * 3_600_000)
    labels = [label for _, label in tick_times(_ms(2026, 3, 28, 0), _ms(2026, 3, 30, 0), six_hours, BERLIN)]
    assert [label[-5:] for label in labels if ":" in label] == ["06:00", "12:00", "18:00"] * 2


def test_a_span_of_millennia_is_labelled_on_round_years() -> None:
    """A history with a far-off date spans centuries; the first century has no year 0 to start from."""
    start = datetime(1, 6, 1, tzinfo=UTC).timestamp() * 1000
    end = datetime(9000, 1, 1, tzinfo=UTC).timestamp() * 1000
    major, _minor = choose_units(end - start, 1600)
    assert major.step >= 500
    labels = [int(label) for _t, label in tick_times(start, end, major, UTC)]
    assert labels and all(year % major.step == 0 for year in labels)
    assert labels == sorted(labels) and labels[0] == major.step


@pytest.mark.parametrize(
    "zone", ["Asia/Tokyo", "Pacific/Kiritimati", "America/New_York", "Pacific/Pago_Pago"]
)
def test_windows_past_the_calendars_ends_walk_without_raising(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day view around 31 Dec 9999 in Tokyo raised "year 10000 is out of range" inside a paint,
    which crashed Qt; the first hours of year 1 west of Greenwich are local year 0."""
    from viewer.view_range import CALENDAR_END_MS, CALENDAR_START_MS, DAY_MS

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        for edge in (CALENDAR_START_MS, CALENDAR_END_MS):
            for unit in UNITS:
                ticks = tick_times(edge - DAY_MS, edge + DAY_MS, unit, None)
                assert [t for t, _label in ticks] == sorted({t for t, _label in ticks})
                TickCache().ticks(edge - DAY_MS, edge + DAY_MS, unit, None)
        # The first year is labelled too: its walk used to start at a boundary before the calendar.
        year = (CALENDAR_START_MS - DAY_MS, CALENDAR_START_MS + 365 * DAY_MS)
        major, _minor = choose_units(year[1] - year[0], 722)
        assert len(tick_times(*year, major, None)) >= 3
    finally:
        monkeypatch.undo()
        time.tzset()
