"""Labels that show data or messages, heard by a screen reader as their role and their text."""

from __future__ import annotations

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QLabel, QWidget


class SpokenLabel(QLabel):
    """A QLabel whose accessible name is "role: text", kept so on every ``setText``.

    Qt reads a label's accessible name instead of its text once one is set, and
    every label here has one (QA finds widgets by it): an event's title was
    heard as "Event title", "Wrong username or password." as "Sign-in problem".
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.role = ""

    def set_role(self, role: str) -> None:
        """What the text is ("Event title"); said before it."""
        self.role = role
        self._speak()

    def setText(self, text: str) -> None:
        super().setText(text)
        self._speak()

    def _speak(self) -> None:
        text = self.text()
        if self.textFormat() == Qt.TextFormat.RichText or (
            self.textFormat() == Qt.TextFormat.AutoText
            and QtGui.Qt.mightBeRichText(text)  # QtGui's Qt namespace holds it
        ):
            text = QTextDocumentFragment.fromHtml(text).toPlainText()
        spoken = " ".join(text.split())  # line breaks and runs of spaces read as one pause
        self.setAccessibleName(f"{self.role}: {spoken}" if spoken and self.role else self.role or spoken)
