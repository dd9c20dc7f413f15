"""The searchable patient list: a Qt item model over ``PatientSummary`` values."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ui.search_box import SearchBox
from viewer.domain import to_local
from viewer.services.patients import PatientSummary
from viewer.wording import count_of

PATIENT_ROLE = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex


class PatientListModel(QAbstractListModel):
    """Read-only list of patients; the summary object is under ``PATIENT_ROLE``."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._patients: list[PatientSummary] = []

    def set_patients(self, patients: list[PatientSummary]) -> None:
        self.beginResetModel()
        self._patients = list(patients)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._patients)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._patients):
            return None
        patient = self._patients[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return patient.display_name
        if role == Qt.ItemDataRole.ToolTipRole:  # the whole of both lines, which may end in "…"
            return f"{patient.display_name}\n{describe_patient(patient)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{patient.display_name}, {describe_patient(patient)}"
        if role == PATIENT_ROLE:
            return patient
        return None

    def update_patient(self, patient: PatientSummary) -> None:
        """One patient's summary anew (its count and dates after an edit), in place."""
        row = self.row_of(patient.id)
        if row is not None:
            self._patients[row] = patient
            self.dataChanged.emit(self.index(row, 0), self.index(row, 0))

    @property
    def patients(self) -> list[PatientSummary]:
        return list(self._patients)

    def row_of(self, patient_id: uuid.UUID) -> int | None:
        for row, patient in enumerate(self._patients):
            if patient.id == patient_id:
                return row
        return None


def describe_patient(patient: PatientSummary) -> str:
    if not patient.event_count or patient.first_event is None or patient.last_event is None:
        return "no events yet"
    first, last = (
        f"{moment:%b} {moment.year:04d}"
        for moment in map(to_local, (patient.first_event, patient.last_event))
    )
    return f"{count_of(patient.event_count, 'event')}, {first} – {last}"


class _PatientFilter(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._text = ""

    def set_text(self, text: str) -> None:
        if hasattr(self, "endFilterChange"):  # Qt >= 6.10 deprecates invalidateFilter()
            self.beginFilterChange()
            self._text = text
            self.endFilterChange()
        else:
            self._text = text
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        patient = model.data(model.index(source_row, 0, source_parent), PATIENT_ROLE)
        return isinstance(patient, PatientSummary) and patient.matches(self._text)


class _PatientDelegate(QStyledItemDelegate):
    """Two lines per patient: the name, then how much history there is."""

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> Any:
        hint = super().sizeHint(option, index)
        hint.setHeight(option.fontMetrics.height() * 2 + 12)
        return hint

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        patient = index.data(PATIENT_ROLE)
        if not isinstance(patient, PatientSummary):
            super().paint(painter, option, index)
            return
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        if selected:
            painter.fillRect(option.rect, palette.highlight())
        rect = option.rect.adjusted(8, 4, -6, -4)
        line = option.fontMetrics.height()
        name_font = QFont(option.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        painter.setPen(palette.highlightedText().color() if selected else palette.text().color())
        # Cut with "…" where the panel is narrow or the font large: the counts were cut mid-word.
        elide = Qt.TextElideMode.ElideRight
        width = rect.width()
        view = option.widget  # a row may be wider than the panel shows (the list then scrolls)
        if isinstance(view, QAbstractItemView):
            width = min(width, view.viewport().width() - rect.x() - 6)
        name = QFontMetrics(name_font).elidedText(patient.display_name, elide, width)
        painter.drawText(rect.x(), rect.y() + line - 2, name)
        painter.setFont(option.font)
        if not selected:  # grey, yet 7:1 on white (the placeholder grey was about 4:1)
            painter.setPen(SECOND_LINE_COLOUR)
        summary = option.fontMetrics.elidedText(describe_patient(patient), elide, width)
        painter.drawText(rect.x(), rect.y() + 2 * line + 1, summary)
        if option.state & QStyle.StateFlag.State_HasFocus:  # where the arrow keys are, when tabbed in
            pen = QPen(palette.highlightedText().color() if selected else palette.highlight().color())
            pen.setWidth(2)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))
        painter.restore()


SECOND_LINE_COLOUR = QColor("#555555")


class PatientListPanel(QWidget):
    """Search box over the patient list.

    Signals:
        patientSelected(object): the current ``PatientSummary`` changed (click, arrow keys, search).
        patientChosen(object): the user picked this patient deliberately (click, Enter, Enter in
            the search box), as opposed to browsing past it with the arrow keys: the timeline
            may take the keyboard.
    """

    patientSelected = Signal(object)
    patientChosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patientPanel")
        self.setAccessibleName("Patient list")
        self.model = PatientListModel(self)
        self.proxy = _PatientFilter(self)
        self.proxy.setSourceModel(self.model)

        self.search = SearchBox(self)
        self.search.setObjectName("patientSearch")
        self.search.setAccessibleName("Search patients")
        self.search.setPlaceholderText("Search patients…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)

        self.list = QListView(self)
        self.list.setObjectName("patientList")
        self.list.setAccessibleName("Patients")
        self.list.setModel(self.proxy)
        self.list.setUniformItemSizes(True)
        self.list.setItemDelegate(_PatientDelegate(self.list))
        self.list.viewport().setObjectName("patientListViewport")  # clicks land here, so tests name it
        self.list.viewport().setAccessibleName("Patients")
        # The selection, not the current row: tabbing into the list makes its first row current
        # (Qt does, to show where the keys would go), which used to open that patient unasked.
        self.list.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.list.clicked.connect(self._on_chosen)
        self.list.activated.connect(self._on_chosen)
        self.search.returnPressed.connect(self._select_first_match)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 0, 6)
        layout.addWidget(self.search)
        layout.addWidget(self.list)

    def set_patients(self, patients: list[PatientSummary], *, keep: uuid.UUID | None = None) -> None:
        """Show ``patients``; ``keep`` stays selected and current, without opening it again.

        After an import the list is rebuilt: the open patient lost its highlight, and
        the arrow keys went on from the top instead of from it.
        """
        self.model.set_patients(patients)
        row = self.model.row_of(keep) if keep is not None else None
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            selection = self.list.selectionModel()
            blocked = selection.blockSignals(True)  # already open: no second load
            try:
                selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            finally:
                selection.blockSignals(blocked)
            self.list.viewport().update()

    def select_patient(self, patient_id: uuid.UUID) -> bool:
        row = self.model.row_of(patient_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            self.search.clear()
            index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.list.setCurrentIndex(index)
        return True

    def _select_first_match(self) -> None:
        if self.proxy.rowCount():
            first = self.proxy.index(0, 0)
            self.list.setCurrentIndex(first)
            self._on_chosen(first)

    def _on_chosen(self, index: QModelIndex) -> None:
        patient = index.data(PATIENT_ROLE) if index.isValid() else None
        if isinstance(patient, PatientSummary):
            if not self.list.selectionModel().isSelected(index):  # current after a Tab, not yet chosen
                self.list.selectionModel().select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.patientChosen.emit(patient)

    def _on_selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        patient = indexes[0].data(PATIENT_ROLE) if len(indexes) == 1 else None
        if isinstance(patient, PatientSummary):
            self.patientSelected.emit(patient)
