"""What the lanes draw, on synthetic data without a database: today, hints, locks, shapes, search.

The view is built straight from columns (nothing is fetched), with a fixed
"today", so each test can set up exactly the picture it needs.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from ui.event_layer import marker_sprite
from ui.operations import OperationRunner
from ui.style import IMPORTANCE_STYLES, LANE_BAND_COLOURS
from ui.timeline_view import TimelineView
from viewer.domain import Importance
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


def _ink(importance: Importance) -> np.ndarray:
    """Where the marker's sprite is opaque and not white, centred in a 40x40 grid: its shape."""
    image = marker_sprite(importance, 2.0).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    grid = np.zeros((40, 40), dtype=np.bool_)
    top, left = (40 - image.height()) // 2, (40 - image.width()) // 2
    for y in range(image.height()):
        for x in range(image.width()):
            colour = QColor.fromRgba(image.pixel(x, y))
            grid[top + y, left + x] = colour.alpha() > 128 and colour.lightnessF() < 0.85
    return grid


def test_each_importance_has_its_own_shape(qtbot: QtBot) -> None:
    masks = {level: _ink(level) for level in Importance}
    for a in Importance:
        for b in Importance:
            if a < b:
                different = np.logical_xor(masks[a], masks[b]).sum()
                assert different > 0.3 * max(masks[a].sum(), masks[b].sum()), (a, b)
    assert masks[Importance.LOW][20, 20] == np.False_  # hollow: low events recede but keep their outline


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    q = QColor(colour)
    return 0.2126 * channel(q.red()) + 0.7152 * channel(q.green()) + 0.0722 * channel(q.blue())


def test_low_markers_stand_out_on_both_lane_bands() -> None:
    outline = _luminance(IMPORTANCE_STYLES[Importance.LOW].outline)
    for band in LANE_BAND_COLOURS:
        contrast = (_luminance(band) + 0.05) / (outline + 0.05)
        assert contrast >= 4.5, band  # WCAG AA even for text; 3:1 is the bar for graphics


def test_the_legend_shows_the_markers_the_lanes_draw(qtbot: QtBot, columns: TimelineColumns) -> None:
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    for level in Importance:
        icon = view.legend.findChild(QLabel, f"legend{level.label}Marker")
        assert icon is not None and icon.accessibleName()
        assert icon.pixmap().toImage() == marker_sprite(level, view.devicePixelRatioF()).toImage()
