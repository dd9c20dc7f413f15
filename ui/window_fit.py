"""Dialogs sized for their text in the app's font, and kept on their screen.

Fixed pixel sizes (460 x 150 for "why do you need to read it?") were made at
9 pt: under a 14 or 18 pt font the audit warning lost its last line and the
conflict table elided the very words that differ.  Sizes are now given at
9 pt and scaled by the font, then grown to what the wrapped text needs.
"""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics, QShowEvent
from PySide6.QtWidgets import QApplication, QWidget

USUAL_LINE_PX = 14  # a line of the 9 pt font the sizes were chosen at


def font_scale() -> float:
    """How much larger the app's font is than the 9 pt one (never smaller than 1)."""
    return max(1.0, QFontMetrics(QApplication.font()).height() / USUAL_LINE_PX)


def scaled_size(window: QWidget, width: int, height: int) -> None:
    """Resize ``window`` to ``width`` x ``height`` as chosen at 9 pt, grown with the font."""
    scale = font_scale()
    window.resize(round(width * scale), round(height * scale))


def fit_to_text(window: QWidget) -> None:
    """Grow ``window`` to what its wrapped labels need at its width, then keep it wholly on its screen.

    Qt sizes a window by its labels' one-line guess; a window grown
    downwards can hide its buttons below the screen's edge, so it moves up
    as far as it grew.
    """
    layout = window.layout()
    screen = window.screen()
    if layout is None or screen is None:
        return
    room = screen.availableGeometry()
    frame = window.frameGeometry()
    border = frame.height() - window.height()
    wanted = layout.totalHeightForWidth(min(window.width(), room.width()))
    height = min(max(wanted, window.height()), room.height() - border)
    width = min(window.width(), room.width() - (frame.width() - window.width()))
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
        frame = window.frameGeometry()
    x, y = frame.x(), frame.y()
    if frame.bottom() > room.bottom():
        y = max(room.top(), y - (frame.bottom() - room.bottom()))
    if frame.right() > room.right():
        x = max(room.left(), x - (frame.right() - room.right()))
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)


class FitsTextOnShow:
    """A mixin for dialogs: grown to their wrapped text, and onto the screen, whenever they show."""

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)  # type: ignore[misc]
        assert isinstance(self, QWidget)
        fit_to_text(self)
