"""What the lanes draw, on synthetic data without a database: today, hints, locks, shapes, search.

The view is built straight from columns (nothing is fetched), with a fixed
"today", so each test can set up exactly the picture it needs.
"""

from __future__ import annotations

import uuid

import pytest
from pytestqt.qtbot import QtBot

from ui.operations import OperationRunner
from ui.timeline_view import TimelineView
from viewer.services.bench_data import synthetic_history
from viewer.services.patients import PatientSummary
from viewer.services.timeline_query import TimelineColumns, from_epoch_ms
from viewer.view_range import DAY_MS, ViewRange

pytestmark = pytest.mark.ui

SIZE = (1200, 640)


def make_view(qtbot: QtBot, columns: TimelineColumns, today_ms: float) -> TimelineView:
    timeline = TimelineView(OperationRunner())
    qtbot.addWidget(timeline)
    timeline.resize(*SIZE)
    timeline.body.setSizes([SIZE[0], 0])
    timeline.show()
    patient = PatientSummary(
        uuid.UUID(int=7),
        "drawing",
        "Drawing Patient",
        len(columns),
        from_epoch_ms(int(columns.time_ms[0])),
        from_epoch_ms(int(columns.time_ms[-1])),
    )
    timeline.clock = lambda: today_ms / 1000.0
    timeline.set_timeline(None, patient, columns)  # type: ignore[arg-type]  # no database: nothing is fetched
    qtbot.waitUntil(lambda: timeline.lod_ready)
    return timeline


@pytest.fixture
def columns() -> TimelineColumns:
    return synthetic_history(2_500, seed=5, years=2.0).columns(seed=5)


def _paint(view: TimelineView) -> None:
    view.plot.viewport().repaint()
    view.plot.grab()


def test_today_is_in_the_whole_view_of_a_recent_history(qtbot: QtBot, columns: TimelineColumns) -> None:
    today = float(columns.time_ms[-1]) + 60 * DAY_MS  # well past the whole view's margin
    view = make_view(qtbot, columns, today)
    assert view.history is not None and view.history.contains(today)
    assert view.plot.today.isVisible() and view.plot.today.label.isVisible()


def test_the_today_label_hides_with_its_line(qtbot: QtBot, columns: TimelineColumns) -> None:
    today = float(columns.time_ms[-1]) + 20 * DAY_MS
    view = make_view(qtbot, columns, today)
    view.plot.set_view_range(ViewRange(today - 40 * DAY_MS, today - 10 * DAY_MS))  # today just off the right
    _paint(view)
    assert not view.plot.today.isVisible() and not view.plot.today.label.isVisible()
    view.plot.set_view_range(ViewRange(today - 20 * DAY_MS, today + 2 * DAY_MS))
    assert view.plot.today.isVisible() and view.plot.today.label.isVisible()


def test_an_old_history_is_shown_without_today(qtbot: QtBot, columns: TimelineColumns) -> None:
    today = float(columns.time_ms[-1]) + 5 * 365 * DAY_MS
    view = make_view(qtbot, columns, today)
    assert view.history == ViewRange.covering(float(columns.time_ms[0]), float(columns.time_ms[-1]))
    assert not view.plot.today.label.isVisible()
