"""The empty-window hint names the nearest events on either side, or only the side that has one."""

from __future__ import annotations

from datetime import datetime

from viewer.timeline_hint import empty_view_hint, short_date


def _ms(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, 12).astimezone().timestamp() * 1000)


def test_both_sides() -> None:
    assert (
        empty_view_hint(_ms(2026, 10, 30), _ms(2027, 1, 3))
        == "No events in this range · ← previous 30 Oct 2026 · → next 3 Jan 2027"
    )


def test_one_side_or_none() -> None:
    assert empty_view_hint(_ms(2026, 10, 30), None) == "No events in this range · ← previous 30 Oct 2026"
    assert empty_view_hint(None, _ms(2025, 2, 1)) == "No events in this range · → next 1 Feb 2025"
    assert empty_view_hint(None, None) == "No events in this range"
    assert short_date(_ms(2024, 12, 9)) == "9 Dec 2024"
