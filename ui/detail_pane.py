"""The pane that shows one event in full: description, metadata, related entity, author."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.long_text import show_plain_text
from ui.spoken_label import SpokenLabel
from ui.style import FOCUS_COLOUR
from ui.window_fit import font_scale
from viewer.domain import EventDetail
from viewer.event_text import detail_fields

SHOWN_CHARS = 200_000  # of a description; far beyond any note, short of what takes a second to lay out


class _FieldValue(SpokenLabel):
    """A field's value, wrapped: it asks for the lines it needs at the width it gets.

    The form gave a wrapped value one line's height under a large font ("Fri
    30 Oct 2026," without its time), with no "…" to say anything was missing.
    """

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        needed = self.heightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


class EventDetailPane(QWidget):
    """Read-only view of the selected event; empty until something is selected.

    Signals (each carries nothing; the window knows the selected event):
        editRequested(), deleteRequested(), historyRequested(), annotateRequested(),
        readPrivateRequested(), retryRequested(): the buttons under the event.
    """

    editRequested = Signal()
    deleteRequested = Signal()
    historyRequested = Signal()
    annotateRequested = Signal()
    readPrivateRequested = Signal()
    retryRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("eventDetail")
        self.setAccessibleName("Event details")
        self.setMinimumWidth(
            round(260 * (1 + 0.6 * (font_scale() - 1)))
        )  # wider, not as wide, for larger text
        self.title = SpokenLabel("No event selected", self)
        self.title.setObjectName("eventDetailTitle")
        self.title.set_role("Event title")
        self.title.setWordWrap(True)
        # Titles and values come from colleagues and imports: "<b>" or "<img>" in them is text, not
        # markup (Qt's automatic format drew it bold, or as a broken image).
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        font.setPointSize(font.pointSize() + 1)
        self.title.setFont(font)
        self.hint = SpokenLabel("Click a marker, or use ← and → to step through events.", self)
        self.hint.setObjectName("eventDetailHint")
        self.hint.set_role("Event details hint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color:#666;")
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.description = QPlainTextEdit(self)
        self.description.setObjectName("eventDetailDescription")
        self.description.setAccessibleName("Event description")
        self.description.setReadOnly(True)
        self.description.setPlaceholderText("No description")
        # Read-only, it showed no caret and no frame when Tab reached it, so nothing told where the
        # keys were; a caret to read and select by keyboard (Shift+arrows, Ctrl+C), and a blue frame.
        self.description.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByKeyboard | Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.description.setStyleSheet(
            "QPlainTextEdit { border: 1px solid #C9D1DA; padding: 1px; }"
            f"QPlainTextEdit:focus {{ border: 2px solid {FOCUS_COLOUR}; padding: 0px; }}"
        )
        self.description.hide()
        self.buttons: dict[str, QPushButton] = {}
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        for key, text, name, accessible, signal in (
            ("edit", "Ed&it…", "detailEdit", "Edit this event", self.editRequested),
            ("delete", "Delete…", "detailDelete", "Delete this event", self.deleteRequested),
            ("history", "History…", "detailHistory", "Show this event's versions", self.historyRequested),
            ("annotate", "Review &note…", "detailAnnotate", "Add a review note", self.annotateRequested),
            ("read", "&Read it…", "detailReadPrivate", "Read this private event", self.readPrivateRequested),
            ("retry", "Try again", "detailRetry", "Read this event's text again", self.retryRequested),
        ):
            button = QPushButton(text, self)
            button.setObjectName(name)
            button.setAccessibleName(accessible)
            button.clicked.connect(signal.emit)
            button.hide()
            actions.addWidget(button)
            self.buttons[key] = button
        actions.addStretch(1)
        self.notes = SpokenLabel("", self)
        self.notes.setObjectName("eventDetailNotes")
        self.notes.set_role("Review notes")
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.PlainText)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addLayout(actions)
        layout.addLayout(self.form)
        layout.addWidget(self.description, 1)
        # The buttons sit above the fields and the description: Tab reaches them first, as drawn.
        QWidget.setTabOrder(self.buttons["retry"], self.description)
        layout.addWidget(self.notes)
        layout.addStretch(0)
        self.detail: EventDetail | None = None
        self.allowed: frozenset[str] = frozenset()

    def clear(self) -> None:
        self.detail = None
        self.title.setText("No event selected")
        self.hint.setText("Click a marker, or use ← and → to step through events.")
        self.hint.show()
        self._clear_form()
        self.description.hide()
        self.notes.hide()
        self._show_buttons(set())

    def set_allowed(self, allowed: frozenset[str]) -> None:
        """Which buttons the signed-in user may use on the shown event (asked of access.py)."""
        self.allowed = allowed
        if self.detail is not None:
            self._show_buttons(set(allowed))

    def _show_buttons(self, keys: set[str]) -> None:
        for key, button in self.buttons.items():
            button.setVisible(key in keys)

    def show_private_notice(self) -> None:
        """Another author's private event: say whose rule applies and how to read it."""
        self.detail = None
        self.title.setText("Private event")
        self.hint.setText(
            "Only its author and their supervisor may read it. As their supervisor you may: "
            "press Enter or “Read it…” and state why; the read is recorded in the audit log."
        )
        self.hint.show()
        self._clear_form()
        self.description.hide()
        self.notes.hide()
        self._show_buttons({"read"})

    def show_unreadable(self, heading: str, reason: str, *, retry: bool = False) -> None:
        """An event whose text could not be read: what is known of it, and why the rest is not shown."""
        self.detail = None
        self.title.setText(heading)
        self.hint.setText(reason)
        self.hint.show()
        self._clear_form()
        self.description.hide()
        self.notes.hide()
        self._show_buttons({"retry"} if retry else set())

    def show_notes(self, notes: list[str]) -> None:
        self.notes.setText("Review notes:\n" + "\n".join(f"• {n}" for n in notes) if notes else "")
        self.notes.setVisible(bool(notes))

    def show_loading(self) -> None:
        self.title.setText("Loading…")
        self.buttons["retry"].hide()

    def show_detail(self, detail: EventDetail) -> None:
        self.detail = detail
        self.title.setText(detail.title)
        self.hint.hide()
        self._clear_form()
        for field in detail_fields(detail):
            value = _FieldValue(field.value, self)
            value.setObjectName(f"eventDetail{field.label}")
            value.set_role(field.label)
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label = QLabel(f"{field.label}:", self)
            label.setObjectName(f"eventDetailLabel{field.label}")
            label.setAccessibleName(field.label)  # read as the caption says it ("When, label" before)
            self.form.addRow(label, value)
        text = detail.description or ""
        show_plain_text(self.description, text[:SHOWN_CHARS])
        if len(text) > SHOWN_CHARS:  # a pasted dump: the pane stays quick, the editor has it all
            self.hint.setText(
                f"Showing the first {SHOWN_CHARS:,} of {len(text):,} characters of the description."
            )
            self.hint.show()
        self.description.show()
        self.notes.hide()
        self.allowed = frozenset()
        self._show_buttons(set())

    def set_field(self, label: str, text: str) -> None:
        """Replace one row's value (the Related row, once the related event's title is known)."""
        widget = self.findChild(QLabel, f"eventDetail{label}")
        if widget is not None:
            widget.setText(text)

    def field_text(self, label: str) -> str | None:
        widget = self.findChild(QLabel, f"eventDetail{label}")
        return widget.text() if widget is not None else None

    def _clear_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
