"""Driving the timeline as a therapist would: wheel, keys, presets, filters, hover, click, Enter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QDate, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QWheelEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from tests.ui.conftest import UiDatabase
from ui.main_window import MainWindow
from ui.timeline_view import TimelineView
from viewer.domain import EventType, Importance
from viewer.view_range import DAY_MS, MIN_SPAN_MS, MONTH_MS, WEEK_MS, YEAR_MS

pytestmark = pytest.mark.ui


@pytest.fixture
def view(qtbot: QtBot, ui_database: UiDatabase) -> TimelineView:
    window = MainWindow(ui_database.settings)
    qtbot.addWidget(window)
    window.resize(1400, 800)
    window.show()
    with qtbot.waitSignal(window.databaseReady, timeout=30_000):
        window.start()
    listing = window.patients.list
    model = listing.model()
    index = next(
        model.index(r, 0) for r in range(model.rowCount()) if model.index(r, 0).data() == "Aspen Busy"
    )
    with qtbot.waitSignal(window.timelineShown, timeout=30_000):
        listing.setCurrentIndex(index)
    timeline = window.timeline
    timeline.plot.setFocus()
    return timeline


def _marker_pos(view: TimelineView, row: int) -> QPoint:
    """Viewport position of a row's marker."""
    box = view.plot.view_box
    x = float(view.columns.time_ms[row]) / 1000.0
    y = float((8 - 1) - int(view.columns.lane[row]))
    scene = box.mapViewToScene(QPointF(x, y))
    return view.plot.mapFromScene(scene)


def test_plus_minus_zoom_and_shift_arrows_pan(qtbot: QtBot, view: TimelineView) -> None:
    start = view.plot.view_range()
    qtbot.keyClick(view.plot, Qt.Key.Key_Plus)
    zoomed = view.plot.view_range()
    assert zoomed.span_ms == pytest.approx(start.span_ms / 1.25, rel=1e-6)
    qtbot.keyClick(view.plot, Qt.Key.Key_Minus)
    assert view.plot.view_range().span_ms == pytest.approx(start.span_ms, rel=1e-6)
    before = view.plot.view_range()
    qtbot.keyClick(view.plot, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    after = view.plot.view_range()
    assert after.start_ms - before.start_ms == pytest.approx(0.1 * before.span_ms, rel=1e-6)
    assert after.span_ms == pytest.approx(before.span_ms, rel=1e-6)


def test_wheel_zooms_around_the_cursor(qtbot: QtBot, view: TimelineView) -> None:
    before = view.plot.view_range()
    pos = view.plot.viewport().rect().center() + QPoint(200, 0)
    anchor = view.plot.view_box.mapSceneToView(view.plot.mapToScene(pos)).x() * 1000
    event = QWheelEvent(
        QPointF(pos),
        QPointF(view.plot.viewport().mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.plot.viewport(), event)
    after = view.plot.view_range()
    assert after.span_ms < before.span_ms
    ratio_before = (anchor - before.start_ms) / before.span_ms
    ratio_after = (anchor - after.start_ms) / after.span_ms
    assert ratio_after == pytest.approx(ratio_before, abs=1e-3)


def test_pinch_zooms_around_the_fingers(view: TimelineView) -> None:
    before = view.plot.view_range()
    pos = QPointF(view.plot.viewport().rect().center())
    view.plot.pinch(0.5, pos)
    assert view.plot.view_range().span_ms == pytest.approx(before.span_ms * 0.5, rel=1e-3)


@pytest.mark.parametrize(
    ("key", "button", "span"),
    [
        (Qt.Key.Key_1, "presetWeek", WEEK_MS),
        (Qt.Key.Key_2, "presetMonth", MONTH_MS),
        (Qt.Key.Key_3, "presetYear", YEAR_MS),
    ],
)
def test_presets_by_key_and_button(
    qtbot: QtBot, view: TimelineView, key: Qt.Key, button: str, span: float
) -> None:
    qtbot.keyClick(view.plot, key)
    assert view.plot.view_range().span_ms == pytest.approx(span, rel=1e-6)
    qtbot.keyClick(view.plot, Qt.Key.Key_0)
    assert view.plot.view_range() == view.history
    qtbot.mouseClick(view.findChild(QPushButton, button), Qt.MouseButton.LeftButton)
    assert view.plot.view_range().span_ms == pytest.approx(span, rel=1e-6)


def test_keyboard_visits_events_in_order_and_enter_opens(qtbot: QtBot, view: TimelineView) -> None:
    qtbot.keyClick(view.plot, Qt.Key.Key_0)
    visited = []
    for _ in range(5):
        qtbot.keyClick(view.plot, Qt.Key.Key_Right)
        visited.append(view.selected_row)
    assert visited == [0, 1, 2, 3, 4]
    qtbot.keyClick(view.plot, Qt.Key.Key_Left)
    assert view.selected_row == 3
    with qtbot.waitSignal(view.eventOpened, timeout=5_000) as opened:
        qtbot.keyClick(view.plot, Qt.Key.Key_Return)
    assert opened.args[0] == view.columns.event_id(3)
    qtbot.keyClick(view.plot, Qt.Key.Key_Escape)
    assert view.selected_row is None


def test_click_selects_and_shows_the_right_detail(qtbot: QtBot, view: TimelineView) -> None:
    qtbot.keyClick(view.plot, Qt.Key.Key_2)  # a month: markers, not buckets
    row = int(
        np.flatnonzero(
            (view.columns.time_ms >= view.plot.view_range().start_ms)
            & (view.columns.time_ms < view.plot.view_range().end_ms)
        )[3]
    )
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=_marker_pos(view, row))
    assert view.selected_row == row
    qtbot.waitUntil(
        lambda: view.detail.detail is not None and view.detail.detail.id == view.columns.event_id(row),
        timeout=10_000,
    )
    assert view.detail.title.text() == view.detail.detail.title
    assert view.detail.field_text("Type").startswith(EventType.from_lane(int(view.columns.lane[row])).label)
    assert view.detail.field_text("Importance") == Importance(int(view.columns.importance[row])).label


def test_hover_shows_the_right_tooltip(qtbot: QtBot, view: TimelineView) -> None:
    qtbot.keyClick(view.plot, Qt.Key.Key_2)
    window = view.plot.view_range()
    row = int(
        np.flatnonzero((view.columns.time_ms >= window.start_ms) & (view.columns.time_ms < window.end_ms))[5]
    )
    scene = view.plot.mapToScene(_marker_pos(view, row))
    view.plot.scene().sigMouseMoved.emit(scene)
    assert view._hover_row == row
    qtbot.waitUntil(lambda: "…" not in view.plot.toolTip(), timeout=10_000)
    detail = view._details[view.columns.event_id(row)]
    assert view.plot.toolTip().splitlines()[1] == detail.title
    assert EventType.from_lane(int(view.columns.lane[row])).label in view.plot.toolTip()


def test_filters_hide_and_show_markers(qtbot: QtBot, view: TimelineView) -> None:
    total = len(view.columns)
    session_box = view.findChild(QCheckBox, "filterType_session")
    session_box.setChecked(False)
    lanes = set(np.unique(view.columns.lane[view.index.visible_rows]).tolist())
    assert EventType.SESSION.lane not in lanes and len(view.index) == total - total // 8
    importance = view.findChild(QComboBox, "filterImportance")
    importance.setCurrentIndex(int(Importance.CRITICAL))
    assert set(view.columns.importance[view.index.visible_rows].tolist()) == {int(Importance.CRITICAL)}
    private = view.findChild(QComboBox, "filterPrivate")
    private.setCurrentIndex(2)  # only private
    assert view.columns.is_private[view.index.visible_rows].all()
    summary = view.findChild(QLabel, "filterSummary").text()
    assert "only private" in summary and "critical" in summary
    reset = view.findChild(QPushButton, "filterReset")
    assert reset.isEnabled()
    qtbot.mouseClick(reset, Qt.MouseButton.LeftButton)
    assert len(view.index) == total and not reset.isEnabled()
    view.plot.grab()
    assert view.plot.layer.paint_error is None


def test_text_search_highlights_and_steps(qtbot: QtBot, view: TimelineView) -> None:
    search = view.findChild(QLineEdit, "filterSearch")
    search.setText("Event 1")  # titles are "Event <n>": 1, 10-19, 100-199
    qtbot.waitUntil(lambda: view.filter.text_rows is not None, timeout=10_000)
    titles_matching = [n for n in range(640) if "Event 1" in f"Event {n}"]
    assert len(view.match_rows) == len(titles_matching)
    assert len(view.index) == 640  # the other events stay, dimmed, around the matches
    assert view.plot.layer.highlight is not None and int(view.plot.layer.highlight.sum()) == len(
        titles_matching
    )
    assert view.findChild(QLabel, "searchMatches").text() == f"{len(titles_matching)} matches"
    qtbot.keyClick(view.plot, Qt.Key.Key_F3)
    first = view.selected_row
    qtbot.keyClick(view.plot, Qt.Key.Key_F3)
    assert view.selected_row == int(view.match_rows[1]) and first == int(view.match_rows[0])
    qtbot.keyClick(view.plot, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)
    assert view.selected_row == first
    # Still typing in the search box: F3 and Shift+F3 step from there too.
    search.setFocus()
    qtbot.keyClick(search, Qt.Key.Key_F3)
    assert view.selected_row == int(view.match_rows[1])
    qtbot.keyClick(search, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)
    assert view.selected_row == first and search.text() == "Event 1"


def test_a_search_typed_with_a_trailing_space_still_lands(qtbot: QtBot, view: TimelineView) -> None:
    """Typing "Event 1 " searches what "Event 1" did; its answer used to be dropped, leaving "searching…"."""
    search = view.findChild(QLineEdit, "filterSearch")
    search.setFocus()
    qtbot.keyClicks(search, "Event 1 ")
    qtbot.waitUntil(lambda: view.filter.text_rows is not None, timeout=10_000)
    titles_matching = [n for n in range(640) if "Event 1" in f"Event {n}"]
    assert len(view.match_rows) == len(titles_matching)
    assert view.findChild(QLabel, "searchMatches").text() == f"{len(titles_matching)} matches"


def test_double_click_on_empty_lane_zooms_in_there(qtbot: QtBot, view: TimelineView) -> None:
    before = view.plot.view_range()
    point = QPointF(before.centre_ms / 1000 + before.span_ms / 4000, 3.5)  # between lanes: no marker
    view.plot.view_box.doubleClicked.emit(point)
    after = view.plot.view_range()
    assert after.span_ms == pytest.approx(before.span_ms / 4, rel=1e-6)
    assert after.contains(point.x() * 1000)


def test_overview_box_follows_and_drives_the_view(qtbot: QtBot, view: TimelineView) -> None:
    qtbot.keyClick(view.plot, Qt.Key.Key_3)
    qtbot.waitUntil(
        lambda: abs(view.overview.window_box.getRegion()[1] - view.plot.view_range().end_ms / 1000) < 1,
        timeout=5_000,
    )
    start = view.history.start_ms / 1000 + 10 * DAY_MS / 1000
    view.overview.window_box.setRegion((start, start + 30 * DAY_MS / 1000))
    assert view.plot.view_range().start_ms == pytest.approx(start * 1000, abs=1)


def test_stepping_from_the_whole_history_keeps_the_view(qtbot: QtBot, view: TimelineView) -> None:
    qtbot.keyClick(view.plot, Qt.Key.Key_0)
    whole = view.plot.view_range()
    qtbot.keyClick(view.plot, Qt.Key.Key_Right)
    assert view.selected_row == 0
    assert view.plot.view_range() == whole  # the first event was in view: nothing moves
    qtbot.keyClick(view.plot, Qt.Key.Key_Escape)
    qtbot.keyClick(view.plot, Qt.Key.Key_Left)
    assert view.selected_row == len(view.columns) - 1
    assert view.plot.view_range() == whole


def test_stepping_past_the_edge_slides_the_view_a_little(qtbot: QtBot, view: TimelineView) -> None:
    view.select_row(200)
    qtbot.keyClick(view.plot, Qt.Key.Key_1)  # a week around it; events every 7 hours
    week = view.plot.view_range()
    last_in_view = view.index.previous_row(None, week.end_ms - 1)
    assert last_in_view is not None
    view.select_row(last_in_view)
    qtbot.keyClick(view.plot, Qt.Key.Key_Right)
    moved = view.plot.view_range()
    shift = moved.start_ms - week.start_ms
    assert 0 < shift < 0.1 * week.span_ms  # a slide, not a jump that recentres
    assert moved.contains(float(view.columns.time_ms[view.selected_row]))


def _wheel(view: TimelineView, notches: int) -> None:
    pos = view.plot.viewport().rect().center()
    event = QWheelEvent(
        QPointF(pos),
        QPointF(view.plot.viewport().mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.plot.viewport(), event)


def test_zoom_and_pan_stay_near_the_history(qtbot: QtBot, view: TimelineView) -> None:
    bounds = view.plot.bounds
    assert bounds is not None and view.history is not None
    assert bounds.start_ms < view.history.start_ms and bounds.end_ms > view.history.end_ms
    for _ in range(40):
        qtbot.keyClick(view.plot, Qt.Key.Key_Minus)
    assert view.plot.view_range().span_ms <= bounds.span_ms * 1.000001
    for _ in range(40):
        _wheel(view, -1)
    assert view.plot.view_range().span_ms <= bounds.span_ms * 1.000001
    qtbot.keyClick(view.plot, Qt.Key.Key_2)
    for _ in range(200):
        qtbot.keyClick(view.plot, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    after = view.plot.view_range()
    assert after.end_ms <= bounds.end_ms + 1 and after.span_ms == pytest.approx(MONTH_MS, rel=1e-6)
    for _ in range(200):
        _wheel(view, 3)
    assert view.plot.view_range().span_ms >= MIN_SPAN_MS * 0.999


def test_presets_end_at_the_latest_event_or_centre_on_the_selected_one(
    qtbot: QtBot, view: TimelineView
) -> None:
    last = float(view.columns.time_ms[-1])  # this history ended long before today
    qtbot.keyClick(view.plot, Qt.Key.Key_0)
    qtbot.keyClick(view.plot, Qt.Key.Key_2)
    month = view.plot.view_range()
    assert month.span_ms == pytest.approx(MONTH_MS, rel=1e-6)
    assert month.contains(last) and month.end_ms - last < 0.05 * MONTH_MS
    view.select_row(100)
    qtbot.keyClick(view.plot, Qt.Key.Key_1)
    week = view.plot.view_range()
    assert week.centre_ms == pytest.approx(float(view.columns.time_ms[100]), abs=1)
    assert week.span_ms == pytest.approx(WEEK_MS, rel=1e-6)


def test_counts_say_loaded_matching_and_in_view(qtbot: QtBot, view: TimelineView) -> None:
    summary = view.findChild(QLabel, "timelineSummary")
    assert summary.text() == "640 events · all in view"
    assert view.window().statusBar().currentMessage() == "Loaded 640 events"
    importance = view.findChild(QComboBox, "filterImportance")
    importance.setCurrentIndex(int(Importance.CRITICAL))
    matching = len(view.index)
    assert summary.text() == f"{matching} of 640 events match the filters · all in view"
    view.select_row(int(view.index.visible_rows[40]))
    qtbot.keyClick(view.plot, Qt.Key.Key_1)  # a week around it
    qtbot.waitUntil(lambda: "all in view" not in summary.text(), timeout=2_000)
    view.plot.grab()
    frame = view.plot.layer.last_frame
    assert frame is not None
    assert summary.text() == f"{matching} of 640 events match the filters · {frame.visible_count} in view"


def test_the_date_range_starts_as_the_history_and_says_its_dates(qtbot: QtBot, view: TimelineView) -> None:
    bar = view.filters
    assert not bar.date_from.isEnabled() and not bar.date_to.isEnabled()
    first, last = (datetime.fromtimestamp(int(t) / 1000) for t in view.columns.time_ms[[0, -1]])  # local
    assert bar.date_from.date().toString("yyyy-MM-dd") == f"{first:%Y-%m-%d}"
    assert bar.date_to.date().toString("yyyy-MM-dd") == f"{last:%Y-%m-%d}"
    assert len(view.index) == 640  # the boxes filter nothing until the range is ticked
    qtbot.mouseClick(bar.use_dates, Qt.MouseButton.LeftButton)
    assert bar.date_from.isEnabled() and bar.date_to.isEnabled()
    assert len(view.index) == 640  # the whole history is in the default range
    bar.date_from.setDate(QDate(2024, 3, 1))
    bar.date_to.setDate(QDate(2024, 3, 31))
    assert bar.summary.text() == "Filtered: from 1 Mar 2024 to 31 Mar 2024"
    months = {
        f"{datetime.fromtimestamp(int(t) / 1000):%Y-%m}"
        for t in view.columns.time_ms[view.index.visible_rows]
    }
    assert months == {"2024-03"}


def test_a_date_range_cannot_be_set_the_wrong_way_round(qtbot: QtBot, view: TimelineView) -> None:
    """From 1 May to 1 Apr filtered out everything and said only "No events match the filters"."""
    bar = view.filters
    qtbot.mouseClick(bar.use_dates, Qt.MouseButton.LeftButton)
    bar.date_to.setDate(QDate(2024, 4, 1))
    bar.date_from.setDate(QDate(2024, 5, 1))
    assert bar.date_from.date() == QDate(2024, 4, 1)  # held at "to"
    flt = view.filter
    assert flt.start_ms is not None and flt.end_ms is not None and flt.start_ms < flt.end_ms
    bar.date_to.setDate(QDate(2024, 3, 1))
    assert bar.date_to.date() == QDate(2024, 4, 1)  # and "to" at "from"
    # A new history offers its own span, wherever the last one's limits stood.
    bar.use_dates.setChecked(False)
    bar.set_history_span(
        int(datetime(2030, 1, 2).timestamp() * 1000), int(datetime(2031, 6, 30).timestamp() * 1000)
    )
    assert bar.date_from.date() == QDate(2030, 1, 2) and bar.date_to.date() == QDate(2031, 6, 30)


def test_typing_a_search_asks_the_database_once_typing_pauses(
    qtbot: QtBot, view: TimelineView, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One search per keystroke queued up stale searches: on a million titles the highlights came 12 s late."""
    import ui.timeline_view as timeline_view_module

    asked: list[str] = []
    real = timeline_view_module.search_titles

    def counting(conn: Any, patient_id: Any, text: str) -> Any:
        asked.append(text)
        return real(conn, patient_id, text)

    monkeypatch.setattr(timeline_view_module, "search_titles", counting)
    search = view.findChild(QLineEdit, "filterSearch")
    search.setFocus()
    qtbot.keyClicks(search, "Event 1")
    assert view.findChild(QLabel, "searchMatches").text() == "searching…"
    qtbot.waitUntil(lambda: view.filter.text_rows is not None, timeout=10_000)
    assert asked == ["Event 1"]
    assert len(view.match_rows) == len([n for n in range(640) if "Event 1" in f"Event {n}"])


def test_esc_in_the_title_search_takes_the_search_back(qtbot: QtBot, view: TimelineView) -> None:
    search = view.filters.search
    search.setFocus()
    qtbot.keyClicks(search, "zz-nothing")
    qtbot.waitUntil(lambda: view.filter.text_rows is not None, timeout=10_000)
    assert view.plot.layer.highlight is not None and view.filters.match_label.text() == "0 matches"
    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == "" and view.filter.text == "" and view.plot.layer.highlight is None


def test_a_screen_reader_hears_the_event_stepped_to_and_its_labels_text(
    qtbot: QtBot, view: TimelineView
) -> None:
    """The timeline said nothing when ← / → moved, and labels were heard by role ("Event title"), not text."""
    view.plot.setFocus()
    qtbot.keyClick(view.plot, Qt.Key.Key_Right)
    row = view.selected_row
    assert row is not None
    qtbot.waitUntil(lambda: view.detail.detail is not None, timeout=10_000)
    title = view.detail.detail.title
    description = view.plot.accessibleDescription()
    assert description.startswith("Selected: ") and description.endswith(title)
    assert EventType.from_lane(int(view.columns.lane[row])).label in description
    assert view.detail.title.accessibleName() == f"Event title: {title}"
    assert view.detail.findChild(QLabel, "eventDetailLabelWhen").accessibleName() == "When"
    assert view.header.accessibleName().startswith("Selected patient: ")
    qtbot.keyClick(view.plot, Qt.Key.Key_Escape)
    assert view.plot.accessibleDescription() == ""


def test_ctrl_shift_f_goes_to_the_title_search(qtbot: QtBot, view: TimelineView) -> None:
    window = view.window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    action = window.findChild(QAction, "searchTitlesAction")
    assert action.shortcut().toString() == "Ctrl+Shift+F"
    assert not window.findChild(QAction, "quitAction").shortcut().isEmpty()  # none on some platforms
    action.trigger()
    qtbot.waitUntil(view.filters.search.hasFocus, timeout=5_000)


def _focus_timeline(qtbot: QtBot, view: TimelineView) -> None:
    """Give the timeline the keys, as a click or Tab would (its window active first)."""
    window = view.window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    view.plot.setFocus()
    qtbot.waitUntil(view.plot.hasFocus, timeout=5_000)


def test_the_timeline_shows_when_it_has_the_keys(qtbot: QtBot, view: TimelineView) -> None:
    """Focused or not, the timeline looked the same: a keyboard user could not tell where keys went."""
    from PySide6.QtGui import QColor

    from ui.style import FOCUS_COLOUR

    _focus_timeline(qtbot, view)
    lanes = view.plot.mapFromScene(view.plot.view_box.sceneBoundingRect()).boundingRect()
    at = lanes.center().x(), lanes.top() + 1

    def colour_at_the_edge() -> str:
        image = view.plot.viewport().grab().toImage()
        ratio = image.devicePixelRatio()
        return image.pixelColor(int(at[0] * ratio), int(at[1] * ratio)).name()

    assert colour_at_the_edge() == QColor(FOCUS_COLOUR).name()
    view.filters.search.setFocus()
    qtbot.waitUntil(lambda: not view.plot.hasFocus(), timeout=5_000)
    assert colour_at_the_edge() != QColor(FOCUS_COLOUR).name()


def test_the_focus_frame_stays_out_of_an_export(qtbot: QtBot, view: TimelineView) -> None:
    from PySide6.QtGui import QColor, QImage, QPainter

    from ui.export import MARGIN, caption_for, paint_sheet, sheet_layout
    from ui.style import FOCUS_COLOUR

    _focus_timeline(qtbot, view)
    caption = caption_for(view)
    layout = sheet_layout(view, caption)
    image = QImage(layout.width, layout.height, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    paint_sheet(painter, view, caption)
    painter.end()
    lanes = view.plot.mapFromScene(view.plot.view_box.sceneBoundingRect()).boundingRect()
    edge = image.pixelColor(MARGIN + lanes.center().x(), layout.plot_top + lanes.top() + 1)
    assert edge.name() != QColor(FOCUS_COLOUR).name()
    assert view.plot.focus_frame  # back on for the screen
