"""pytest-qt smoke tests of the first window, driven by objectName."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QListView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.ui.conftest import UiDatabase, open_patient
from tests.ui.naming import unnamed
from ui.main_window import PATIENT_LIST_MIN_WIDTH, MainWindow
from ui.timeline_view import TimelineView

pytestmark = pytest.mark.ui


@pytest.fixture
def window(qtbot: QtBot, ui_database: UiDatabase) -> MainWindow:
    win = MainWindow(ui_database.settings)
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    with qtbot.waitSignal(win.databaseReady, timeout=30_000):
        win.start()
    return win


def _select(qtbot: QtBot, window: MainWindow, name: str) -> None:
    open_patient(qtbot, window, name)


def test_patients_listed_in_name_order(window: MainWindow) -> None:
    listing = window.findChild(QListView, "patientList")
    model = listing.model()
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == [
        "Aspen Busy",
        "Birch Small",
        "Cedar Empty",
    ]
    assert window.findChild(QLabel, "demoBanner").isHidden()  # no demo users in this database


def test_search_filters_the_list(qtbot: QtBot, window: MainWindow) -> None:
    search = window.findChild(QLineEdit, "patientSearch")
    listing = window.findChild(QListView, "patientList")
    qtbot.keyClicks(search, "bir")
    assert listing.model().rowCount() == 1
    assert listing.model().index(0, 0).data() == "Birch Small"
    qtbot.keyClick(search, Qt.Key.Key_Return)
    assert listing.currentIndex().data() == "Birch Small"
    search.clear()
    assert listing.model().rowCount() == 3


def test_selecting_a_patient_draws_their_events(
    qtbot: QtBot, window: MainWindow, ui_database: UiDatabase
) -> None:
    _select(qtbot, window, "Aspen Busy")
    view = window.findChild(TimelineView, "timelineView")
    assert view.stack.currentWidget() is view.body
    assert window.columns is not None and len(window.columns) == 640
    # Lanes follow the event types; the whole history is in view.
    assert set(np.unique(window.columns.lane)) == set(range(8))
    assert int(window.columns.is_private.sum()) == 64
    view.plot.grab()  # paint once
    frame = view.plot.layer.last_frame
    assert view.plot.layer.paint_error is None
    assert frame is not None and frame.visible_count == 640
    assert window.findChild(QLabel, "timelineHeader").text() == "Aspen Busy"


def test_empty_patient_says_so(qtbot: QtBot, window: MainWindow) -> None:
    _select(qtbot, window, "Cedar Empty")
    message = window.findChild(QLabel, "timelineMessage")
    assert message.isVisible()
    assert "No events" in message.text()


def test_switching_patient_quickly_shows_the_last_choice(qtbot: QtBot, window: MainWindow) -> None:
    listing = window.findChild(QListView, "patientList")
    model = listing.model()
    with qtbot.waitSignal(window.timelineShown, timeout=30_000) as blocker:
        listing.setCurrentIndex(model.index(0, 0))  # busy: superseded at once
        listing.setCurrentIndex(model.index(1, 0))
    assert blocker.args[0].display_name == "Birch Small"
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=30_000)
    assert window.current_patient is not None and window.current_patient.display_name == "Birch Small"
    assert window.columns is not None and len(window.columns) == 24


def test_every_control_has_names(qtbot: QtBot, window: MainWindow) -> None:
    _select(qtbot, window, "Aspen Busy")  # everything the timeline builds exists now
    view = window.timeline
    view.select_row(0)  # and the detail pane's fields
    qtbot.waitUntil(lambda: view.detail.detail is not None, timeout=10_000)
    assert unnamed(window) == []
    touched = [  # what the tests click, drag, type into or read
        window.patients.search,
        window.patients.list,
        window.patients.list.viewport(),
        view.plot,
        view.plot.viewport(),
        view.plot.hint,
        view.overview,
        view.overview.viewport(),
        view.message,
        view.retry,
        view.summary,
        view.range_label,
        *view.presets.values(),
        view.filters.search,
        view.filters.importance,
        view.filters.use_dates,
        view.filters.reset,
        view.legend,
        window.progress,
    ]
    for widget in touched:
        assert widget.objectName() and not widget.objectName().startswith("qt_"), type(widget).__name__
        assert widget.accessibleName(), widget.objectName()
    for name in ("patientSearch", "patientList", "timelinePlot", "timelineMessage", "loadProgress"):
        assert window.findChild(QWidget, name) is not None, name


def test_a_narrow_window_keeps_names_readable_and_fits_a_laptop(qtbot: QtBot, window: MainWindow) -> None:
    """At 1100 px the patient list keeps its width; secondary labels end in "…" with the text in a tooltip."""
    _select(qtbot, window, "Aspen Busy")
    window.resize(1100, 700)
    qtbot.waitUntil(lambda: window.width() == 1100)
    assert window.minimumSizeHint().width() <= 1100
    assert window.patients.width() >= PATIENT_LIST_MIN_WIDTH
    summary = window.timeline.summary
    assert summary.width() < summary.sizeHint().width()  # squeezed ...
    assert summary.toolTip() == summary.text() and "640 events" in summary.text()  # ... not lost
    window.resize(1900, 700)
    qtbot.waitUntil(lambda: summary.width() >= summary.sizeHint().width())  # room again: shown whole
