"""Keyboard focus: the timeline's keys work after a patient is chosen and after its own buttons.

Keys go to whichever widget has focus, so these tests send them to
``QApplication.focusWidget()``, never straight to the plot: that is what a
therapist's keyboard does.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.conftest import UiDatabase
from ui.main_window import MainWindow
from viewer.view_range import MONTH_MS

pytestmark = pytest.mark.ui


@pytest.fixture
def window(qtbot: QtBot, ui_database: UiDatabase) -> MainWindow:
    win = MainWindow(ui_database.settings)
    qtbot.addWidget(win)
    win.resize(1400, 800)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5_000)
    with qtbot.waitSignal(win.databaseReady, timeout=30_000):
        win.start()
    return win


def _row(window: MainWindow, name: str) -> QModelIndex:
    model = window.patients.list.model()
    return next(model.index(r, 0) for r in range(model.rowCount()) if model.index(r, 0).data() == name)


def _focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has keyboard focus"
    return widget


def _press(qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(_focused(), key, modifier)


def _click_patient(qtbot: QtBot, window: MainWindow, name: str) -> None:
    listing = window.patients.list
    index = _row(window, name)
    with qtbot.waitSignal(window.timelineShown, timeout=30_000):
        qtbot.mouseClick(
            listing.viewport(), Qt.MouseButton.LeftButton, pos=listing.visualRect(index).center()
        )


def test_clicking_a_patient_gives_the_timeline_the_keys(qtbot: QtBot, window: MainWindow) -> None:
    _click_patient(qtbot, window, "Aspen Busy")
    view = window.timeline
    assert _focused() is view.plot
    _press(qtbot, Qt.Key.Key_Right)
    assert view.selected_row is not None
    first = view.selected_row
    _press(qtbot, Qt.Key.Key_Right)
    assert view.selected_row == first + 1


def test_after_a_preset_button_arrows_still_step_events(qtbot: QtBot, window: MainWindow) -> None:
    _click_patient(qtbot, window, "Aspen Busy")
    view = window.timeline
    for name in ("presetMonth", "zoomIn", "presetWeek", "presetAll"):
        button = view.findChild(QWidget, name)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert _focused() is view.plot, name
    qtbot.mouseClick(view.findChild(QWidget, "presetMonth"), Qt.MouseButton.LeftButton)
    span = view.plot.view_range().span_ms
    assert span == pytest.approx(MONTH_MS, rel=1e-6)
    _press(qtbot, Qt.Key.Key_Right)
    assert view.selected_row is not None  # a step, not a move to the next button
    _press(qtbot, Qt.Key.Key_Minus)
    assert view.plot.view_range().span_ms > span
    _press(qtbot, Qt.Key.Key_1)
    assert _focused() is view.plot


def test_filter_controls_clicked_with_the_mouse_leave_the_keys_to_the_timeline(
    qtbot: QtBot, window: MainWindow
) -> None:
    _click_patient(qtbot, window, "Aspen Busy")
    view = window.timeline
    for box in list(view.filters.type_boxes.values())[:2]:
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.filters.use_dates, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.filters.use_dates, Qt.MouseButton.LeftButton)
    assert _focused() is view.plot
    before = view.filters.importance.currentIndex()
    _press(qtbot, Qt.Key.Key_Right)
    assert view.filters.importance.currentIndex() == before and view.selected_row is not None


def test_browsing_patients_with_the_keyboard_keeps_the_list_focused(qtbot: QtBot, window: MainWindow) -> None:
    listing = window.patients.list
    listing.setFocus()
    listing.setCurrentIndex(_row(window, "Aspen Busy"))
    qtbot.waitUntil(lambda: window.timeline.patient is not None, timeout=30_000)
    with qtbot.waitSignal(window.timelineShown, timeout=30_000):
        _press(qtbot, Qt.Key.Key_Down)
    assert _focused() is listing
    assert window.timeline.patient is not None and window.timeline.patient.display_name == "Birch Small"
    with qtbot.waitSignal(window.timelineShown, timeout=30_000):
        _press(qtbot, Qt.Key.Key_Up)
    assert _focused() is listing  # Up and Down still browse; Enter hands the keys to the timeline
    _press(qtbot, Qt.Key.Key_Return)
    assert _focused() is window.timeline.plot


def test_typing_a_patient_name_and_enter_opens_the_timeline_with_its_keys(
    qtbot: QtBot, window: MainWindow
) -> None:
    search = window.patients.search
    search.setFocus()
    qtbot.keyClicks(search, "bir")
    with qtbot.waitSignal(window.timelineShown, timeout=30_000):
        qtbot.keyClick(search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _focused() is window.timeline.plot, timeout=5_000)
    _press(qtbot, Qt.Key.Key_Right)
    assert window.timeline.selected_row is not None


def test_choosing_an_importance_from_the_list_leaves_the_keys_to_the_timeline(
    qtbot: QtBot, window: MainWindow
) -> None:
    _click_patient(qtbot, window, "Aspen Busy")
    combo = window.timeline.filters.importance
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: combo.view().isVisible(), timeout=5_000)
    combo.hidePopup()
    combo.setCurrentIndex(2)
    qtbot.waitUntil(lambda: not combo.view().isVisible(), timeout=5_000)
    assert _focused() is window.timeline.plot
