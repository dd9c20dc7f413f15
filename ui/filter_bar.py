"""The filter controls above the timeline; they only build a ``TimelineFilter`` value."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.elided_label import ElidedLabel
from ui.flow_row import FlowRow, WrappingPanel
from ui.search_box import SearchBox
from ui.spoken_label import SpokenLabel
from ui.window_fit import font_scale
from viewer.domain import EventType, Importance, to_local
from viewer.timeline_filter import PrivateMode, TimelineFilter, describe_filters


def _object_name(event_type: EventType) -> str:
    return "filterType_" + event_type.value


SEARCH_MIN_PX = 120
ROW_SPACING_PX = 2  # between controls, and between the two rows
EARLIEST_DATE = QDate(1, 1, 2)  # the calendar's first whole day in any zone, before the oldest event


class FilterBar(WrappingPanel):
    """Type toggles, minimum importance, privacy, date range and title search.

    Signals:
        filterChanged(object): the new ``TimelineFilter`` (without text matches).
        searchStep(int): +1 for next match, -1 for previous.
        showAllLanes(): "Reset filters" was pressed while lanes were hidden: bring them back.
    """

    filterChanged = Signal(object)
    searchStep = Signal(int)
    showAllLanes = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterBar")
        self.setAccessibleName("Timeline filters")
        # Hidden lanes hide their events as surely as a type filter, so the line says so and
        # "Reset filters" brings them back (the lanes' order stays).
        self._hidden_lanes: tuple[EventType, ...] = ()
        self._history_span: tuple[int, int] | None = None  # the patient shown: the dates "From" offers
        self._updating = True  # no signals while the controls are being built

        self.type_boxes: dict[EventType, QCheckBox] = {}
        # Both rows wrap in a narrow window (or under a large font) rather than widen it past the
        # screen: the type boxes one by one, the controls by group.
        types_row = FlowRow(gap=ROW_SPACING_PX)
        types_label = QLabel("Show:", self)
        types_label.setObjectName("filterTypesLabel")
        types_label.setAccessibleName("Event types shown")
        for event_type in EventType:
            box = QCheckBox(event_type.label, self)
            box.setObjectName(_object_name(event_type))
            box.setAccessibleName(f"Show {event_type.label.lower()} events")
            box.setChecked(True)
            box.toggled.connect(self._emit)
            if event_type is EventType.SESSION:
                types_row.add_group(types_label, box)
            else:
                types_row.add_group(box)
            self.type_boxes[event_type] = box

        self.importance = QComboBox(self)
        self.importance.setObjectName("filterImportance")
        self.importance.setAccessibleName("Minimum importance")
        for level in Importance:
            self.importance.addItem(
                "Any importance" if level is Importance.LOW else f"{level.label} or more", level
            )
        self.importance.currentIndexChanged.connect(self._emit)

        self.private = QComboBox(self)
        self.private.setObjectName("filterPrivate")
        self.private.setAccessibleName("Private events")
        for mode, text in (
            (PrivateMode.SHOWN, "Private shown"),
            (PrivateMode.HIDDEN, "Private hidden"),
            (PrivateMode.ONLY, "Only private"),
        ):
            self.private.addItem(text, mode)
        self.private.currentIndexChanged.connect(self._emit)

        self.use_dates = QCheckBox("From", self)
        self.use_dates.setObjectName("filterUseDates")
        self.use_dates.setAccessibleName("Limit to a date range")
        self.use_dates.setToolTip("Show only events between these dates (both included)")
        self.use_dates.toggled.connect(self._on_use_dates)
        self.date_from = QDateEdit(self)
        self.date_from.setObjectName("filterDateFrom")
        self.date_from.setAccessibleName("From date")
        self.date_to = QDateEdit(self)
        self.date_to.setObjectName("filterDateTo")
        self.date_to.setAccessibleName("To date (inclusive)")
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("d MMM yyyy")
            edit.setMinimumDate(EARLIEST_DATE)  # Qt's own floor, 14 Sep 1752, hid older events from it
        # "From" never passes "to": a range the wrong way round filtered out everything, unexplained.
        self.date_from.dateChanged.connect(self.date_to.setMinimumDate)
        self.date_to.dateChanged.connect(self.date_from.setMaximumDate)
        for edit in (self.date_from, self.date_to):
            edit.dateChanged.connect(self._emit)
        self.date_from.setDate(QDate.currentDate().addYears(-1))
        self.date_to.setDate(QDate.currentDate())
        for edit in (self.date_from, self.date_to):
            edit.setEnabled(False)  # until "From" is ticked: the dates filter nothing meanwhile
        to_label = QLabel("to", self)
        to_label.setObjectName("filterDateToLabel")
        to_label.setAccessibleName("to")

        self.search = SearchBox(self)
        self.search.setObjectName("filterSearch")
        self.search.setAccessibleName("Search titles")
        self.search.setPlaceholderText("Search titles…")
        self.search.setClearButtonEnabled(True)
        self.search.setMaximumWidth(round(220 * font_scale()))
        # Room for a few words: the filter line beside it used to squeeze it to four letters.  That
        # line gives way first (it ends in "…", its whole text in the tooltip).
        self.search.setMinimumWidth(round(SEARCH_MIN_PX * font_scale()))
        self.search.textChanged.connect(self._emit)
        self.search.returnPressed.connect(lambda: self.searchStep.emit(1))
        self.previous_match = QToolButton(self)
        self.previous_match.setObjectName("searchPrevious")
        self.previous_match.setAccessibleName("Previous match")
        self.previous_match.setText("▲")
        self.previous_match.setToolTip("Previous match (Shift+F3)")
        self.previous_match.clicked.connect(lambda: self.searchStep.emit(-1))
        self.next_match = QToolButton(self)
        self.next_match.setObjectName("searchNext")
        self.next_match.setAccessibleName("Next match")
        self.next_match.setText("▼")
        self.next_match.setToolTip("Next match (F3)")
        self.next_match.clicked.connect(lambda: self.searchStep.emit(1))
        self.match_label = SpokenLabel("", self)
        self.match_label.setObjectName("searchMatches")
        self.match_label.set_role("Search matches")

        self.summary = ElidedLabel("Showing all events", self)
        self.summary.setObjectName("filterSummary")
        self.summary.setAccessibleName("Active filters")
        self.reset = QPushButton("Reset filters", self)
        self.reset.setObjectName("filterReset")
        self.reset.setAccessibleName("Reset filters")
        self.reset.setEnabled(False)
        self.reset.clicked.connect(self.reset_filters)

        controls = FlowRow(gap=ROW_SPACING_PX + 12, keep_last_right=True)
        controls.add_group(self.importance, self.private)
        controls.add_group(self.use_dates, self.date_from, to_label, self.date_to, gap=ROW_SPACING_PX)
        controls.add_group(self.search, self.previous_match, self.next_match, self.match_label)
        controls.add_group(self.summary, self.reset)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(ROW_SPACING_PX)
        layout.addLayout(types_row)
        layout.addLayout(controls)
        # Clicked with the mouse, toggles and lists leave the keyboard where it was (the lanes), so
        # ←/→ keep stepping events instead of changing the importance or focusing the next box;
        # Tab still reaches them.  The date boxes and the search box take typing, so they focus.
        for control in (
            *self.type_boxes.values(),
            self.importance,
            self.private,
            self.use_dates,
            self.previous_match,
            self.next_match,
            self.reset,
        ):
            control.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self._updating = False

    def current_filter(self) -> TimelineFilter:
        types = frozenset(t for t, box in self.type_boxes.items() if box.isChecked())
        start_ms = end_ms = None
        if self.use_dates.isChecked():
            start_ms = _local_midnight_ms(self.date_from.date())
            end_ms = _local_midnight_ms(self.date_to.date().addDays(1))
        return TimelineFilter(
            types=types,
            min_importance=self.importance.currentData(),
            private=self.private.currentData(),
            start_ms=start_ms,
            end_ms=end_ms,
            text=self.search.text(),
        )

    def reset_filters(self) -> None:
        self._updating = True
        try:
            for box in self.type_boxes.values():
                box.setChecked(True)
            self.importance.setCurrentIndex(0)
            self.private.setCurrentIndex(0)
            self.use_dates.setChecked(False)
            self.search.clear()
        finally:
            self._updating = False
        if self._history_span is not None:  # ticking "From" again offers the history, not old dates
            self.set_history_span(*self._history_span)
        if self._hidden_lanes:
            self.showAllLanes.emit()
        self._emit()

    def set_hidden_lanes(self, hidden: tuple[EventType, ...]) -> None:
        """The lanes the timeline hides now, for the filter line and the reset button."""
        self._hidden_lanes = hidden
        self._show_state(self.current_filter())

    def set_history_span(self, first_ms: int, last_ms: int) -> None:
        """Offer the patient's own history as the date range, unless a range is in use."""
        self._history_span = (first_ms, last_ms)
        if self.use_dates.isChecked():
            return
        self._updating = True
        try:
            self.date_from.clearMaximumDate()  # the last patient's range must not clamp this one's
            self.date_to.setMinimumDate(EARLIEST_DATE)
            self.date_from.setDate(_local_date(first_ms))
            self.date_to.setDate(_local_date(last_ms))
        finally:
            self._updating = False

    def _on_use_dates(self, on: bool) -> None:
        for edit in (self.date_from, self.date_to):
            edit.setEnabled(on)
        self._emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """F3 / Shift+F3 step through matches while typing in the search box (or on any filter control).

        The search box ignores F3, so the key comes up to the bar; the timeline
        has its own F3 for when it has the focus.
        """
        if event.key() == Qt.Key.Key_F3:
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.searchStep.emit(-1 if shift else 1)
            event.accept()
            return
        super().keyPressEvent(event)

    def set_search_allowed(self, allowed: bool) -> None:
        """Title search for roles that read titles; an administrator sees markers only."""
        for widget in (self.search, self.previous_match, self.next_match):
            widget.setEnabled(allowed)
        self.search.setToolTip("" if allowed else "Your role does not see titles, so it cannot search them")
        if not allowed and self.search.text():
            self.search.clear()

    def forget(self) -> None:
        """No filters, no search and no patient's dates (sign-out): nothing of the last session stays."""
        self._history_span = None
        self.reset_filters()
        self._updating = True
        try:
            for edit in (self.date_from, self.date_to):
                edit.setDate(QDate.currentDate())
        finally:
            self._updating = False

    def set_match_status(self, text: str) -> None:
        self.match_label.setText(text)

    def _emit(self) -> None:
        if self._updating:
            return
        flt = self.current_filter()
        self._show_state(flt)
        self.filterChanged.emit(flt)

    def _show_state(self, flt: TimelineFilter) -> None:
        self.summary.setText(describe_filters(flt, self._hidden_lanes))
        self.reset.setEnabled(not flt.is_default or bool(self._hidden_lanes))


def _local_date(time_ms: int) -> QDate:
    local = to_local(datetime.fromtimestamp(time_ms / 1000.0, UTC).replace(tzinfo=None))
    return QDate(local.year, local.month, local.day)


def _local_midnight_ms(date: QDate) -> int:
    local = datetime(date.year(), date.month(), date.day()).astimezone()
    return int(local.astimezone(UTC).timestamp() * 1000)
