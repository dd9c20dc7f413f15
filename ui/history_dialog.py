"""An event's versions: who saved what and when, newest first, each version readable in full."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.long_text import show_plain_text
from ui.window_fit import FitsTextOnShow, scaled_size
from viewer.services.event_history import VersionRow
from viewer.wording import count_of


class HistoryDialog(FitsTextOnShow, QDialog):
    def __init__(self, versions: list[VersionRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyDialog")
        self.setAccessibleName("Version history")
        self.setWindowTitle("Version history")
        self.versions = versions
        intro = QLabel(
            f"{count_of(len(versions), 'version')}. Every save keeps the version before it; deleting leaves a"
            " marked version.",
            self,
        )
        intro.setObjectName("historyIntro")
        intro.setAccessibleName("About the versions")
        intro.setWordWrap(True)
        self.table = QTableWidget(len(versions), 4, self)
        self.table.setObjectName("historyTable")
        self.table.setAccessibleName("Versions")
        self.table.setHorizontalHeaderLabels(["Version", "Saved", "By", "Title"])
        self.table.setTabKeyNavigation(False)  # Tab moves on to the full text; arrows pick a version
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setObjectName("historyRowHeader")
        self.table.verticalHeader().setAccessibleName("Version rows")
        self.table.horizontalHeader().setObjectName("historyColumns")
        self.table.horizontalHeader().setAccessibleName("Version columns")
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        for row, version in enumerate(versions):
            for column, text in enumerate((version.label, version.saved_at, version.saved_by, version.title)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)  # an elided title, whole
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.detail = QPlainTextEdit(self)
        self.detail.setObjectName("historyDetail")
        self.detail.setAccessibleName("The selected version in full")
        self.detail.setReadOnly(True)
        self.table.currentCellChanged.connect(self._show)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setObjectName("historySplitter")
        splitter.setAccessibleName("Versions and the selected version")
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(splitter, 1)
        scaled_size(self, 720, 480)
        if versions:
            self.table.setCurrentCell(0, 0)

    def _show(self, row: int, *_args: Any) -> None:
        if 0 <= row < len(self.versions):
            show_plain_text(self.detail, self.versions[row].full_text)
