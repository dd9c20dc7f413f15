"""Text a clinician with low vision can read: enough contrast, and sizes that follow the app's font."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.fonts import app_font
from ui.operations import OperationRunner
from ui.overview_strip import OverviewStrip
from ui.patient_list import SECOND_LINE_COLOUR
from ui.sign_in_dialog import SignInDialog
from ui.style import TODAY_TEXT_COLOUR
from ui.timeline_view import TimelineView

pytestmark = pytest.mark.ui


def _luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())
    )


def contrast(text: QColor, background: QColor) -> float:
    """WCAG's contrast ratio of two opaque colours."""
    light, dark = sorted((_luminance(text), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_secondary_text_reaches_four_and_a_half_to_one(qtbot: QtBot) -> None:
    """The overview's dates were 2.8:1, the today label 3:1, the hint 3.9:1, the list's second line 4:1."""
    strip = OverviewStrip()
    qtbot.addWidget(strip)
    dates = strip.getPlotItem().getAxis("bottom").textPen().color()
    assert contrast(dates, QColor("#FAFAFA")) >= 4.5
    assert contrast(QColor(TODAY_TEXT_COLOUR), QColor("white")) >= 4.5
    assert contrast(SECOND_LINE_COLOUR, QColor("white")) >= 4.5
    view = TimelineView(OperationRunner())
    qtbot.addWidget(view)
    hint = view.findChild(QLabel, "timelineHint")
    colour = QColor(hint.styleSheet().split("color:")[1].split(";")[0])
    assert contrast(colour, view.palette().window().color()) >= 4.5


def test_the_timelines_messages_grow_with_the_app_font(qtbot: QtBot) -> None:
    """The loading and error messages were a fixed 15 px, the empty-view hint 14 px, at any font."""
    with app_font(18.0):
        view = TimelineView(OperationRunner())
        qtbot.addWidget(view)
        view.show_message("Loading the timeline…")
        assert "font-size:20pt" in view.message.styleSheet()
        assert "font-size: 19.5pt" in view.plot.hint.styleSheet()


def test_under_a_large_font_the_filters_and_legend_wrap_instead_of_widening_the_window(qtbot: QtBot) -> None:
    """At 18 pt the filter rows and the legend made the timeline 1,350 px at the least: off a laptop screen."""
    with app_font(18.0):
        view = TimelineView(OperationRunner())
        qtbot.addWidget(view)
        one_line = view.filters.sizeHint().width()
        assert view.minimumSizeHint().width() < 1100 < one_line
        view.resize(view.minimumSizeHint().width(), 700)
        view.show()
        qtbot.waitExposed(view)
        qtbot.waitUntil(lambda: view.filters.width() < one_line, timeout=5_000)
        bar = view.filters.rect()
        inside = [
            widget
            for widget in view.filters.findChildren(QWidget)
            if widget.isVisible() and widget.parentWidget() is view.filters
        ]
        assert len(inside) > 15
        for widget in inside:  # every control wholly inside the bar, none under another
            assert bar.contains(widget.geometry()), widget.objectName()
        for a, b in itertools.combinations(inside, 2):
            assert not a.geometry().intersects(b.geometry()), (a.objectName(), b.objectName())
        reset = view.filters.reset
        assert reset.geometry().top() > view.filters.importance.geometry().top()  # on a later line
        legend = view.legend
        assert legend.rect().contains(view.findChild(QLabel, "legendPrivate").geometry())
        assert view.findChild(QLabel, "legendPrivate").geometry().top() > 0  # wrapped below the swatches


def test_the_detail_pane_gives_each_wrapped_value_its_lines_under_a_large_font(qtbot: QtBot) -> None:
    """At 14-18 pt "When" showed "Tue 4 Mar" without its time: wrapped values got one line's height."""
    from tests.ui.test_keyboard import _detail
    from ui.detail_pane import EventDetailPane

    for points in (14.0, 18.0):
        with app_font(points):
            pane = EventDetailPane()
            qtbot.addWidget(pane)
            pane.resize(pane.minimumWidth(), 600)
            pane.show()
            pane.show_detail(_detail(event_subtype="message", therapist_name="Dr Example Longername"))

            def wrapped(pane: EventDetailPane = pane) -> list[QLabel]:
                return [
                    label
                    for label in pane.findChildren(QLabel)
                    if label.objectName().startswith("eventDetail") and label.isVisible() and label.wordWrap()
                ]

            qtbot.waitUntil(lambda: len(wrapped()) >= 6, timeout=5_000)  # shown once laid out
            qtbot.waitUntil(
                lambda: all(label.height() >= label.heightForWidth(label.width()) for label in wrapped()),
                timeout=5_000,
            )


def test_the_demo_accounts_and_the_title_search_grow_with_the_font(qtbot: QtBot, tmp_path: Path) -> None:
    """At 18 pt the demo list (170 px) showed 6 of 7 accounts and the search box read "Search tit…"."""
    accounts = [
        {"username": f"demo_{n}", "display_name": f"Clinician {n}", "role": "therapist", "password": "x"}
        for n in range(7)
    ]
    (tmp_path / "demo-credentials.json").write_text(json.dumps({"users": accounts}), encoding="utf-8")
    with app_font(18.0):
        dialog = SignInDialog(tmp_path)
        qtbot.addWidget(dialog)
        rows = (
            dialog.demo_list.count() * dialog.demo_list.sizeHintForRow(0) + 2 * dialog.demo_list.frameWidth()
        )
        assert dialog.demo_list.maximumHeight() >= rows
        view = TimelineView(OperationRunner())
        qtbot.addWidget(view)
        search = view.filters.search
        assert search.minimumWidth() >= search.fontMetrics().horizontalAdvance(search.placeholderText())


def test_the_today_label_stays_inside_the_lanes_under_a_large_font(qtbot: QtBot) -> None:
    """At 18 pt the label's top was cut off at the plot's upper edge."""
    from ui.timeline_plot import TimelinePlot
    from viewer.view_range import DAY_MS, ViewRange

    with app_font(18.0):
        plot = TimelinePlot()
        qtbot.addWidget(plot)
        plot.resize(900, 420)
        plot.show()
        qtbot.waitExposed(plot)
        now_ms = 1.78e12
        plot.set_view_range(ViewRange(now_ms - 30 * DAY_MS, now_ms + 2 * DAY_MS))
        plot.set_today(now_ms)
        label = plot.today.label
        qtbot.waitUntil(label.isVisible, timeout=5_000)
        box = label.mapRectToScene(label.boundingRect())
        lanes = plot.view_box.sceneBoundingRect()
        assert lanes.top() <= box.top() and box.bottom() <= lanes.bottom()


def test_the_focused_control_has_a_ring_that_shows(qtbot: QtBot) -> None:
    """The platform's focus mark on a button or combo box changed it by 2.35:1 at most."""
    from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QToolButton

    from ui.focus_style import FocusStyle
    from ui.style import FOCUS_COLOUR

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    usual = app.style().name()
    app.setStyle(FocusStyle())
    try:
        holder = QWidget()
        qtbot.addWidget(holder)
        row = QHBoxLayout(holder)
        combo = QComboBox()
        combo.addItem("Any importance")
        tool = QToolButton()
        tool.setText("Lanes")
        controls = [QPushButton("1 week"), combo, tool]
        for control in controls:
            row.addWidget(control)
        holder.show()
        qtbot.waitExposed(holder)
        ring = QColor(FOCUS_COLOUR)
        for control in controls:
            control.setFocus()
            qtbot.waitUntil(control.hasFocus, timeout=5_000)
            image = control.grab().toImage()
            middle = image.height() // 2
            edge = image.pixelColor(1, middle)
            assert contrast(edge, ring) < 1.3, control.metaObject().className()  # the ring's blue
            assert contrast(edge, QColor("#EFEFEF")) >= 3.0
    finally:
        app.setStyle(usual)


def test_the_date_labels_never_overlap_under_a_large_font(qtbot: QtBot) -> None:
    """At 18 pt in a day's view "Thu 29 Oct, 21:00" ran 79 px into "Fri 30 Oct": the room was 9 pt's."""
    from ui.timeline_plot import TimelinePlot
    from viewer.view_range import DAY_MS, ViewRange

    for points in (9.0, 14.0, 18.0):
        with app_font(points):
            plot = TimelinePlot()
            qtbot.addWidget(plot)
            plot.resize(900, 420)
            plot.show()
            qtbot.waitExposed(plot)
            for span in (DAY_MS, 7 * DAY_MS, 40 * DAY_MS, 400 * DAY_MS):
                plot.set_view_range(ViewRange.around(1.7615e12, span))
                plot.grab()  # paints, laying the labels out
                _line, _ticks, labels = plot.time_axis._specs
                rects = sorted((rect for rect, _flags, _text in labels), key=lambda rect: rect.left())
                assert rects, (points, span)  # the window is named
                for left, right in itertools.pairwise(rects):
                    assert left.right() <= right.left(), (points, span, left, right)


def test_at_its_least_size_the_wrapped_rows_push_the_lanes_down_not_under_the_overview(qtbot: QtBot) -> None:
    """At the narrowest the filter rows wrapped, but the least height counted one line each: overlap."""
    from tests.ui.test_rendering_approval import _view_of

    view = _view_of(qtbot, 300)
    view.body.setSizes([900, 300])
    for _ in range(3):  # the least size settles once the wrapped rows have asked for their height
        least = view.minimumSizeHint()
        view.resize(least.width(), least.height())
        QApplication.processEvents()
    plot, overview = view.plot, view.overview
    assert view.filters.geometry().bottom() < view.stack.geometry().top()
    plot_bottom = plot.mapTo(view, plot.rect().bottomLeft()).y()
    overview_top = overview.mapTo(view, overview.rect().topLeft()).y()
    assert plot_bottom < overview_top
    assert plot.height() >= plot.minimumHeight()
