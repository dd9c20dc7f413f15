"""The pane that shows one event in full: description, metadata, related entity, author."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from viewer.domain import EventDetail
from viewer.event_text import detail_fields


class EventDetailPane(QWidget):
    """Read-only view of the selected event; empty until something is selected."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("eventDetail")
        self.setAccessibleName("Event details")
        self.setMinimumWidth(260)
        self.title = QLabel("No event selected", self)
        self.title.setObjectName("eventDetailTitle")
        self.title.setAccessibleName("Event title")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        font.setPointSize(font.pointSize() + 1)
        self.title.setFont(font)
        self.hint = QLabel("Click a marker, or use ← and → to step through events.", self)
        self.hint.setObjectName("eventDetailHint")
        self.hint.setAccessibleName("Event details hint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color:#666;")
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.description = QPlainTextEdit(self)
        self.description.setObjectName("eventDetailDescription")
        self.description.setAccessibleName("Event description")
        self.description.setReadOnly(True)
        self.description.setPlaceholderText("No description")
        self.description.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addLayout(self.form)
        layout.addWidget(self.description, 1)
        layout.addStretch(0)
        self.detail: EventDetail | None = None

    def clear(self) -> None:
        self.detail = None
        self.title.setText("No event selected")
        self.hint.show()
        self._clear_form()
        self.description.hide()

    def show_loading(self) -> None:
        self.title.setText("Loading…")

    def show_detail(self, detail: EventDetail) -> None:
        self.detail = detail
        self.title.setText(detail.title)
        self.hint.hide()
        self._clear_form()
        for field in detail_fields(detail):
            value = QLabel(field.value, self)
            value.setObjectName(f"eventDetail{field.label}")
            value.setAccessibleName(field.label)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.form.addRow(f"{field.label}:", value)
        self.description.setPlainText(detail.description or "")
        self.description.show()

    def field_text(self, label: str) -> str | None:
        widget = self.findChild(QLabel, f"eventDetail{label}")
        return widget.text() if widget is not None else None

    def _clear_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
