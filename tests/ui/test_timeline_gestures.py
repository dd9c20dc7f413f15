"""Mouse and trackpad gestures on the lanes and the overview, sent as real Qt events.

Drag pans, Shift+drag zooms to the dragged range, a trackpad pinch (a native
zoom gesture on the viewport) zooms around the fingers, and dragging the box
in the overview strip moves the window.  Events go to the widgets' viewports,
as the window system would send them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QNativeGestureEvent, QPointingDevice
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.conftest import UiDatabase, open_patient
from ui.main_window import MainWindow
from ui.timeline_view import TimelineView
from viewer.view_range import MONTH_MS, ViewRange

pytestmark = pytest.mark.ui


@pytest.fixture
def every_mouse_move() -> Iterator[None]:
    """pyqtgraph drops moves closer together than a screen refresh; these arrive microseconds apart."""
    previous = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOption("mouseRateLimit", 0)
    yield
    pg.setConfigOption("mouseRateLimit", previous)


@pytest.fixture
def view(qtbot: QtBot, ui_database: UiDatabase) -> TimelineView:
    window = MainWindow(ui_database.settings)
    qtbot.addWidget(window)
    window.resize(1400, 800)
    window.show()
    with qtbot.waitSignal(window.databaseReady, timeout=30_000):
        window.start()
    timeline = open_patient(qtbot, window, "Aspen Busy")
    qtbot.keyClick(timeline.plot, Qt.Key.Key_2)  # a month in the middle of the history, room on both sides
    timeline.plot.set_view_range(ViewRange.around(float(timeline.columns.time_ms[320]), MONTH_MS))
    return timeline


def _send(widget: QWidget, kind: QMouseEvent.Type, pos: QPoint, buttons: Qt.MouseButton,
          modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # fmt: skip
    button = Qt.MouseButton.LeftButton if kind != QMouseEvent.Type.MouseMove else Qt.MouseButton.NoButton
    local = QPointF(pos)
    event = QMouseEvent(kind, local, local, QPointF(widget.mapToGlobal(pos)), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def _drag(widget: QWidget, start: QPoint, end: QPoint,
          modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # fmt: skip
    """Press, move in steps (as a hand does), release, with the left button held throughout."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _send(widget, QMouseEvent.Type.MouseButtonPress, start, left, modifiers)
    for step in range(1, 11):
        _send(widget, QMouseEvent.Type.MouseMove, start + (end - start) * step / 10, left, modifiers)
    _send(widget, QMouseEvent.Type.MouseButtonRelease, end, none, modifiers)


def _x_of(view: TimelineView, time_ms: float) -> int:
    scene = view.plot.view_box.mapViewToScene(QPointF(time_ms / 1000.0, 3.5))
    return view.plot.mapFromScene(scene).x()


def _time_at(view: TimelineView, x: int) -> float:
    scene = view.plot.mapToScene(QPoint(x, 0))
    return float(view.plot.view_box.mapSceneToView(scene).x()) * 1000.0


@pytest.mark.usefixtures("every_mouse_move")
def test_dragging_the_lanes_pans_by_the_dragged_time(view: TimelineView) -> None:
    before = view.plot.view_range()
    viewport = view.plot.viewport()
    y = _y_between_lanes(view)
    start, end = QPoint(_x_of(view, before.centre_ms), y), QPoint(_x_of(view, before.centre_ms) - 300, y)
    dragged_ms = _time_at(view, start.x()) - _time_at(view, end.x())
    _drag(viewport, start, end)
    after = view.plot.view_range()
    assert after.span_ms == pytest.approx(before.span_ms, rel=1e-6)  # a pan, not a zoom
    assert after.start_ms - before.start_ms == pytest.approx(dragged_ms, rel=0.02)  # later, by the drag
    assert view.selected_row is None  # a drag is not a click


@pytest.mark.usefixtures("every_mouse_move")
def test_shift_drag_zooms_to_the_dragged_range(view: TimelineView) -> None:
    before = view.plot.view_range()
    y = _y_between_lanes(view)
    left, right = (
        _x_of(view, before.start_ms + before.span_ms * 0.3),
        _x_of(view, before.start_ms + before.span_ms * 0.6),
    )
    expected = (_time_at(view, left), _time_at(view, right))
    _drag(view.plot.viewport(), QPoint(left, y), QPoint(right, y), Qt.KeyboardModifier.ShiftModifier)
    after = view.plot.view_range()
    assert after.start_ms == pytest.approx(expected[0], abs=before.span_ms * 0.005)
    assert after.end_ms == pytest.approx(expected[1], abs=before.span_ms * 0.005)


def test_a_native_pinch_zooms_around_the_fingers(view: TimelineView) -> None:
    before = view.plot.view_range()
    viewport = view.plot.viewport()
    fingers = QPointF(_x_of(view, before.start_ms + before.span_ms * 0.25), _y_between_lanes(view))
    anchor = _time_at(view, round(fingers.x()))
    for kind, value in (
        (Qt.NativeGestureType.BeginNativeGesture, 0.0),
        (Qt.NativeGestureType.ZoomNativeGesture, 0.3),
        (Qt.NativeGestureType.ZoomNativeGesture, 0.2),
        (Qt.NativeGestureType.EndNativeGesture, 0.0),
    ):
        event = QNativeGestureEvent(
            kind,
            QPointingDevice.primaryPointingDevice(),
            2,
            fingers,
            fingers,
            QPointF(viewport.mapToGlobal(fingers.toPoint())),
            value,
            QPointF(0, 0),
        )
        QApplication.sendEvent(viewport, event)
    after = view.plot.view_range()
    assert after.span_ms == pytest.approx(before.span_ms * 0.7 * 0.8, rel=1e-3)  # fingers spread: closer
    ratio_before = (anchor - before.start_ms) / before.span_ms
    assert (anchor - after.start_ms) / after.span_ms == pytest.approx(ratio_before, abs=1e-3)


def test_dragging_the_overview_box_moves_the_window(qtbot: QtBot, view: TimelineView) -> None:
    """A fast drag: pyqtgraph keeps only the first move, so the release must carry the box home."""
    overview = view.overview
    qtbot.waitUntil(lambda: abs(overview.window_box.getRegion()[0] * 1000 - view.plot.view_range().start_ms) < 1000,
                    timeout=5_000)  # fmt: skip
    before = view.plot.view_range()
    box = overview.getViewBox()

    def x_in_overview(time_ms: float) -> int:
        return overview.mapFromScene(box.mapViewToScene(QPointF(time_ms / 1000.0, 4.0))).x()

    y = overview.mapFromScene(box.mapViewToScene(QPointF(before.centre_ms / 1000.0, 4.0))).y()
    start = QPoint(x_in_overview(before.centre_ms), y)
    end = start + QPoint(-120, 0)
    moved_ms = (
        box.mapSceneToView(overview.mapToScene(start)).x() - box.mapSceneToView(overview.mapToScene(end)).x()
    ) * 1000
    _drag(overview.viewport(), start, end)
    after = view.plot.view_range()
    assert after.span_ms == pytest.approx(before.span_ms, rel=1e-3)
    assert before.start_ms - after.start_ms == pytest.approx(moved_ms, rel=0.02)
    assert view.plot.hasFocus() or QApplication.focusWidget() is not overview  # the strip hands keys on


def _y_between_lanes(view: TimelineView) -> int:
    """A height with no markers (between two lanes), so presses never land on an event."""
    scene = view.plot.view_box.mapViewToScene(QPointF(view.plot.view_range().centre_ms / 1000.0, 3.5))
    return view.plot.mapFromScene(scene).y()
