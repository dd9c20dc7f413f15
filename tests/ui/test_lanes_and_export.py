"""Lanes hidden and reordered through the menus, big histories drawn while the pyramid builds, exports."""

from __future__ import annotations

import stat
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent, QFontMetrics, QFontMetricsF, QImage
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLabel, QPushButton
from pytestqt.qtbot import QtBot

import ui.timeline_view as timeline_view_module
from tests.ui.conftest import UiDatabase, open_patient
from tests.ui.fonts import app_font
from ui.export import TEXT_PX, caption_for, render_png, sheet_font, sheet_layout
from ui.main_window import MainWindow
from ui.timeline_plot import MIN_LANE_PX
from ui.timeline_view import TimelineView
from viewer.domain import EventType
from viewer.lod import LodPyramid
from viewer.view_range import DAY_MS, ViewRange

pytestmark = pytest.mark.ui


def _started(qtbot: QtBot, ui_database: UiDatabase) -> MainWindow:
    win = MainWindow(ui_database.settings)
    qtbot.addWidget(win)
    win.resize(1400, 800)
    win.show()
    with qtbot.waitSignal(win.databaseReady, timeout=30_000):
        win.start()
    return win


@pytest.fixture
def window(qtbot: QtBot, ui_database: UiDatabase) -> MainWindow:
    return _started(qtbot, ui_database)


def _open(qtbot: QtBot, window: MainWindow, name: str) -> TimelineView:
    timeline: TimelineView = open_patient(qtbot, window, name)
    return timeline


def _first_row_of(view: TimelineView, event_type: EventType) -> int:
    return int(np.flatnonzero(view.columns.lane == event_type.lane)[0])


def _hit(view: TimelineView, row: int) -> int | None:
    """What the hit test finds at a row's marker, wherever its lane is drawn now."""
    y = view.plot.lane_layout.y_of(EventType.from_lane(int(view.columns.lane[row])))
    assert y is not None
    return view.row_at(QPointF(float(view.columns.time_ms[row]) / 1000.0, y))


def test_hiding_a_lane_from_the_lanes_menu(qtbot: QtBot, window: MainWindow) -> None:
    view = _open(qtbot, window, "Aspen Busy")
    total = len(view.index)
    notes = int((view.columns.lane == EventType.NOTE.lane).sum())
    view._fill_lanes_menu()  # what opening the menu does
    toggle = next(a for a in view.lanes_menu.actions() if a.objectName() == "laneShown_note")
    assert toggle.isChecked()
    toggle.setChecked(False)
    assert EventType.NOTE in view.plot.lane_layout.hidden
    assert view.plot.lane_layout.rows == 7
    assert len(view.index) == total - notes
    assert not (view.columns.lane[view.index.visible_rows] == EventType.NOTE.lane).any()
    labels = [label for _, label in view.plot.lane_axis._tickLevels[0]]
    assert "Note" not in labels and len(labels) == 7
    session = _first_row_of(view, EventType.SESSION)
    assert _hit(view, session) == session  # the remaining lanes still hit-test where they are drawn
    view._fill_lanes_menu()
    reset = next(a for a in view.lanes_menu.actions() if a.objectName() == "lanesReset")
    assert reset.isEnabled()
    reset.trigger()
    assert view.plot.lane_layout.rows == 8 and len(view.index) == total


def test_hidden_lanes_show_in_the_filter_line_and_reset_brings_them_back(
    qtbot: QtBot, window: MainWindow
) -> None:
    """A hidden lane hides its events like a filter: the line said "Showing all events" and Reset stayed off."""
    view = _open(qtbot, window, "Aspen Busy")
    total = len(view.columns)
    summary = view.findChild(QLabel, "filterSummary")
    reset = view.findChild(QPushButton, "filterReset")
    view.set_lane_layout(view.plot.lane_layout.moved(EventType.NOTE, -3).hiding(EventType.SESSION))
    assert summary.text() == "Hidden lanes: Session" and reset.isEnabled()
    # Only sessions pass the type filter, and their lane is hidden: the message names the lane.
    for event_type in EventType:
        view.findChild(QCheckBox, f"filterType_{event_type.value}").setChecked(
            event_type is EventType.SESSION
        )
    assert len(view.index) == 0 and view.stack.currentIndex() == view.MESSAGE_PAGE
    assert "hidden lanes (Session)" in view.message.text()
    assert summary.text() == "Filtered: only session · hidden lanes: Session"
    qtbot.mouseClick(reset, Qt.MouseButton.LeftButton)
    assert view.plot.lane_layout.hidden == () and len(view.index) == total
    assert view.plot.lane_layout.order[0] is EventType.NOTE  # the order the user chose stays
    assert summary.text() == "Showing all events" and not reset.isEnabled()
    assert view.stack.currentIndex() == view.PLOT_PAGE


def test_moving_a_lane_from_its_context_menu(qtbot: QtBot, window: MainWindow) -> None:
    view = _open(qtbot, window, "Aspen Busy")
    menu = view.lane_menu(EventType.ASSESSMENT)
    actions = {a.objectName(): a for a in menu.actions()}
    assert not actions["laneReset"].isEnabled()  # nothing to reset yet
    actions["laneMoveTop"].trigger()
    assert view.plot.lane_layout.order[0] is EventType.ASSESSMENT
    assessment = _first_row_of(view, EventType.ASSESSMENT)
    assert view.plot.lane_layout.y_of(EventType.ASSESSMENT) == 7.0
    assert _hit(view, assessment) == assessment
    assert view.plot.lane_axis._tickLevels[0][0] == (7.0, "Assessment")
    top = view.lane_menu(EventType.ASSESSMENT)
    assert not next(a for a in top.actions() if a.objectName() == "laneMoveUp").isEnabled()
    next(a for a in top.actions() if a.objectName() == "laneMoveDown").trigger()
    assert view.plot.lane_layout.order[1] is EventType.ASSESSMENT


def test_the_menu_key_moves_the_selected_events_lane_without_a_mouse(
    qtbot: QtBot, window: MainWindow
) -> None:
    view = _open(qtbot, window, "Aspen Busy")
    row = _first_row_of(view, EventType.ASSESSMENT)
    view.select_row(row)
    view.plot.setFocus()
    at = QPoint(5, 5)
    QApplication.sendEvent(
        view.plot, QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, at, view.plot.mapToGlobal(at))
    )
    menu = view.keyboard_menu
    assert menu is not None
    qtbot.waitUntil(menu.isVisible, timeout=5_000)
    assert menu.actions()[0].objectName() == "newEventHereAction"
    lane = next(a.menu() for a in menu.actions() if a.menu() is not None)
    assert lane.title() == "Lane “Assessment”"
    next(a for a in lane.actions() if a.objectName() == "laneMoveTop").trigger()
    menu.close()
    assert view.plot.lane_layout.order[0] is EventType.ASSESSMENT
    view.keyboard_menu = None
    qtbot.keyClick(view.plot, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)  # laptops have no Menu key
    assert view.keyboard_menu is not None
    qtbot.waitUntil(view.keyboard_menu.isVisible, timeout=5_000)
    view.keyboard_menu.close()


def test_a_big_history_paints_at_once_and_swaps_in_the_pyramid(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timeline_view_module, "SYNC_PROVIDER_EVENTS", 10)  # "big" is anything above 10 here
    view = _open(qtbot, window, "Aspen Busy")
    if not view.lod_ready:
        with qtbot.waitSignal(view.levelOfDetailReady, timeout=30_000):
            pass
    provider = view.plot.layer.provider
    assert isinstance(getattr(provider, "__self__", None), LodPyramid)
    assert view.overview.image.image is not None and view.overview.image.image.shape[1] > 1
    # A filter change goes through the same background path and ends with a pyramid of the new index.
    view.filters.type_boxes[EventType.NOTE].setChecked(False)
    assert not view.lod_ready
    with qtbot.waitSignal(view.levelOfDetailReady, timeout=30_000):
        pass
    pyramid = view.plot.layer.provider.__self__  # type: ignore[union-attr]
    assert pyramid.index is view.index


def _wait_export(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.exported, timeout=30_000) as blocker:
        window.export_view(path)
    assert blocker.args == [path]


def test_export_png_svg_pdf(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    _open(qtbot, window, "Aspen Busy")
    assert all(action.isEnabled() for action in window.export_actions)
    png, svg, pdf = tmp_path / "view.png", tmp_path / "view.svg", tmp_path / "view.pdf"
    for path in (png, svg, pdf):
        _wait_export(qtbot, window, path)
    image = QImage(str(png))
    plot = window.timeline.plot
    assert image.width() >= 2 * plot.width() and image.height() > 2 * plot.height()  # 2x, plus caption
    colours = {image.pixel(x, y) for x in range(0, image.width(), 17) for y in range(0, image.height(), 17)}
    assert len(colours) > 20  # a real picture, not a blank page
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "<svg" in text
    assert "Aspen Busy" in text and "Confidential clinical record" in text
    assert pdf.read_bytes().startswith(b"%PDF")
    assert not list(tmp_path.glob(".*.partial"))
    # The patient's name and history: the owner's only, as a FHIR bundle is (they were 0644).
    assert {stat.S_IMODE(p.stat().st_mode) for p in (png, svg, pdf)} == {0o600}


def test_export_errors_are_reported_and_write_nothing(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    _open(qtbot, window, "Aspen Busy")
    with qtbot.waitSignal(window.failed, timeout=10_000) as blocker:
        window.export_view(tmp_path / "view.bmp")
    assert "png, .svg or .pdf" in blocker.args[0]
    with qtbot.waitSignal(window.failed, timeout=30_000) as blocker:
        window.export_view(tmp_path / "missing-folder" / "view.png")
    assert "could not export to view.png" in blocker.args[0]
    assert window.timeline.stack.currentIndex() == window.timeline.PLOT_PAGE  # the timeline stays
    assert list(tmp_path.iterdir()) == []


def test_a_long_filter_line_wraps_on_the_sheet_instead_of_being_cut_off(
    qtbot: QtBot, window: MainWindow
) -> None:
    """The caption's lines sat in one-line boxes: "…private events hidden; from 1 Jan 202" and no more."""
    window.resize(900, 700)
    view = _open(qtbot, window, "Aspen Busy")
    for event_type in (EventType.NOTE, EventType.MEDICATION, EventType.ASSESSMENT):
        view.filters.type_boxes[event_type].setChecked(False)
    view.findChild(QComboBox, "filterPrivate").setCurrentIndex(1)  # private hidden
    view.findChild(QCheckBox, "filterUseDates").setChecked(True)
    view.set_lane_layout(view.plot.lane_layout.hiding(EventType.EXTERNAL_EVENT))
    caption = caption_for(view)
    assert "hidden lanes: External event" in caption.filter_line
    layout = sheet_layout(view, caption)
    one_line = QFontMetrics(sheet_font(TEXT_PX)).height()
    needed = QFontMetrics(sheet_font(TEXT_PX)).horizontalAdvance(caption.filter_line)
    assert needed > layout.filter_line.width()  # the line is longer than the sheet is wide ...
    assert layout.filter_line.height() >= 2 * one_line  # ... so it takes two lines, and the plot moves down
    assert layout.filter_line.bottom() < layout.plot_top and layout.footer.bottom() < layout.height
    image = render_png(view, caption, ratio=1.0).convertToFormat(QImage.Format.Format_RGB32)
    second_line = image.copy(layout.filter_line.adjusted(0, one_line, 0, 0))
    pixels = np.frombuffer(second_line.constBits(), np.uint32)
    assert np.count_nonzero((pixels & 0xFF) < 0x80) > 20  # dark text on the second line


def test_lanes_keep_room_for_their_names_in_a_short_window(qtbot: QtBot, window: MainWindow) -> None:
    """At the window's smallest the lanes got 10 px each and their names printed over each other."""
    view = _open(qtbot, window, "Aspen Busy")
    window.resize(window.width(), 200)
    qtbot.waitUntil(lambda: view.plot.height() < 400)  # laid out at the window's smallest
    rows = view.plot.lane_layout.rows
    assert view.plot.view_box.height() / rows >= MIN_LANE_PX - 1
    view.set_lane_layout(view.plot.lane_layout.hiding(EventType.NOTE).hiding(EventType.SESSION))
    assert view.plot.minimumHeight() < (rows - 1) * MIN_LANE_PX + 60  # fewer lanes, a lower minimum


def test_a_screenshot_of_a_big_history_waits_for_its_overview(
    qtbot: QtBot, ui_database: UiDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved 50 ms after the first paint, a big history's screenshot had an empty overview strip.

    The background build is held until 200 ms after the timeline shows (a timer, on the GUI
    thread), so a screenshot that does not wait for it is taken before it, every time.
    """
    from PySide6.QtCore import QTimer

    from ui.app import run_app
    from viewer.cli import build_parser

    monkeypatch.setattr(timeline_view_module, "SYNC_PROVIDER_EVENTS", 10)  # "big": built in the background
    gate = threading.Event()
    real_density = timeline_view_module.density_image

    def held_density(*args: Any) -> Any:
        assert gate.wait(30)
        return real_density(*args)

    monkeypatch.setattr(timeline_view_module, "density_image", held_density)
    real_start = MainWindow.start

    def start(window: MainWindow) -> None:
        window.timelineShown.connect(lambda _p: QTimer.singleShot(200, gate.set))
        real_start(window)

    monkeypatch.setattr(MainWindow, "start", start)
    shown: list[bool] = []
    real_grab = MainWindow.grab

    def grab(window: MainWindow, *a: Any) -> Any:
        shown.append(window.timeline.lod_ready and window.timeline.overview.image.image is not None)
        return real_grab(window, *a)

    monkeypatch.setattr(MainWindow, "grab", grab)
    target = tmp_path / "shot.png"
    url = ui_database.settings.database_url
    args = build_parser().parse_args(
        ["--database-url", url, "--screenshot", str(target), "--patient", "ui_busy"]
    )
    try:
        assert run_app(args) == 0
    finally:
        gate.set()
    assert shown == [True] and target.exists()


def test_the_view_menu_gives_lanes_reset_and_the_timeline_keys(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lanes, Reset filters and the lanes themselves were reached only by Tab; export had no key."""
    view = _open(qtbot, window, "Aspen Busy")
    total = len(view.columns)
    titles = [a.text() for a in window.view_menu.actions()]
    assert titles == [
        "&Find patient",
        "&Search titles",
        "Go to the &timeline",
        "",
        "&Reset filters",
        "&Lanes",
    ]
    lanes = window.view_menu.actions()[-1].menu()
    assert lanes is view.lanes_menu
    window.patients.search.setFocus()
    qtbot.waitUntil(window.patients.search.hasFocus, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(view.plot.hasFocus, timeout=5_000)
    # Nothing to reset: a plain word rather than nothing at all.
    qtbot.keyClick(view.plot, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == "No filter is on: every event and lane is shown."
    window.view_menu.aboutToShow.emit()  # the menu opened (and closed) while nothing was filtered
    view.findChild(QCheckBox, "filterType_note").setChecked(False)
    view.set_lane_layout(view.plot.lane_layout.hiding(EventType.SESSION))
    assert len(view.index) < total
    qtbot.keyClick(view.plot, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert len(view.index) == total and view.plot.lane_layout.hidden == ()
    asked: list[str] = []
    monkeypatch.setattr(
        "ui.main_window.QFileDialog.getSaveFileName",
        lambda _parent, _title, suggested, _filter: (asked.append(suggested), ("", ""))[1],
    )
    qtbot.keyClick(view.plot, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 1 and asked[0].endswith(".png")


def test_lane_names_and_dates_grow_with_a_large_app_font(qtbot: QtBot, ui_database: UiDatabase) -> None:
    """Under a 16 pt app font the timeline's own words stayed 9 pt, in a 112 px column and 20 px lanes."""
    with app_font(16.0) as large:
        win = _started(qtbot, ui_database)  # built under the large font
        view = _open(qtbot, win, "Aspen Busy")
        plot = view.plot
        metrics = QFontMetrics(large)
        for axis in (plot.lane_axis, plot.time_axis, view.overview.getPlotItem().getAxis("bottom")):
            assert axis.style["tickFont"].pointSizeF() >= 15.0
        longest = max(metrics.horizontalAdvance(event_type.label) for event_type in EventType)
        assert plot.lane_axis.minimumWidth() >= longest + 12  # the whole name, beside its tick
        assert plot.min_lane_px() >= metrics.height() + 4
        assert view.overview.height() > 78 + 4  # room for its larger dates
        # The dates are drawn (labels that did not fit the axis were dropped), each whole line of them
        # inside its axis: descenders ("Apr", "Jul") were cut off at the widget's edge.
        middle = (float(view.columns.time_ms[0]) + float(view.columns.time_ms[-1])) / 2
        plot.set_view_range(ViewRange.around(middle, 200 * DAY_MS))  # months: Apr, Jun, Jul, Aug
        for widget, axis in (
            (plot, plot.time_axis),
            (view.overview, view.overview.getPlotItem().getAxis("bottom")),
        ):
            widget.grab()  # paints, laying out the labels
            _line, _ticks, labels = axis._specs
            assert len(labels) >= 2, widget.objectName()  # at 16 pt, quarters in 200 days
            line = QFontMetricsF(axis.style["tickFont"]).height()
            bottom = axis.mapRectFromParent(axis.geometry()).bottom()
            assert all(rect.top() + line <= bottom for rect, _flags, _text in labels), widget.objectName()
        win.resize(win.width(), 200)
        qtbot.waitUntil(lambda: plot.height() < 600)  # laid out at the window's smallest
        assert plot.view_box.height() / plot.lane_layout.rows >= plot.min_lane_px() - 1
