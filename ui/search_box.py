"""A search box that Esc empties: the key a user reaches for to take a search back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit


class SearchBox(QLineEdit):
    """Esc clears the text; with nothing typed, Esc goes on to the window (a dialog's Cancel, say)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.text() and not event.modifiers():
            self.clear()
            event.accept()
            return
        super().keyPressEvent(event)
