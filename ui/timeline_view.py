"""The patient's timeline: lanes, zoom and pan, hover, selection, filters, overview.

A thin adapter over Qt-free pieces: ``ViewRange`` decides how gestures move
the window, ``TimelineFilter`` which events show, ``TimelineIndex`` what is
under the mouse and what comes next, and a frame provider (the LOD pyramid)
what one repaint draws.  Database work (event text, title search) goes
through the window's ``OperationRunner``; nothing here waits on it.

Keys (when the lanes have focus, which they take when a patient is clicked
or chosen with Enter, and after any of the timeline's own buttons; Tab still
reaches every control): ``+``/``-`` zoom, ``Shift+←/→`` pan,
``←/→`` previous/next event, ``Enter`` open, ``Esc`` clear the selection,
``D``/``1``/``2``/``3``/``0`` one day, week, month, year, everything; ``F3``/``Shift+F3``
next/previous search match.  Wheel or pinch zooms around the cursor, drag
pans, ``Shift``+drag zooms to the dragged range, double-click zooms in there.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np
import sqlalchemy as sa
from PySide6.QtCore import QPoint, QPointF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ui.detail_pane import EventDetailPane
from ui.elided_label import ElidedLabel
from ui.event_layer import VECTOR_ENGINES, FrameProvider
from ui.filter_bar import FilterBar
from ui.flow_row import FlowRow, WrappingPanel
from ui.marker_shapes import VectorMark, lock_sprite, marker, marker_sprite
from ui.marker_shapes import lock as padlock
from ui.operations import CancelToken, OperationRunner
from ui.overview_strip import OverviewStrip, density_image
from ui.spoken_label import SpokenLabel
from ui.timeline_plot import TimelinePlot
from viewer.domain import EventDetail, EventType, Importance
from viewer.event_text import tooltip_head, tooltip_text
from viewer.export_caption import describe_range
from viewer.lane_layout import LaneLayout
from viewer.lod import LodPyramid
from viewer.services.errors import (
    NO_TEXT_FOR_ROLE,
    PurposeRequired,
    ServiceError,
    connection_failed,
    describe_read_failure,
)
from viewer.services.patients import PatientSummary
from viewer.services.timeline_query import (
    TimelineColumns,
    fetch_event,
    from_epoch_ms,
    rows_of_ids,
    search_titles,
)
from viewer.timeline_filter import TimelineFilter, describe_counts
from viewer.timeline_frame import brute_force_frame, visible_bounds
from viewer.timeline_hint import empty_view_hint
from viewer.timeline_index import TimelineIndex
from viewer.timeline_related import RelatedEvent, describe_related
from viewer.view_range import CALENDAR_END_MS, CALENDAR_START_MS, Preset, ViewRange
from viewer.wording import count_of

HOVER_TOLERANCE_PX = 9
TODAY_REFRESH_MS = 5 * 60_000
SEARCH_FAILED = "search failed: no connection (Enter retries)"
SYNC_PROVIDER_EVENTS = 100_000  # above this the pyramid is built in the background
DETAIL_CACHE_SIZE = 512
SEARCH_PAUSE_MS = 200  # a search starts this long after the last keystroke
ProviderFactory = Callable[[TimelineIndex], FrameProvider]
_T = TypeVar("_T")


def pyramid_provider(index: TimelineIndex) -> FrameProvider:
    """Frames from a level-of-detail pyramid: repaint time does not grow with the history."""
    return LodPyramid(index).frame


def brute_force_provider(index: TimelineIndex) -> FrameProvider:
    """Frames computed from every row on each repaint: the oracle, kept for comparison."""
    return lambda t0, t1, width: brute_force_frame(index.columns, index.mask, t0, t1, width)


LEGEND_SPACING_PX = 6
HEADER_MIN_CHARS = 28  # a longer patient's name gives way to this many letters, then the window grows


def _leave_keys_alone(widget: QWidget) -> None:
    """A control reachable with Tab that a mouse click does not focus.

    Clicking a button otherwise takes the keyboard away from the lanes, and a
    focused button turns ``→`` into "focus the next button".
    """
    widget.setFocusPolicy(Qt.FocusPolicy.TabFocus)


class _LegendMark(QLabel):
    """A legend mark: the lanes' very sprite on screen, its paths on an SVG or PDF page (no picture)."""

    def __init__(self, pixmap: QPixmap, vector: VectorMark, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPixmap(pixmap)
        self._vector = vector

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        engine = painter.paintEngine()
        vector = engine is not None and engine.type() in VECTOR_ENGINES
        # The sprite where it lands 1:1; drawn as paths on a page, or in a 2x PNG from a 1x screen
        # (the sprite doubled would come out blocky).
        if not vector and abs(painter.deviceTransform().m11() - self.pixmap().devicePixelRatio()) < 1e-6:
            painter.end()
            super().paintEvent(event)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._vector(painter, self.width() / 2, self.height() / 2, 1.0)
        painter.end()


class _LegendSwatch(QWidget):
    """One importance level in the legend: the very sprite the lanes draw, and its name."""

    def __init__(self, importance: Importance, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"legend{importance.label}")
        self.setAccessibleName(f"Legend: {importance.label} importance")
        ratio = self.devicePixelRatioF() or 1.0
        icon = _LegendMark(marker_sprite(importance, ratio), marker(importance, 1.0).vector, self)
        icon.setObjectName(f"legend{importance.label}Marker")
        icon.setAccessibleName(f"{importance.label} importance marker")
        text = QLabel(importance.label, self)
        text.setObjectName(f"legend{importance.label}Text")
        text.setAccessibleName(f"{importance.label} importance")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(3)
        layout.addWidget(icon)
        layout.addWidget(text)


class _PatientHeader(ElidedLabel):
    """The patient's name, heard as "Selected patient: NAME"; a long name ends in "…" (whole in the tooltip).

    A 44-character name widened the window past a laptop screen's edge.  (Not
    also a ``SpokenLabel``: a label of both kinds found its painter already
    open and drew nothing.)
    """

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setAccessibleName(f"Selected patient: {text}" if text else "Selected patient")

    def minimumSizeHint(self) -> QSize:
        """The whole name up to about 28 letters, in the header's own (larger, bold) font.

        Given only a first name's room, "Sable Fernhollow" read "Sable…" at the
        usual size while the counts beside it kept theirs: the name identifies
        the patient, so it gives way last.
        """
        metrics = self.fontMetrics()
        least = min(metrics.horizontalAdvance(self.text()), metrics.averageCharWidth() * HEADER_MIN_CHARS)
        return QSize(least, super().minimumSizeHint().height())


class TimelineView(QWidget):
    """Header, presets, filters, the plot with its overview, the detail pane and the legend.

    Signals:
        eventSelected(object): the selected event's ``uuid.UUID`` (None when cleared).
        eventOpened(object): Enter or double-click on an event: its ``uuid.UUID``.
        detailShown(object): the detail pane now shows this ``EventDetail``.
        detailSettled(): the pane shows what it will for the selection: the event, or why not.
        newEventRequested(object, object): "New event here" from the right-click menu:
            the clicked moment (aware ``datetime``) and the lane's ``EventType``.
        rendered(int): new data or a new filter was drawn; the number of visible events.
        levelOfDetailReady(): a big history's pyramid finished building in the background.
    """

    eventSelected = Signal(object)
    eventOpened = Signal(object)
    newEventRequested = Signal(object, object)
    detailShown = Signal(object)
    detailSettled = Signal()
    rendered = Signal(int)
    levelOfDetailReady = Signal()

    MESSAGE_PAGE = 0
    PLOT_PAGE = 1

    def __init__(
        self,
        runner: OperationRunner,
        parent: QWidget | None = None,
        provider_factory: ProviderFactory = pyramid_provider,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("timelineView")
        self.setAccessibleName("Timeline")
        self.runner = runner
        self.provider_factory = provider_factory
        self.clock: Callable[[], float] = time.time  # seconds; tests fix "today" here
        # A timeline left open past midnight (or for days) moves its "today" line along.
        self._today_timer = QTimer(self)
        self._today_timer.setInterval(TODAY_REFRESH_MS)
        self._today_timer.timeout.connect(self.refresh_today)
        self._today_timer.start()
        self.engine: sa.Engine | None = None
        self.patient: PatientSummary | None = None
        self.columns = TimelineColumns.empty()
        self.filter = TimelineFilter()
        self.mask = np.ones(0, dtype=np.bool_)
        self.index = TimelineIndex(self.columns, self.mask)
        self.lod_ready = True
        self.history: ViewRange | None = None
        self.selected_row: int | None = None
        self.match_rows = np.empty(0, np.int64)
        self._details: OrderedDict[uuid.UUID, EventDetail] = OrderedDict()
        # Another author's private events whose text a hover was refused (it needs a stated purpose):
        # their tooltip says so instead of waiting, and hovering them again asks the database nothing.
        self._purpose_needed: set[uuid.UUID] = set()
        # Events whose text could not be read, and why (said in the tooltip instead of "…").
        self._unreadable: dict[uuid.UUID, str] = {}
        self._search_failed = False  # the last title search could not reach the database
        self.texts_readable = True  # False for a role that sees markers only (an administrator)
        # How "Try again" reaches the database again: the window starts a stopped embedded server.
        self.before_retry: Callable[[Callable[[], object]], None] | None = None
        self.may_add_events = True  # "New … here" in the timeline's menu: the window knows the role
        self._hover_row: int | None = None
        self._range_update_pending = False
        # A search starts once typing pauses: one per keystroke over a million titles queued up
        # searches the typist had already left behind (highlights came 12 s after the last key).
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_PAUSE_MS)
        self._search_timer.timeout.connect(lambda: self._search(self.filter.text.strip()))

        self.header = _PatientHeader("", self)
        self.header.setObjectName("timelineHeader")
        self.header.setAccessibleName("Selected patient")
        self.header.setTextFormat(Qt.TextFormat.PlainText)  # a name as imported, never read as HTML
        font = self.header.font()
        font.setPointSize(font.pointSize() + 3)
        font.setBold(True)
        self.header.setFont(font)
        self.summary = ElidedLabel("", self)  # in a narrow window it ends in "…" rather than widen it
        self.summary.setObjectName("timelineSummary")
        self.summary.setAccessibleName("Timeline summary")
        self.summary.setStyleSheet("color:#555;")

        self.presets: dict[Preset, QPushButton] = {}
        self.keyboard_menu: QMenu | None = None  # the last Menu-key menu (tests look at it)
        self.zoom_buttons: list[QPushButton] = []
        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(0, 0, 0, 0)
        toolbar.addWidget(self.header)
        toolbar.addSpacing(12)
        toolbar.addWidget(self.summary)
        toolbar.addSpacing(12)
        self.range_label = ElidedLabel("", self)
        self.range_label.setObjectName("timelineRange")
        self.range_label.setAccessibleName("Time shown")
        self.range_label.setStyleSheet("color:#333;")
        toolbar.addWidget(self.range_label)
        toolbar.addStretch(1)
        keys = {Preset.DAY: "D", Preset.WEEK: "1", Preset.MONTH: "2", Preset.YEAR: "3", Preset.ALL: "0"}
        for preset in Preset:
            button = QPushButton(preset.value, self)
            button.setObjectName(f"preset{preset.name.capitalize()}")
            button.setAccessibleName(f"Show {preset.value.lower()}")
            button.setToolTip(f"Show {preset.value.lower()} (key {keys[preset]})")
            button.clicked.connect(lambda _=False, p=preset: self._then_focus_plot(self.apply_preset, p))
            _leave_keys_alone(button)
            toolbar.addWidget(button)
            self.presets[preset] = button
        for name, text, factor in (("zoomOut", "−", 1.25), ("zoomIn", "+", 0.8)):
            button = QPushButton(text, self)
            button.setObjectName(name)
            button.setAccessibleName("Zoom out" if factor > 1 else "Zoom in")
            button.setToolTip("Zoom out (−)" if factor > 1 else "Zoom in (+)")
            button.setFixedWidth(32)
            button.clicked.connect(lambda _=False, f=factor: self._then_focus_plot(self.plot.zoom, f))
            _leave_keys_alone(button)
            toolbar.addWidget(button)
            self.zoom_buttons.append(button)
        self.lanes_button = QToolButton(self)
        self.lanes_button.setText("Lanes")
        self.lanes_button.setObjectName("lanesButton")
        self.lanes_button.setAccessibleName("Show, hide and order lanes")
        self.lanes_button.setToolTip("Show or hide lanes; right-click a lane name to move it")
        self.lanes_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.lanes_menu = QMenu(self.lanes_button)
        self.lanes_menu.setObjectName("lanesMenu")
        self.lanes_menu.setAccessibleName("Lanes")
        self.lanes_menu.aboutToShow.connect(self._fill_lanes_menu)
        self.lanes_button.setMenu(self.lanes_menu)
        _leave_keys_alone(self.lanes_button)
        toolbar.addWidget(self.lanes_button)

        self.filters = FilterBar(self)
        self.filters.filterChanged.connect(self.set_filter)
        self.filters.searchStep.connect(self.step_search)
        self.filters.showAllLanes.connect(self._show_all_lanes)

        self.plot = TimelinePlot(self)
        self.plot.keyAction.connect(self._on_key_action)
        self.plot.view_box.clicked.connect(self._on_click)
        self.plot.view_box.doubleClicked.connect(self._on_double_click)
        self.plot.view_box.contextRequested.connect(self._show_context_menu)
        self.plot.view_box.sigXRangeChanged.connect(self._on_range_changed)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.lane_axis.laneMenuRequested.connect(self._show_lane_menu)
        self.overview = OverviewStrip(self)
        self.overview.setFocusProxy(self.plot)  # clicking the strip hands the keys to the lanes above
        self.overview.viewport().setObjectName("timelineOverviewViewport")
        self.overview.viewport().setAccessibleName(
            "Whole history; drag the box, or click beside it, to move the view"
        )
        self.overview.windowMoved.connect(self.plot.set_view_range)
        self.detail = EventDetailPane(self)
        self.detail.retryRequested.connect(self.retry_selected)

        plot_column = QWidget(self)
        plot_column.setObjectName("timelinePlotColumn")
        plot_column.setAccessibleName("Timeline and overview")
        column_layout = QVBoxLayout(plot_column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(2)
        column_layout.addWidget(self.plot, 1)
        column_layout.addWidget(self.overview)
        self.body = QSplitter(Qt.Orientation.Horizontal, self)
        self.body.setObjectName("timelineBody")
        self.body.setAccessibleName("Timeline and event details")
        self.body.addWidget(plot_column)
        self.body.addWidget(self.detail)
        self.body.setStretchFactor(0, 1)
        self.body.setSizes([900, 280])

        message_page = QWidget(self)
        message_page.setObjectName("timelineMessagePage")
        message_page.setAccessibleName("Timeline status")
        self.message = SpokenLabel("", message_page)
        self.message.setObjectName("timelineMessage")
        self.message.set_role("Timeline status")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.retry = QPushButton("Try again", message_page)
        self.retry.setObjectName("timelineRetry")
        self.retry.setAccessibleName("Try again")
        self.retry.hide()
        self.retry.clicked.connect(self._on_retry)
        self._retry: Callable[[], object] | None = None
        page = QVBoxLayout(message_page)
        page.addStretch(1)
        page.addWidget(self.message)
        page.addWidget(self.retry, 0, Qt.AlignmentFlag.AlignHCenter)
        page.addStretch(1)
        self.stack = QStackedWidget(self)
        self.stack.setObjectName("timelineStack")
        self.stack.setAccessibleName("Timeline area")
        self.stack.addWidget(message_page)
        self.stack.addWidget(self.body)

        self.legend = WrappingPanel(self)
        self.legend.setObjectName("timelineLegend")
        self.legend.setAccessibleName("Legend")
        # On more lines in a narrow window or under a large font, not wider than the screen.
        legend = FlowRow(self.legend, spacing=LEGEND_SPACING_PX, gap=LEGEND_SPACING_PX)
        legend_title = QLabel("Importance:", self)
        legend_title.setObjectName("legendTitle")
        legend_title.setAccessibleName("Legend")
        swatches = [_LegendSwatch(importance, self) for importance in Importance]
        legend.add_group(legend_title, swatches[0])
        for swatch in swatches[1:]:
            legend.add_group(swatch)
        ratio = self.devicePixelRatioF() or 1.0
        lock_icon = _LegendMark(lock_sprite(ratio), padlock(1.0).vector, self)
        lock_icon.setObjectName("legendPrivateIcon")
        lock_icon.setAccessibleName("Private event mark")
        lock = QLabel("private: only its author and the author's supervisor see it", self)
        lock.setObjectName("legendPrivate")
        lock.setAccessibleName("Legend: private event mark")
        legend.add_group(lock_icon, lock, gap=LEGEND_SPACING_PX + 8)
        footer = QHBoxLayout()
        footer.setContentsMargins(0, 0, 0, 0)
        footer.addWidget(self.legend)  # the legend alone, so exports can draw it without the hint
        footer.addStretch(1)
        hint = ElidedLabel("Wheel: zoom · drag: pan · Shift+drag: zoom to range · ←/→: events", self)
        hint.setObjectName("timelineHint")
        hint.setAccessibleName("Timeline controls")
        hint.setStyleSheet("color:#595959;")  # 6:1 on the window's grey (#777 was 3.9:1)
        footer.addWidget(hint)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(toolbar)
        layout.addWidget(self.filters)
        layout.addWidget(self.stack, 1)
        layout.addLayout(footer)
        self._set_controls_enabled(False)
        self.show_message("Choose a patient on the left to see their timeline.")

    # -- focus -------------------------------------------------------------------------
    def focus_plot(self) -> None:
        """Give the lanes the keyboard, so ←/→, Enter, +/- and the preset keys act on the timeline."""
        self.plot.setFocus(Qt.FocusReason.OtherFocusReason)

    def _then_focus_plot(self, action: Callable[[_T], object], argument: _T) -> None:
        action(argument)
        self.focus_plot()

    # -- states ------------------------------------------------------------------------
    def show_message(
        self, text: str, *, error: bool = False, retry: Callable[[], object] | None = None
    ) -> None:
        """The message page instead of the lanes; with ``retry``, a "Try again" button that calls it."""
        self.message.setText(text)
        # A little larger than the app's font, whatever it is (a fixed 15 px stayed small at 18 pt).
        size = QApplication.font().pointSizeF() + 2.0
        self.message.setStyleSheet(f"color:{'#A12B00' if error else '#555'}; font-size:{size:g}pt;")
        self._retry = retry
        self.retry.setVisible(retry is not None)
        self.stack.setCurrentIndex(self.MESSAGE_PAGE)

    def _on_retry(self) -> None:
        retry, self._retry = self._retry, None
        self.retry.hide()
        if retry is not None:
            retry()

    def show_progress(self, loaded: int, total: int) -> None:
        """While a patient loads: how far the transfer has got."""
        if self.stack.currentIndex() == self.MESSAGE_PAGE and self.retry.isHidden():
            self.message.setText(f"Loading {count_of(total, 'event')}… {loaded} received")

    def _set_controls_enabled(self, enabled: bool) -> None:
        # With nothing to zoom, + and - used to send the keyboard to the hidden lanes.
        for widget in (*self.presets.values(), *self.zoom_buttons, self.filters):
            widget.setEnabled(enabled)

    def refresh_today(self) -> None:
        if self.patient is not None:
            self.plot.set_today(self.clock() * 1000.0)

    def set_texts_readable(self, readable: bool) -> None:
        """Whether the signed-in role reads titles and descriptions (not an administrator)."""
        self.texts_readable = readable
        self.filters.set_search_allowed(readable)

    def clear(self, message: str) -> None:
        """Forget the patient shown, its text and its engine (sign-out), and say ``message``.

        After a sign-out the view kept the last clinician's patient, engine and
        read texts: any filter change brought the timeline back, private notes
        included, still read under the previous login.
        """
        self._search_timer.stop()
        # The last clinician's tooltip (a private note's title, her name) stayed on the plot, and a
        # pointer resting on the same row number of the next login's timeline showed it again.
        self._hide_tooltip()
        self.plot.setAccessibleDescription("")  # it named the selected event, title included
        self.engine = None
        self.patient = None
        self.history = None
        self.selected_row = None
        self._details.clear()
        self._purpose_needed.clear()
        self._unreadable.clear()
        self._search_failed = False
        self.columns = TimelineColumns.empty()
        self.filter = self.filter.with_text_rows(None)  # its rows index the columns just dropped
        self.mask = np.ones(0, dtype=np.bool_)
        self.index = TimelineIndex(self.columns, self.mask)
        self.match_rows = np.empty(0, np.int64)
        self.plot.layer.set_data(self.columns, None)
        self.detail.clear()
        self.header.setText("")
        self.summary.setText("")
        self.range_label.setText("")
        # The next clinician starts afresh: the last one's search (with its match count, a count of
        # private hits) and filters stayed, and were applied to the next login's patient.
        self.set_lane_layout(LaneLayout())
        self.filters.forget()
        self.set_texts_readable(True)
        self._set_controls_enabled(False)
        self.show_message(message)

    def show_loading(self, patient: PatientSummary) -> None:
        self.header.setText(patient.display_name)
        self.summary.setText("")
        self.range_label.setText("")  # the last patient's range is not this one's
        self._set_controls_enabled(False)
        self.show_message(f"Loading {count_of(patient.event_count, 'event')}…")

    # -- data --------------------------------------------------------------------------
    def set_timeline(
        self,
        engine: sa.Engine,
        patient: PatientSummary,
        columns: TimelineColumns,
        *,
        keep_view: bool = False,
        select: Sequence[uuid.UUID] = (),
    ) -> None:
        """Show a freshly loaded patient; keeps the current filter, resets selection and zoom.

        After an edit (``keep_view``) the zoom stays where it was and the first of ``select``
        still shown is selected (see :meth:`with_neighbours`).
        """
        view = self.plot.view_range() if keep_view and self.history is not None else None
        self._hide_tooltip()  # its row numbered the last columns
        self.plot.setAccessibleDescription("")
        self.selected_row = None
        self.plot.layer.selected_row = None
        self.engine = engine
        self.patient = patient
        self.columns = columns
        self._details.clear()
        self._purpose_needed.clear()
        self._unreadable.clear()
        self._search_failed = False
        self.header.setText(patient.display_name)
        self.range_label.setText("")  # set again below when there is a range to show
        if len(columns):
            self.filters.set_history_span(int(columns.time_ms[0]), int(columns.time_ms[-1]))
        now_ms = self.clock() * 1000.0
        self.plot.set_today(now_ms)
        if len(columns):
            self.history = ViewRange.of_history(float(columns.time_ms[0]), float(columns.time_ms[-1]), now_ms)
        else:
            self.history = None
        self.plot.set_bounds(self.history.with_room() if self.history is not None else None)
        # The last search's rows index the last columns: kept, they crashed a smaller patient's load
        # and haloed unrelated events of a larger one.  Searching again, this history's own answer lands.
        self._apply_filter(self.filter.with_text_rows(None), refresh_search=True)
        if view is not None:
            self.plot.set_view_range(view)
        elif self.history is not None:
            self.plot.set_view_range(self.history)
        if self.history is not None:
            self._after_range_change()  # now, not a loop pass later: the first paint must be right
        else:
            self.plot.show_hint(None)
        self._set_controls_enabled(bool(len(columns)))
        for event_id in select:
            rows = np.flatnonzero(columns.ids == np.bytes_(event_id.bytes))
            if len(rows) and self.mask[rows[0]]:
                self.select_row(int(rows[0]), reveal=True)
                return
        self.detail.clear()

    def set_filter(self, flt: TimelineFilter) -> None:
        text_changed = flt.text.strip() != self.filter.text.strip()
        if text_changed:
            self._search_failed = False
        self._apply_filter(
            flt.with_text_rows(self.filter.text_rows if not text_changed else None),
            refresh_search=text_changed,
        )

    def _apply_filter(self, flt: TimelineFilter, *, refresh_search: bool) -> None:
        self.filter = flt
        if refresh_search and flt.text.strip():
            self._search_timer.start()  # restarted by each keystroke
        elif refresh_search:
            self._search_timer.stop()
        filtered = flt.mask(self.columns)
        mask = filtered & self.plot.lane_layout.visible_lanes()[self.columns.lane]
        if self.index.columns is not self.columns or not np.array_equal(mask, self.mask):
            self.mask = mask
            self.index = TimelineIndex(self.columns, self.mask)
            self._set_provider()  # a search alone keeps the mask, so the pyramid is not rebuilt
        self.match_rows = (
            np.sort(flt.text_rows[self.mask[flt.text_rows]]).astype(np.int64)
            if flt.searching and flt.text_rows is not None
            else np.empty(0, np.int64)
        )
        self.plot.layer.set_matches(self.match_rows if flt.searching else None)
        if self.selected_row is not None and not (
            self.selected_row < len(self.mask) and self.mask[self.selected_row]
        ):
            self.select_row(None)
        self.plot.layer.selected_row = self.selected_row
        visible = len(self.index)
        if self.history is not None:
            if self.lod_ready:
                self.overview.set_density(self.index, self.history, self.plot.lane_layout)
            self.overview.show_window(self.plot.view_range())
        self._update_summary()
        if self.history is not None:
            self._update_empty_hint(self.plot.view_range())
        if not len(self.columns):
            self.show_message("No events recorded for this patient yet.")
        elif not visible and self.plot.lane_layout.hidden and filtered.any():
            lanes = ", ".join(t.label for t in self.plot.lane_layout.hidden)
            self.show_message(
                f"The events that match are all in hidden lanes ({lanes}). "
                "Use “Reset filters” or the Lanes menu to show them."
            )
        elif not visible:
            self.show_message("No events match the filters. Use “Reset filters” to see everything.")
        else:
            self.stack.setCurrentIndex(self.PLOT_PAGE)
        self.filters.set_match_status(self._match_status())
        self.rendered.emit(visible)

    def _set_provider(self) -> None:
        """Give the layer its frame provider; a big history's pyramid is built off the GUI thread.

        Until the pyramid is ready the layer draws by brute force (tens of
        milliseconds at a million events), so the first paint never waits for
        the build.
        """
        index = self.index
        if not len(self.columns):
            self.plot.layer.set_data(self.columns, None)
            self.lod_ready = True
            return
        if len(index) <= SYNC_PROVIDER_EVENTS:
            self.plot.layer.set_data(self.columns, self.provider_factory(index))
            self.lod_ready = True
            return
        self.lod_ready = False
        self.plot.layer.set_data(self.columns, brute_force_provider(index))
        factory = self.provider_factory
        history, layout = self.history, self.plot.lane_layout
        if history is not None:
            self.overview.clear_density(history, layout.rows)

        def work(
            _token: CancelToken, _report: Callable[[object], None]
        ) -> tuple[FrameProvider, np.ndarray | None]:
            density = density_image(index, history, layout) if history is not None else None
            return factory(index), density

        def done(result: tuple[FrameProvider, np.ndarray | None]) -> None:
            provider, density = result
            if self.index is not index:
                return  # a newer patient or filter took over meanwhile
            self.plot.layer.provider = provider
            self.plot.layer.update()
            if density is not None and history is not None:
                if self.plot.lane_layout == layout:
                    self.overview.show_density(density, history)
                else:  # lanes moved while it was computed (a reorder keeps the index): draw them as they are
                    self.overview.set_density(index, history, self.plot.lane_layout)
            self.lod_ready = True
            self.levelOfDetailReady.emit()

        self.runner.run(work, success=done, failure=self._on_failure, key="timeline-lod")

    def _update_summary(self) -> None:
        """Loaded, matching the filters, and inside the window: three counts, each named."""
        a, b = self.rows_in_view() if self.history is not None else (0, 0)
        self.summary.setText(describe_counts(len(self.columns), len(self.index), b - a))

    def _match_status(self) -> str:
        if not self.filter.text.strip():
            return ""
        if self._search_failed:
            return SEARCH_FAILED
        if self.filter.text_rows is None:
            return "searching…"
        total = f"{len(self.match_rows)} match" + ("" if len(self.match_rows) == 1 else "es")
        if self.selected_row is not None and len(self.match_rows):
            at = int(np.searchsorted(self.match_rows, self.selected_row))
            if at < len(self.match_rows) and self.match_rows[at] == self.selected_row:
                return f"{at + 1} of {total}"  # where F3 has got to
        return total

    # -- search ------------------------------------------------------------------------
    def _search(self, text: str) -> None:
        engine, patient, columns = self.engine, self.patient, self.columns
        if engine is None or patient is None:
            return

        def work(token: CancelToken, _report: Callable[[object], None]) -> np.ndarray:
            with engine.connect() as conn:
                ids = search_titles(conn, patient.id, text)
            if token.cancelled:  # a newer search took over: its answer is the one wanted
                return np.empty(0, np.int64)
            return rows_of_ids(columns, ids)

        def done(rows: np.ndarray) -> None:
            # Compared as searched: "Session " searches what "Session" did, and its answer must land.
            if self.columns is columns and self.filter.text.strip() == text:
                self._apply_filter(self.filter.with_text_rows(rows), refresh_search=False)

        def failed(error: BaseException) -> None:
            if not connection_failed(error):
                self._on_failure(error)
                return
            # The timeline stays; the search line says so, and Enter or F3 searches again.
            if self.columns is columns and self.filter.text.strip() == text:
                self._search_failed = True
                self.filters.set_match_status(self._match_status())

        self._search_failed = False
        self.runner.run(work, success=done, failure=failed, key="timeline-search")

    def step_search(self, step: int) -> None:
        text = self.filter.text.strip()
        if self._search_failed and text:
            self._search_failed = False
            self.filters.set_match_status(self._match_status())

            def again() -> None:
                if self.filter.text.strip() == text:  # not typed over meanwhile
                    self._search(text)

            if self.before_retry is not None:  # the window starts a stopped embedded server first
                self.before_retry(again)
            else:
                again()
            return
        row = self.index.step_in(self.match_rows, self.selected_row, step)
        if row is not None:
            self.select_row(row, reveal=True)

    # -- selection ---------------------------------------------------------------------
    def select_row(self, row: int | None, *, reveal: bool = False) -> None:
        self.selected_row = row
        self.plot.layer.selected_row = row
        self.plot.layer.update()
        self.filters.set_match_status(self._match_status())
        # What a screen reader says of the focused timeline: ← and → changed nothing it could hear.
        self.plot.setAccessibleDescription("" if row is None else f"Selected: {self._spoken_head(row)}")
        if row is None:
            self.detail.clear()
            self.eventSelected.emit(None)
            return
        if reveal:
            view = self.plot.view_range()
            moved = view.showing(float(self.columns.time_ms[row]))
            if moved is not view:
                self.plot.set_view_range(moved)
        event_id = self.columns.event_id(row)
        self.eventSelected.emit(event_id)
        if not self.texts_readable:
            self._show_unreadable(row, NO_TEXT_FOR_ROLE)
            return
        self.detail.show_loading()
        self._with_detail(
            event_id,
            lambda detail: self._show_selected(row, detail),
            "detail-selected",
            on_private=lambda: self._show_private_notice(row),
            on_error=lambda reason, retry: self._show_unreadable(row, reason, retry=retry),
        )

    def _show_private_notice(self, row: int) -> None:
        if self.selected_row == row:
            self.detail.show_private_notice()
            self.detailSettled.emit()

    def _show_unreadable(self, row: int, reason: str, *, retry: bool = False) -> None:
        """The selected event without its text: what the columns know, and why the rest is missing."""
        if self.selected_row != row:
            return
        self.detail.show_unreadable(self._head_of(row), reason, retry=retry)
        self.detailSettled.emit()

    def _head_of(self, row: int) -> str:
        return tooltip_head(
            EventType.from_lane(int(self.columns.lane[row])),
            Importance(int(self.columns.importance[row])),
            from_epoch_ms(int(self.columns.time_ms[row])),
            bool(self.columns.is_private[row]),
        )

    def retry_selected(self) -> None:
        """The detail pane's "Try again" after a failed read (the window may restart its server first)."""
        row = self.selected_row
        if row is None:
            return
        if self.before_retry is not None:
            self.before_retry(lambda: self.select_row(row) if self.selected_row == row else None)
        else:
            self.select_row(row)

    def open_selected(self) -> None:
        """Enter or double-click: bring the selected event's details into view and say so."""
        if self.selected_row is None:
            return
        sizes = self.body.sizes()
        if len(sizes) == 2 and sizes[1] < 200:  # the detail pane was collapsed: make room for it
            self.body.setSizes([max(sum(sizes) - 300, 200), 300])
        self.eventOpened.emit(self.columns.event_id(self.selected_row))

    def _spoken_head(self, row: int) -> str:
        return self._head_of(row).replace(" · ", ", ")

    def _show_selected(self, row: int, detail: EventDetail) -> None:
        if self.selected_row == row:
            self._show_detail(detail)
            self.plot.setAccessibleDescription(f"Selected: {self._spoken_head(row)}, {detail.title}")

    def remember_detail(self, detail: EventDetail) -> None:
        """A detail read elsewhere (after a stated purpose): cache it and show it if selected."""
        self._details[detail.id] = detail
        self._purpose_needed.discard(detail.id)
        if self.selected_row is not None and self.columns.event_id(self.selected_row) == detail.id:
            self._show_detail(detail)

    def _show_detail(self, detail: EventDetail) -> None:
        self.detail.show_detail(detail)
        self._show_related(detail)
        self.detailShown.emit(detail)
        self.detailSettled.emit()

    def _show_related(self, detail: EventDetail) -> None:
        """Name the related event by kind and date at once, and by title when its text arrives."""
        related_id = detail.related_entity_id
        if not detail.related_entity_type or related_id is None:
            return
        rows = np.flatnonzero(self.columns.ids == np.bytes_(related_id.bytes))
        if not len(rows):
            self.detail.set_field("Related", describe_related(detail, None) or "")
            return
        row = int(rows[0])
        target = RelatedEvent(
            EventType.from_lane(int(self.columns.lane[row])), from_epoch_ms(int(self.columns.time_ms[row]))
        )
        self.detail.set_field("Related", describe_related(detail, target) or "")

        def shown(text: str) -> None:
            if self.detail.detail is detail:  # still the event on screen
                self.detail.set_field("Related", text)

        self._with_detail(
            related_id,
            lambda related: shown(describe_related(detail, replace(target, title=related.title)) or ""),
            "detail-related",
            on_private=lambda: shown(describe_related(detail, replace(target, private=True)) or ""),
            quiet=True,
        )

    def with_neighbours(self, event_id: uuid.UUID | None) -> list[uuid.UUID]:
        """``event_id`` and the events shown after and before it: what to select once it may be gone.

        After a delete (or undoing a new event) the selection used to vanish, and
        → started again from the window's first event; now it moves on to the next.
        """
        if event_id is None:
            return []
        rows = np.flatnonzero(self.columns.ids == np.bytes_(event_id.bytes))
        if not len(rows):
            return [event_id]
        row = int(rows[0])
        around = (self.index.next_row(row), self.index.previous_row(row))
        return [event_id, *(self.columns.event_id(r) for r in around if r is not None)]

    def selected_event_id(self) -> uuid.UUID | None:
        return None if self.selected_row is None else self.columns.event_id(self.selected_row)

    def _with_detail(
        self,
        event_id: uuid.UUID,
        then: Callable[[EventDetail], None],
        key: str,
        on_private: Callable[[], object] | None = None,
        *,
        quiet: bool = False,
        on_error: Callable[[str, bool], object] | None = None,
    ) -> None:
        """Call ``then`` with the event's text: at once if cached, else after a background fetch.

        ``key`` separates hover fetches from selection fetches so one never cancels the other.
        Another author's private event is not read here (that needs a stated purpose):
        ``on_private`` is called instead.  A read that fails for a reason a user can meet
        (no right to the text, the event gone, the connection lost) goes to ``on_error`` with
        that reason in words; the timeline stays on screen.
        """
        cached = self._details.get(event_id)
        if cached is not None:
            self._details.move_to_end(event_id)
            then(cached)
            return
        engine = self.engine
        if engine is None:
            return

        def work(token: CancelToken, _report: Callable[[object], None]) -> EventDetail | None:
            if token.cancelled:  # the pointer moved on before this read started: its answer is unwanted
                return None
            with engine.connect() as conn:
                return fetch_event(conn, event_id)

        def done(detail: EventDetail | None) -> None:
            if detail is None:
                return
            self._details[event_id] = detail
            while len(self._details) > DETAIL_CACHE_SIZE:
                self._details.popitem(last=False)
            then(detail)

        def failed(error: BaseException) -> None:
            if isinstance(error, PurposeRequired):
                if on_private is not None:
                    on_private()
                return
            if quiet and isinstance(error, ServiceError):
                return  # a side detail (the related event's title) that could not be read: no alarm
            reason = describe_read_failure(error)
            if reason is not None and on_error is not None:
                on_error(reason, connection_failed(error))  # only a lost connection is worth a retry
                return
            self._on_failure(error)

        self.runner.run(work, success=done, failure=failed, key=key)

    def _show_context_menu(self, point: QPointF, global_pos: QPoint) -> None:
        lane = self.plot.lane_layout.lane_at(point.y())
        menu = self.context_menu(point.x() * 1000.0, lane)
        menu.popup(global_pos)

    def context_menu(self, time_ms: float, lane: EventType | None) -> QMenu:
        """The right-click menu of the plot: a new event at the clicked moment and lane."""
        menu = QMenu(self)
        menu.setObjectName("timelineContextMenu")
        menu.setAccessibleName("Timeline actions")
        # Within the calendar: a view may reach a day past its ends, which no datetime can hold.
        clamped = min(max(time_ms, CALENDAR_START_MS), CALENDAR_END_MS)
        moment = datetime.fromtimestamp(clamped / 1000.0, tz=UTC).replace(second=0, microsecond=0)
        label = f"New {lane.label.lower()} here…" if lane is not None else "New event here…"
        action = menu.addAction(label)
        action.setObjectName("newEventHereAction")
        action.setEnabled(self.patient is not None and self.may_add_events)
        action.triggered.connect(
            lambda: self.newEventRequested.emit(moment, lane if lane is not None else EventType.SESSION)
        )
        return menu

    def _on_failure(self, error: BaseException) -> None:
        window = self.window()
        handler = getattr(window, "_on_failure", None)
        if handler is None:
            raise error
        handler(error)

    # -- input -------------------------------------------------------------------------
    def row_at(self, point: QPointF) -> int | None:
        """The visible event under a view point (x seconds, y lane row), within a few pixels."""
        lane = self.plot.lane_layout.lane_at(point.y())
        if lane is None:
            return None
        view = self.plot.view_range()
        tolerance = HOVER_TOLERANCE_PX * view.span_ms / max(self.plot.view_box.width(), 1)
        return self.index.nearest(point.x() * 1000.0, lane.lane, tolerance)

    def _on_click(self, point: QPointF) -> None:
        self.plot.setFocus(Qt.FocusReason.MouseFocusReason)
        self.select_row(self._next_at_spot(self.row_at(point)))

    def _next_at_spot(self, row: int | None) -> int | None:
        """``row``, or, clicking again where the selected event is, the next event at that moment.

        Two events of a lane at the same minute share one marker; the second used
        to be out of reach of the mouse.  Clicks now take turns through them.
        """
        if row is None or self.selected_row is None:
            return row
        together = self.index.same_moment(row)
        if len(together) < 2 or self.selected_row not in together:
            return row
        at = int(np.flatnonzero(together == self.selected_row)[0])
        return int(together[(at + 1) % len(together)])

    def _on_double_click(self, point: QPointF) -> None:
        row = self.row_at(point)
        if row is not None:
            self.select_row(row)
            self.open_selected()
            return
        self.plot.zoom(0.25, point.x() * 1000.0)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.plot.view_box.sceneBoundingRect().contains(scene_pos) or not len(self.columns):
            self._hide_tooltip()
            return
        row = self.row_at(self.plot.view_box.mapSceneToView(scene_pos))
        if row == self._hover_row:
            return
        self._hover_row = row
        if row is None:
            self._hide_tooltip()
            return
        self.show_tooltip(row)

    def tooltip_for_row(self, row: int) -> str:
        """The tooltip text known now: full if the event's text is cached, else date, type and importance."""
        event_id = self.columns.event_id(row)
        together = len(self.index.same_moment(row)) if self.mask[row] else 1
        also = f"\n{together} events at this moment: click again for the next" if together > 1 else ""
        detail = self._details.get(event_id)
        if detail is not None:
            return tooltip_text(detail) + also
        if event_id in self._purpose_needed:
            more = "Private: click it and state why to read it (as the author's supervisor)"
        elif not self.texts_readable:
            more = NO_TEXT_FOR_ROLE
        else:
            more = self._unreadable.get(event_id, "…")
        return f"{self._head_of(row)}\n{more}{also}"

    def show_tooltip(self, row: int) -> None:
        self.plot.setToolTip(self.tooltip_for_row(row))
        self._show_tooltip_now()
        event_id = self.columns.event_id(row)
        if not self.texts_readable:
            return
        if event_id not in self._details and event_id not in self._purpose_needed:
            columns = self.columns

            def refresh(_detail: EventDetail | None = None) -> None:
                # The same row of another history (a new patient or login meanwhile) is another event.
                if self._hover_row == row and self.columns is columns:
                    self.plot.setToolTip(self.tooltip_for_row(row))
                    self._show_tooltip_now()

            def refused() -> None:
                self._purpose_needed.add(event_id)
                refresh()

            def unreadable(reason: str, _retry: bool) -> None:
                self._unreadable[event_id] = reason
                refresh()

            self._with_detail(event_id, refresh, "detail-hover", on_private=refused, on_error=unreadable)

    def _show_tooltip_now(self) -> None:
        QToolTip.showText(self.plot.cursor().pos(), self.plot.toolTip(), self.plot)

    def _hide_tooltip(self) -> None:
        self._hover_row = None
        self.plot.setToolTip("")
        QToolTip.hideText()

    def _on_key_action(self, action: str) -> None:
        view = self.plot.view_range()
        if action in ("next", "previous"):
            if self.selected_row is None:
                row = (
                    self.index.next_row(None, view.start_ms)
                    if action == "next"
                    else self.index.previous_row(None, view.end_ms)
                )
            else:
                row = (
                    self.index.next_row(self.selected_row)
                    if action == "next"
                    else self.index.previous_row(self.selected_row)
                )
            if row is not None:
                self.select_row(row, reveal=True)
        elif action == "open" and self.selected_row is not None:
            self.open_selected()
        elif action == "menu":
            self.show_keyboard_menu()
        elif action == "clear":
            self.select_row(None)
        elif action.startswith("preset-"):
            self.apply_preset(Preset[action.removeprefix("preset-").upper()])
        elif action == "search-next":
            self.step_search(1)
        elif action == "search-previous":
            self.step_search(-1)

    def apply_preset(self, preset: Preset) -> None:
        """Show a day, week, month or year around the selected event, else the latest one; or all."""
        anchor = None if self.selected_row is None else float(self.columns.time_ms[self.selected_row])
        if len(self.index):
            latest: float | None = float(self.columns.time_ms[self.index.visible_rows[-1]])
        else:
            latest = float(self.columns.time_ms[-1]) if len(self.columns) else None
        view = self.plot.view_range().preset(
            preset, self.history, anchor_ms=anchor, latest_ms=latest, now_ms=self.clock() * 1000.0
        )
        self.plot.set_view_range(view)

    # -- lanes -------------------------------------------------------------------------
    def set_lane_layout(self, layout: LaneLayout) -> None:
        """Show, hide or reorder lanes; hidden lanes' events leave the view like filtered ones."""
        view = self.plot.view_range()
        self.plot.set_lane_layout(layout)
        self.filters.set_hidden_lanes(layout.hidden)
        self._apply_filter(self.filter, refresh_search=False)
        self.plot.set_view_range(view)

    def _show_all_lanes(self) -> None:
        """Every hidden lane back, at the bottom in the usual order; the shown lanes keep theirs."""
        layout = self.plot.lane_layout
        for event_type in layout.hidden:
            layout = layout.showing(event_type)
        self.set_lane_layout(layout)

    def _fill_lanes_menu(self) -> None:
        self.lanes_menu.clear()
        layout = self.plot.lane_layout
        for event_type in sorted(EventType, key=lambda t: t.lane):
            action = QAction(event_type.label, self.lanes_menu)
            action.setObjectName(f"laneShown_{event_type.value}")
            action.setCheckable(True)
            action.setChecked(event_type in layout.order)
            action.setEnabled(not (event_type in layout.order and layout.rows == 1))
            action.toggled.connect(
                lambda on, t=event_type: self.set_lane_layout(
                    self.plot.lane_layout.showing(t) if on else self.plot.lane_layout.hiding(t)
                )
            )
            self.lanes_menu.addAction(action)
        self.lanes_menu.addSeparator()
        reset = self.lanes_menu.addAction("Show all lanes in the usual order")
        reset.setObjectName("lanesReset")
        reset.setEnabled(not layout.is_default)
        reset.triggered.connect(lambda: self.set_lane_layout(LaneLayout()))

    def lane_menu(self, lane: EventType | None) -> QMenu:
        """The right-click menu of a lane name: hide it, move it, or restore every lane."""
        menu = QMenu(self)
        menu.setObjectName("laneContextMenu")
        menu.setAccessibleName("Lane")
        layout = self.plot.lane_layout
        if lane is not None:
            at = layout.order.index(lane)
            entries = (
                ("laneMoveTop", f"Move “{lane.label}” to the top", layout.moved(lane, -at), at > 0),
                ("laneMoveUp", "Move up", layout.moved(lane, -1), at > 0),
                ("laneMoveDown", "Move down", layout.moved(lane, 1), at < layout.rows - 1),
                ("laneHide", f"Hide “{lane.label}”", layout.hiding(lane), layout.rows > 1),
            )
            for name, text, result, enabled in entries:
                action = menu.addAction(text)
                action.setObjectName(name)
                action.setEnabled(enabled)
                action.triggered.connect(lambda _=False, r=result: self.set_lane_layout(r))
            menu.addSeparator()
        reset = menu.addAction("Show all lanes in the usual order")
        reset.setObjectName("laneReset")
        reset.setEnabled(not layout.is_default)
        reset.triggered.connect(lambda: self.set_lane_layout(LaneLayout()))
        return menu

    def show_keyboard_menu(self) -> QMenu:
        """The Menu key on the lanes: the right-click menu of the selected event's place, lane moves included.

        Lanes could only be moved with the mouse (a right click on a lane's name).
        """
        layout = self.plot.lane_layout
        row = self.selected_row
        if row is not None:
            time_ms = float(self.columns.time_ms[row])
            lane: EventType | None = EventType.from_lane(int(self.columns.lane[row]))
        else:
            time_ms = self.plot.view_range().centre_ms
            lane = layout.order[0] if layout.order else None
        menu = self.context_menu(time_ms, lane)
        menu.addSeparator()
        lane_menu = self.lane_menu(lane)
        lane_menu.setTitle(f"Lane “{lane.label}”" if lane is not None else "Lanes")
        menu.addMenu(lane_menu)
        x = self.plot.view_box.mapViewToScene(QPointF(time_ms / 1000.0, 0.0)).x()
        y = layout.y_of(lane) if lane is not None else None
        scene_y = self.plot.view_box.mapViewToScene(QPointF(0.0, y or 0.0)).y()
        at = self.plot.mapFromScene(QPointF(x, scene_y))
        inside = self.plot.viewport().rect().contains(at)
        menu.popup(self.plot.viewport().mapToGlobal(at if inside else self.plot.viewport().rect().center()))
        self.keyboard_menu = menu
        return menu

    def _show_lane_menu(self, lane: EventType | None, global_pos: QPoint) -> None:
        self.lane_menu(lane).popup(global_pos)

    def _on_range_changed(self, *_args: object) -> None:
        if self.history is not None and not self._range_update_pending:
            self._range_update_pending = (
                True  # many range changes per gesture: update once per event loop pass
            )
            QTimer.singleShot(0, self._after_range_change)

    def _after_range_change(self) -> None:
        self._range_update_pending = False
        view = self.plot.view_range()
        self.overview.show_window(view)
        self.range_label.setText(describe_range(view))
        self._update_empty_hint(view)
        self._update_summary()

    def rows_in_view(self) -> tuple[int, int]:
        """Positions ``[a, b)`` among the visible rows of the events inside the window in view."""
        view = self.plot.view_range()
        lo, hi = visible_bounds(self.columns.time_ms, view.start_ms, view.end_ms)
        return self.index.position(lo), self.index.position(hi)

    def latest_row_in_view(self) -> int | None:
        """The latest shown event inside the window (what ``--select`` picks), if any."""
        a, b = self.rows_in_view()
        return int(self.index.visible_rows[b - 1]) if b > a else None

    def _update_empty_hint(self, view: ViewRange) -> None:
        """Say so when the window holds none of the shown events, and where the nearest ones are."""
        a, b = self.rows_in_view()
        if b > a or not len(self.index):
            self.plot.show_hint(None)
            return
        before = self.index.previous_row(None, view.start_ms)
        after = self.index.next_row(None, view.end_ms)
        self.plot.show_hint(
            empty_view_hint(
                None if before is None else int(self.columns.time_ms[before]),
                None if after is None else int(self.columns.time_ms[after]),
            )
        )
