"""The calendar axis' own tick layout gives what pyqtgraph's general one gave, for any window.

``CalendarAxis.generateDrawSpecs`` re-implements pyqtgraph's layout for a
bottom axis to keep repaints cheap; the look must not change.  Both are run
on the same axis and painter for windows from minutes to centuries and must
agree on every tick (pen, ends) and every drawn label (text, rectangle,
flags), and on the height the axis reserves for its labels.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainter, QPicture
from pytestqt.qtbot import QtBot

from ui.overview_strip import OverviewStrip
from ui.time_axis import CalendarAxis, TickRun
from ui.timeline_plot import TimelinePlot
from viewer.view_range import DAY_MS, ViewRange

pytestmark = pytest.mark.ui

Spec = tuple[Any, ...]


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _specs(axis: CalendarAxis, generate: Any) -> Spec:
    """Run one layout on a fresh picture, as ``AxisItem.paint`` does; ticks and labels as plain tuples."""
    picture = QPicture()
    painter = QPainter(picture)
    try:
        if axis.style["tickFont"]:
            painter.setFont(axis.style["tickFont"])
        specs = generate(painter)
    finally:
        painter.end()
    assert specs is not None
    line, ticks, texts = specs
    if ticks and isinstance(ticks[0], TickRun):
        ticks = [(run.pen, QPointF(x, run.top), QPointF(x, run.bottom)) for run in ticks for x in run.x]
    return (
        (line[0].color().rgba(), line[1].x(), line[1].y(), line[2].x(), line[2].y()),
        [(pen.color().rgba(), a.x(), a.y(), b.x(), b.y()) for pen, a, b in ticks],
        [(r.x(), r.y(), r.width(), r.height(), int(flags), text) for r, flags, text in texts if text],
        axis.textHeight,
    )


def _windows(count: int) -> list[ViewRange]:
    rng = np.random.default_rng(3)
    windows = [ViewRange(1.7e12, 1.7e12 + DAY_MS), ViewRange(1.7e12 - 40 * 365 * DAY_MS, 1.7e12)]
    for _ in range(count):
        start = 1.7e12 + rng.uniform(-3e11, 3e11)
        windows.append(ViewRange(start, start + 10 ** rng.uniform(4.5, 11.5)))  # 30 s to about 10 years
    return windows


def _agrees_with_pyqtgraph(
    qtbot: QtBot, plot: pg.PlotWidget, axis: CalendarAxis, windows: list[ViewRange]
) -> int:
    qtbot.addWidget(plot)
    plot.resize(1600, 600)
    plot.show()
    qtbot.waitExposed(plot)
    labelled = 0
    for window in windows:
        plot.getViewBox().setXRange(window.start_ms / 1000, window.end_ms / 1000, padding=0)
        ours = _specs(axis, axis.generateDrawSpecs)
        theirs = _specs(axis, lambda painter: pg.AxisItem.generateDrawSpecs(axis, painter))
        assert ours == theirs, window
        labelled += bool(ours[2])
    return labelled


def test_the_timeline_axis_lays_out_ticks_and_labels_as_pyqtgraph_did(qtbot: QtBot, utc: None) -> None:
    plot = TimelinePlot()
    windows = _windows(120)
    labelled = _agrees_with_pyqtgraph(qtbot, plot, plot.time_axis, windows)
    assert labelled == len(windows)  # and every window had labels to compare


def test_the_overview_axis_too(qtbot: QtBot, utc: None) -> None:
    strip = OverviewStrip()
    axis = strip.getPlotItem().getAxis("bottom")
    assert isinstance(axis, CalendarAxis)
    assert _agrees_with_pyqtgraph(qtbot, strip, axis, _windows(30)) > 0
