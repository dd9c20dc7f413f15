"""A supervisor's two small dialogs: why they open a private note, and a review note to add."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.discard_prompt import ask_discard
from ui.window_fit import FitsTextOnShow, scaled_size
from viewer.services.annotations import MAX_BODY

PURPOSES = ("Supervision review", "Clinical risk review", "Case consultation")


def _buttons(
    dialog: QDialog, ok_text: str, ok_name: str, cancel_name: str
) -> tuple[QHBoxLayout, QPushButton]:
    ok = QPushButton(ok_text, dialog)
    ok.setObjectName(ok_name)
    ok.setAccessibleName(ok_text)
    ok.setDefault(True)
    ok.clicked.connect(dialog.accept)
    cancel = QPushButton("Cancel", dialog)
    cancel.setObjectName(cancel_name)
    cancel.setAccessibleName("Cancel")
    cancel.clicked.connect(dialog.reject)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(cancel)
    row.addWidget(ok)
    return row, ok


class PurposeDialog(FitsTextOnShow, QDialog):
    """Asks why a supervisor opens a supervisee's private event; the answer goes to the audit log."""

    def __init__(self, author: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("purposeDialog")
        self.setAccessibleName("Reason for reading a private event")
        self.setWindowTitle("Private event")
        text = QLabel(
            f"This is a private event by {author}. You may read it as their supervisor; "
            "your reason is recorded in the audit log with your name.",
            self,
        )
        text.setObjectName("purposeExplanation")
        text.setAccessibleName("Why a reason is asked")
        text.setWordWrap(True)
        self.purpose = QComboBox(self)
        self.purpose.setObjectName("purposeText")
        self.purpose.setAccessibleName("Reason")
        self.purpose.setEditable(True)
        self.purpose.setInsertPolicy(
            QComboBox.InsertPolicy.NoInsert
        )  # Enter added each typed reason as an item
        self.purpose.addItems(list(PURPOSES))
        self.purpose.setCurrentText("")
        line = self.purpose.lineEdit()
        if line is not None:
            line.setPlaceholderText("Why do you need to read it? (pick or type)")
        row, self.ok = _buttons(self, "Read it", "purposeOk", "purposeCancel")
        self.ok.setEnabled(False)
        self.purpose.currentTextChanged.connect(lambda t: self.ok.setEnabled(bool(t.strip())))
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.purpose)
        layout.addLayout(row)
        scaled_size(self, 460, 150)

    def text(self) -> str:
        return self.purpose.currentText().strip()


class AnnotationDialog(FitsTextOnShow, QDialog):
    """A review note on an event (insert-only: it cannot be edited afterwards, so say so)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("annotationDialog")
        self._discard_confirmed = False
        self.setAccessibleName("Add a review note")
        self.setWindowTitle("Add a review note")
        text = QLabel(
            "Your note is attached to the event for its author to read. Notes cannot be edited or "
            "deleted afterwards; the event itself stays as its author wrote it.",
            self,
        )
        text.setObjectName("annotationExplanation")
        text.setAccessibleName("About review notes")
        text.setWordWrap(True)
        self.body = QPlainTextEdit(self)
        self.body.setObjectName("annotationText")
        self.body.setAccessibleName("Review note")
        self.body.setTabChangesFocus(True)
        row, self.ok = _buttons(self, "Add note", "annotationSave", "annotationCancel")
        self.ok.setEnabled(False)
        self.body.textChanged.connect(
            lambda: self.ok.setEnabled(0 < len(self.body.toPlainText().strip()) <= MAX_BODY)
        )
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.body, 1)
        layout.addLayout(row)
        scaled_size(self, 480, 260)

    def text(self) -> str:
        return self.body.toPlainText().strip()

    def reject(self) -> None:
        """Cancel or Esc with a note typed: ask first (Esc used to throw the note away)."""
        if not self.text() or self._discard_confirmed:
            super().reject()
            return

        def discard() -> None:
            self._discard_confirmed = True
            self.reject()

        self.discard_box = ask_discard(self, "Close without adding your review note?", discard)
