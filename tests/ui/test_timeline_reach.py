"""Every event in reach and read safely: far-off dates, the wheel, the overview box, shared moments,
failed reads, text that is only text, exports and print.

Built from columns without a database (as ``test_timeline_drawing``), except
where a read must fail: there the view is given an engine whose server does
not exist, so psycopg fails for real.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QFont, QFontMetrics, QWheelEvent
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication, QPlainTextEdit
from pytestqt.qtbot import QtBot

from tests.ui.test_timeline_drawing import make_view, show_columns
from ui.detail_pane import SHOWN_CHARS
from ui.elided_label import elide_words
from ui.export import caption_for, print_on_page, with_export_suffix
from ui.filter_bar import SEARCH_MIN_PX
from ui.timeline_view import TimelineView
from viewer.domain import EventDetail, EventType, Importance
from viewer.lane_layout import LaneLayout
from viewer.services.bench_data import synthetic_history
from viewer.services.timeline_query import TimelineColumns, from_epoch_ms
from viewer.timeline_filter import TimelineFilter
from viewer.view_range import DAY_MS, MIN_SPAN_MS, PAN_STEP, YEAR_MS, ZOOM_STEP, ViewRange

pytestmark = pytest.mark.ui

T0 = 1_767_225_600_000  # 1 Jan 2026 UTC
NO_SERVER = "postgresql+psycopg://nobody@/caseline?host=/nonexistent-caseline-socket"


def _columns(times: list[int], lanes: list[int] | None = None) -> TimelineColumns:
    n = len(times)
    return TimelineColumns(
        np.arange(1, n + 1, dtype=">u8").astype("S16"),
        np.array(times, dtype=np.int64),
        np.array(lanes if lanes is not None else [EventType.SESSION.lane] * n, dtype=np.int8),
        np.full(n, int(Importance.NORMAL), np.int8),
        np.zeros(n, np.uint8),
    )


def _detail(view: TimelineView, row: int, **changes: object) -> EventDetail:
    fields: dict[str, object] = {
        "id": view.columns.event_id(row),
        "patient_id": uuid.UUID(int=7),
        "therapist_id": None,
        "therapist_name": "Ada Morrow",
        "event_type": EventType.from_lane(int(view.columns.lane[row])),
        "event_subtype": None,
        "event_date": from_epoch_ms(int(view.columns.time_ms[row])),
        "title": "Session",
        "description": None,
        "metadata": None,
        "related_entity_type": None,
        "related_entity_id": None,
        "importance": Importance(int(view.columns.importance[row])),
        "is_private": False,
        "created_at": datetime(2026, 1, 1),
    }
    fields.update(changes)
    return EventDetail(**fields)  # type: ignore[arg-type]


def _unreachable() -> tuple[sa.Engine, list[int]]:
    """An engine whose server does not exist, and the connection attempts made through it."""
    engine = sa.create_engine(NO_SERVER)
    attempts: list[int] = []
    sa.event.listen(engine, "do_connect", lambda *_args: attempts.append(1))
    return engine, attempts


def _wheel(view: TimelineView, pos: QPoint, delta: QPoint) -> None:
    event = QWheelEvent(
        QPointF(pos),
        QPointF(view.plot.viewport().mapToGlobal(pos)),
        QPoint(0, 0),
        delta,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.plot.viewport(), event)


def _lanes_pos(view: TimelineView, fraction: float) -> QPoint:
    box = view.plot.view_box.sceneBoundingRect()
    scene = QPointF(box.left() + fraction * box.width(), box.center().y())
    return view.plot.mapFromScene(scene)


def _time_at(view: TimelineView, pos: QPoint) -> float:
    return float(view.plot.view_box.mapSceneToView(view.plot.mapToScene(pos)).x()) * 1000.0


# -- reach ---------------------------------------------------------------------------------


def test_one_far_off_date_leaves_every_event_in_reach(qtbot: QtBot) -> None:
    """A typo (2926 for 2026) capped "All" at 200 empty years, and no preset or step got back."""
    times = [T0 + i * DAY_MS for i in range(40)] + [T0 + round(900 * YEAR_MS)]
    view = make_view(qtbot, _columns(times), T0 + 40 * DAY_MS)
    qtbot.keyClick(view.plot, Qt.Key.Key_0)
    first, last = view.rows_in_view()
    assert last - first == len(times)  # every event in the whole view
    view.select_row(10)
    qtbot.keyClick(view.plot, Qt.Key.Key_D)
    day = view.plot.view_range()
    assert day.span_ms == pytest.approx(DAY_MS) and day.contains(times[10])
    history = view.history
    assert history is not None
    axis = view.plot.time_axis
    spacing, values = axis.tickValues(history.start_ms / 1000, history.end_ms / 1000, 1000)[0]
    labels = axis.tickStrings(values, 1.0, spacing)
    assert len(labels) >= 3 and all(label.isdigit() for label in labels)  # round years across centuries


def test_the_wheel_at_the_closest_zoom_leaves_the_window_where_it_is(qtbot: QtBot) -> None:
    """pyqtgraph re-centred the clamped span: each further notch slid the time under the pointer away."""
    times = [T0 + i * 3_600_000 for i in range(48)]
    view = make_view(qtbot, _columns(times), T0)
    view.plot.set_view_range(ViewRange.around(times[20], MIN_SPAN_MS))
    pos = _lanes_pos(view, 0.3)
    before, anchor = view.plot.view_range(), _time_at(view, pos)
    for _ in range(5):
        _wheel(view, pos, QPoint(0, 120))
    after = view.plot.view_range()
    assert after.span_ms == pytest.approx(MIN_SPAN_MS)
    assert after.start_ms == pytest.approx(before.start_ms, abs=1.0)
    assert _time_at(view, pos) == pytest.approx(anchor, abs=1.0)


def test_a_wheel_notch_zooms_as_a_key_does_and_a_sideways_swipe_pans(qtbot: QtBot) -> None:
    """A sideways swipe (or tilt wheel) zoomed by pyqtgraph's 0.743 instead of panning."""
    times = [T0 + i * DAY_MS for i in range(60)]
    view = make_view(qtbot, _columns(times), T0)
    view.plot.set_view_range(ViewRange(T0 + 10 * DAY_MS, T0 + 30 * DAY_MS))
    pos = _lanes_pos(view, 0.5)
    before = view.plot.view_range()
    _wheel(view, pos, QPoint(0, 120))
    assert view.plot.view_range().span_ms == pytest.approx(before.span_ms / ZOOM_STEP, rel=1e-6)
    view.plot.set_view_range(before)
    _wheel(view, pos, QPoint(-120, 0))  # swiped right-to-left: later in time
    after = view.plot.view_range()
    assert after.span_ms == pytest.approx(before.span_ms, rel=1e-9)
    assert after.start_ms - before.start_ms == pytest.approx(PAN_STEP * before.span_ms, rel=1e-6)


def test_the_overview_box_stays_whole_on_the_strip(qtbot: QtBot) -> None:
    """Pan and zoom may go past the history; the box used to run off the strip's ends, out of reach."""
    times = [T0 + i * DAY_MS for i in range(300)]
    view = make_view(qtbot, _columns(times), T0 + 300 * DAY_MS)

    def box_inside() -> bool:
        shown = view.plot.view_range()
        box = view.overview.window_box
        qtbot.waitUntil(  # the box follows the view once per event loop pass
            lambda: tuple(t * 1000 for t in box.getRegion()) == pytest.approx((shown.start_ms, shown.end_ms))
        )
        low, high = box.getRegion()
        (left, right), _ = view.overview.getViewBox().viewRange()
        return bool(left - 1e-6 <= low and high <= right + 1e-6)

    for _ in range(30):
        qtbot.keyClick(view.plot, Qt.Key.Key_Minus)
    assert view.plot.view_range().span_ms > view.history.span_ms  # type: ignore[union-attr]
    assert box_inside()
    qtbot.keyClick(view.plot, Qt.Key.Key_3)
    for _ in range(60):
        qtbot.keyClick(view.plot, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert view.plot.view_range().start_ms < view.history.start_ms  # type: ignore[union-attr]
    assert box_inside()
    qtbot.keyClick(view.plot, Qt.Key.Key_0)
    assert box_inside()
    (left, right), _ = view.overview.getViewBox().viewRange()
    assert (left * 1000, right * 1000) == pytest.approx(
        (view.history.start_ms, view.history.end_ms)  # type: ignore[union-attr]
    )  # back inside the history, the strip is the history again


def test_events_sharing_a_moment_take_turns_under_the_mouse(qtbot: QtBot) -> None:
    """Two notes at one minute drew one marker; the second could be reached only with the arrow keys."""
    at = T0 + 5 * DAY_MS
    note = EventType.NOTE.lane
    view = make_view(qtbot, _columns([T0, at, at, T0 + 9 * DAY_MS], [note] * 4), T0)
    view.plot.set_view_range(ViewRange.around(at, MIN_SPAN_MS))
    point = QPointF(at / 1000.0, float(view.plot.lane_layout.y_table()[note]))
    clicks = []
    for _ in range(3):
        view.plot.view_box.clicked.emit(point)
        clicks.append(view.selected_row)
    assert clicks == [1, 2, 1]
    assert "2 events at this moment" in view.tooltip_for_row(1)
    assert "at this moment" not in view.tooltip_for_row(0)


def test_a_new_history_is_not_searched_with_the_last_ones_rows(qtbot: QtBot) -> None:
    """The last search's rows indexed the last columns: a smaller patient's load crashed (IndexError)."""
    big = synthetic_history(400, seed=3, years=1.0).columns(seed=3)
    view = make_view(qtbot, big, float(big.time_ms[-1]))
    view.set_filter(TimelineFilter(text="phone"))
    view._apply_filter(view.filter.with_text_rows(np.array([5, 390], np.int64)), refresh_search=False)
    assert view.match_rows.tolist() == [5, 390]
    small = synthetic_history(50, seed=4, years=1.0).columns(seed=4)
    show_columns(view, small, float(small.time_ms[-1]))
    assert view.columns is small and view.match_rows.tolist() == []
    assert view._match_status() == "searching…"  # this patient's own answer is awaited


# -- reading -------------------------------------------------------------------------------


def test_a_failed_read_says_so_where_the_text_goes_and_keeps_the_timeline(qtbot: QtBot) -> None:
    """The connection lost, a hover or click replaced the lanes with an error page and no way back."""
    columns = synthetic_history(60, seed=8, years=1.0).columns(seed=8)
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    view.engine = sa.create_engine(NO_SERVER)
    view.show_tooltip(3)
    qtbot.waitUntil(lambda: "connection failed" in view.tooltip_for_row(3), timeout=10_000)
    view.select_row(4)
    retry = view.detail.buttons["retry"]
    qtbot.waitUntil(lambda: retry.isVisible(), timeout=10_000)
    assert "connection failed" in view.detail.hint.text()
    assert view.detail.title.text().startswith(view.tooltip_for_row(4).splitlines()[0])
    assert view.stack.currentIndex() == view.PLOT_PAGE  # the lanes stay
    retry.click()
    assert view.detail.title.text() == "Loading…"  # read again
    qtbot.waitUntil(lambda: retry.isVisible(), timeout=10_000)
    view.engine.dispose()


def test_a_role_without_texts_is_not_offered_them(qtbot: QtBot) -> None:
    """An administrator's every hover read, was refused, and replaced the timeline; search never ended."""
    columns = synthetic_history(60, seed=9, years=1.0).columns(seed=9)
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    view.engine = sa.create_engine(NO_SERVER)  # any read attempted would fail loudly here
    view.set_texts_readable(False)
    assert not view.filters.search.isEnabled() and "cannot search" in view.filters.search.toolTip()
    view.show_tooltip(2)
    assert "not the text" in view.tooltip_for_row(2)
    view.select_row(2)
    assert "not the text" in view.detail.hint.text() and not view.detail.buttons["retry"].isVisible()
    assert not view.runner.busy  # nothing was sent to the database
    view.set_texts_readable(True)
    assert view.filters.search.isEnabled()
    view.engine.dispose()


def test_titles_and_values_are_shown_as_text_not_markup(qtbot: QtBot) -> None:
    columns = _columns([T0, T0 + DAY_MS])
    view = make_view(qtbot, columns, T0)
    title = "<b>bold</b> <img src=x> &amp; <script>"
    view._details[view.columns.event_id(0)] = _detail(view, 0, title=title, event_subtype="<i>x</i>")
    view.select_row(0)
    assert view.detail.title.text() == title
    assert view.detail.title.textFormat() == Qt.TextFormat.PlainText
    assert view.detail.field_text("Type") == "Session (<i>x</i>)"
    assert view.header.textFormat() == Qt.TextFormat.PlainText
    assert view.tooltip_for_row(0).splitlines()[1] == title  # the first line has no tag: Qt shows it plain


def test_a_long_unbroken_description_is_shown_unwrapped_and_a_huge_one_in_part(qtbot: QtBot) -> None:
    """Qt wraps one unbroken line in time growing with its square: 300 KB froze the window for 11 s."""
    view = make_view(qtbot, _columns([T0, T0 + DAY_MS, T0 + 2 * DAY_MS]), T0)
    box = view.detail.description
    cases = {0: "A short note that wraps.", 1: "QUJD" * 5_000, 2: "x" * (SHOWN_CHARS + 10)}
    for row, text in cases.items():
        view._details[view.columns.event_id(row)] = _detail(view, row, description=text)
    view.select_row(0)
    assert box.lineWrapMode() == QPlainTextEdit.LineWrapMode.WidgetWidth and not view.detail.hint.isVisible()
    view.select_row(1)
    assert box.lineWrapMode() == QPlainTextEdit.LineWrapMode.NoWrap
    assert box.toPlainText() == cases[1]
    view.select_row(2)
    assert len(box.toPlainText()) == SHOWN_CHARS
    assert view.detail.hint.isVisible() and f"{SHOWN_CHARS:,}" in view.detail.hint.text()


# -- filters, labels, export ------------------------------------------------------------------


def test_the_search_box_keeps_its_room_beside_a_long_filter_line(qtbot: QtBot) -> None:
    view = make_view(qtbot, synthetic_history(100, seed=2).columns(seed=2), T0)
    view.resize(900, 600)  # the timeline beside the patient list and the detail pane
    bar = view.filters
    bar.search.setText("phone call")
    bar.importance.setCurrentIndex(1)
    bar.private.setCurrentIndex(1)
    bar.type_boxes[EventType.MEDICATION].setChecked(False)
    qtbot.waitUntil(lambda: bar.search.width() >= SEARCH_MIN_PX)
    assert bar.summary.width() < bar.summary.sizeHint().width()  # the filter line gave way instead


def test_a_shortened_count_never_cuts_a_number(qtbot: QtBot) -> None:
    """ "1457 events · all in view" was drawn as "145…", which reads as 145 events."""
    metrics = QFontMetrics(QFont("Sans Serif", 9))
    text = "1457 events · all in view"
    widths = range(metrics.horizontalAdvance("…"), metrics.horizontalAdvance(text) + 2)
    shown = {elide_words(text, metrics, width) for width in widths}
    assert shown == {"…", "1457…", "1457 events…", "1457 events · all…", "1457 events · all in…", text}


def test_an_export_name_with_a_dot_gets_the_format_added() -> None:
    assert with_export_suffix(Path("Mr. Kilnsey timeline"), "png") == Path("Mr. Kilnsey timeline.png")
    assert with_export_suffix(Path("timeline v1.2"), "pdf") == Path("timeline v1.2.pdf")
    assert with_export_suffix(Path("plain"), "svg") == Path("plain.svg")
    assert with_export_suffix(Path("sheet.PNG"), "pdf") == Path("sheet.PNG")  # a format named stays


def test_print_sends_vector_drawing_not_a_page_sized_image(qtbot: QtBot, tmp_path: Path) -> None:
    """QWidget.render onto a printer rasterised the page at 1200 dpi: 0.7 GB and two seconds frozen."""
    columns = synthetic_history(300, seed=6, years=1.0).columns(seed=6)
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    view.patient = view.patient  # shown as the app shows it
    target = tmp_path / "printed.pdf"
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(target))
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QPainter

    painter = QPainter(printer)
    page = printer.pageLayout().paintRectPixels(printer.resolution())
    print_on_page(painter, QRect(0, 0, page.width(), page.height()), view, caption_for(view))
    painter.end()
    data = target.read_bytes()
    assert b"/Subtype /Image" not in data and b"/Subtype/Image" not in data
    assert len(data) < 1_000_000


def test_lanes_moved_while_the_overview_is_computed_are_drawn_as_they_are(qtbot: QtBot) -> None:
    """The background job drew the lane order it started with; a reorder keeps the index, so it landed."""
    from ui.overview_strip import density_image
    from ui.timeline_view import SYNC_PROVIDER_EVENTS

    small = synthetic_history(500, seed=10, years=2.0).columns(seed=10)
    view = make_view(qtbot, small, float(small.time_ms[-1]))
    columns = synthetic_history(SYNC_PROVIDER_EVENTS + 5_000, seed=11, years=2.0).columns(seed=11)
    show_columns(view, columns, float(columns.time_ms[-1]))  # big: the pyramid is built in the background
    assert not view.lod_ready
    moved = LaneLayout().moved(EventType.EXTERNAL_EVENT, -8)
    view.set_lane_layout(moved)  # before the background job lands
    qtbot.waitUntil(lambda: view.lod_ready, timeout=30_000)
    expected = density_image(view.index, view.history, moved)  # type: ignore[arg-type]
    assert np.array_equal(view.overview.image.image, expected)


def test_reads_overtaken_before_they_start_are_not_sent(qtbot: QtBot) -> None:
    """Sweeping the pointer over markers queued a read per marker (3,149 for 4,800 moves), each run
    though its answer was dropped: on a remote server that backlog delays the read wanted."""
    import threading

    columns = synthetic_history(200, seed=12, years=1.0).columns(seed=12)
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    engine, attempts = _unreachable()
    view.engine = engine
    busy = threading.Event()
    for _ in range(2):  # both workers busy, as on a slow server: the sweep's reads queue up
        view.runner.run(lambda _t, _r: busy.wait(10), success=lambda _r: None, failure=lambda _e: None)
    for row in range(100):
        view.show_tooltip(row)
    busy.set()
    qtbot.waitUntil(lambda: not view.runner.busy, timeout=10_000)
    assert len(attempts) == 1  # the last one's: the 99 overtaken in the queue were never sent
    assert "connection failed" in view.tooltip_for_row(99)
    engine.dispose()


def test_the_match_line_says_which_match_is_selected(qtbot: QtBot) -> None:
    columns = synthetic_history(50, seed=13, years=1.0).columns(seed=13)
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    view.set_filter(TimelineFilter(text="phone"))
    view._apply_filter(view.filter.with_text_rows(np.array([3, 7, 9], np.int64)), refresh_search=False)
    label = view.filters.match_label
    assert label.text() == "3 matches"
    view.step_search(1)
    assert view.selected_row == 3 and label.text() == "1 of 3 matches"
    view.step_search(1)
    assert label.text() == "2 of 3 matches"
    view.select_row(5)  # not a match
    assert label.text() == "3 matches"


def test_a_click_beside_the_overview_box_moves_the_window_there(qtbot: QtBot) -> None:
    times = [T0 + i * DAY_MS for i in range(300)]
    view = make_view(qtbot, _columns(times), T0 + 300 * DAY_MS)
    qtbot.keyClick(view.plot, Qt.Key.Key_2)  # a month, at the end
    month = view.plot.view_range()
    strip = view.overview
    box = strip.getViewBox()
    qtbot.waitUntil(lambda: strip.window_box.getRegion()[0] * 1000 == pytest.approx(month.start_ms))
    target = T0 + 60 * DAY_MS
    pos = strip.mapFromScene(box.mapViewToScene(QPointF(target / 1000.0, 0.5)))
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    moved = view.plot.view_range()
    assert moved.span_ms == pytest.approx(month.span_ms, rel=1e-6)
    px_ms = view.history.span_ms / box.width()  # type: ignore[union-attr]
    assert moved.centre_ms == pytest.approx(target, abs=2 * px_ms)


def test_today_moves_on_while_the_timeline_stays_open(qtbot: QtBot) -> None:
    times = [T0 + i * DAY_MS for i in range(10)]
    view = make_view(qtbot, _columns(times), T0 + 5 * DAY_MS)
    assert view._today_timer.isActive()
    view.clock = lambda: (T0 + 6 * DAY_MS) / 1000.0  # the next day came
    view.refresh_today()
    assert view.plot.today_line.value() * 1000 == pytest.approx(T0 + 6 * DAY_MS)


def test_events_on_the_calendars_first_and_last_days_can_be_shown(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A placeholder 31 Dec 9999 (or 1 Jan 1) lay outside every window the view allowed."""
    import time as clock

    from viewer.export_caption import describe_range
    from viewer.view_range import CALENDAR_END_MS, CALENDAR_START_MS

    monkeypatch.setenv("TZ", "America/New_York")  # behind UTC: the first hours are local year 0
    clock.tzset()
    try:
        first, last = round(CALENDAR_START_MS), round(CALENDAR_END_MS) - 59_999  # 1 Jan 1, 31 Dec 9999 23:59
        times = [first] + [T0 + i * DAY_MS for i in range(20)] + [last]
        view = make_view(qtbot, _columns(times), T0)
        qtbot.keyClick(view.plot, Qt.Key.Key_0)
        a, b = view.rows_in_view()
        assert b - a == len(times)
        assert describe_range(view.plot.view_range())  # named, not an OverflowError
        qtbot.keyClick(view.plot, Qt.Key.Key_3)  # the last year of the history
        assert view.plot.view_range().contains(last)
        view.select_row(0)
        qtbot.keyClick(view.plot, Qt.Key.Key_D)
        assert view.plot.view_range().contains(first)
        assert view.tooltip_for_row(0).startswith("Mon 1 Jan 1, 00:00 UTC")  # local time is year 0 here
        assert describe_range(view.plot.view_range()).endswith(" UTC")  # both ends in one zone, said
        view.select_row(len(times) - 1)
        qtbot.keyClick(view.plot, Qt.Key.Key_D)  # a day around the last moment the calendar has
        day = view.plot.view_range()
        assert day.span_ms == pytest.approx(DAY_MS) and day.centre_ms == pytest.approx(last, abs=1)
    finally:
        monkeypatch.undo()
        clock.tzset()


def test_a_search_without_a_connection_says_so_and_enter_tries_again(qtbot: QtBot) -> None:
    """The failed search replaced the timeline with an error page, and stayed "searching…"."""
    columns = synthetic_history(60, seed=14, years=1.0).columns(seed=14)
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    engine, attempts = _unreachable()
    view.engine = engine
    view.set_filter(TimelineFilter(text="session"))
    label = view.filters.match_label
    qtbot.waitUntil(lambda: "search failed" in label.text(), timeout=10_000)
    assert view.stack.currentIndex() == view.PLOT_PAGE
    view.select_row(3)
    assert "search failed" in label.text()  # not back to "searching…"
    tried = len(attempts)
    view.step_search(1)  # Enter or F3
    qtbot.waitUntil(lambda: len(attempts) > tried and "search failed" in label.text(), timeout=10_000)
    engine.dispose()


def test_try_again_goes_through_the_windows_reconnect(qtbot: QtBot) -> None:
    """The pane's Try again read again against a stopped server; the window starts it first now."""
    columns = synthetic_history(30, seed=15, years=1.0).columns(seed=15)
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    asked: list[object] = []

    def reconnect(then: object) -> None:
        asked.append(then)

    view.before_retry = reconnect
    view.select_row(4)
    view.retry_selected()
    assert len(asked) == 1 and callable(asked[0])


def test_a_click_at_the_overview_box_edge_is_not_a_jump(qtbot: QtBot) -> None:
    times = [T0 + i * DAY_MS for i in range(300)]
    view = make_view(qtbot, _columns(times), T0 + 300 * DAY_MS)
    qtbot.keyClick(view.plot, Qt.Key.Key_2)
    month = view.plot.view_range()
    strip = view.overview
    qtbot.waitUntil(lambda: strip.window_box.getRegion()[0] * 1000 == pytest.approx(month.start_ms))
    box = strip.getViewBox()
    edge = box.mapViewToScene(QPointF(month.start_ms / 1000.0, 0.5))
    pos = strip.mapFromScene(edge) - QPoint(3, 0)  # 3 px left of the box: a missed grab
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert view.plot.view_range() == month


def test_the_menu_offers_new_events_only_where_they_may_be_added(qtbot: QtBot) -> None:
    view = make_view(qtbot, _columns([T0, T0 + DAY_MS]), T0)
    assert view.context_menu(T0, EventType.NOTE).actions()[0].isEnabled()
    view.may_add_events = False  # an administrator, or a patient this clinician does not treat
    assert not view.context_menu(T0, EventType.NOTE).actions()[0].isEnabled()


def test_a_pdf_or_printed_sheet_sits_in_the_middle_of_the_page(qtbot: QtBot) -> None:
    """It sat against the left margin: 31 px there, 74 px on the right of an A4 page at 100 dpi."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QImage, QPainter

    from ui.export import paint_on_page

    columns = synthetic_history(300, seed=6, years=1.0).columns(seed=6)
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    page = QImage(3000, 1000, QImage.Format.Format_RGB32)  # much wider than the sheet's proportions
    page.fill(QColor("#123456"))
    painter = QPainter(page)
    paint_on_page(painter, QRect(0, 0, page.width(), page.height()), view, caption_for(view))
    painter.end()
    row = np.frombuffer(page.constBits(), np.uint32).reshape(page.height(), -1)[page.height() // 2]
    drawn = np.flatnonzero(row != np.uint32(QColor("#123456").rgb()))
    left, right = int(drawn[0]), page.width() - 1 - int(drawn[-1])
    assert left > 100 and abs(left - right) <= 2
