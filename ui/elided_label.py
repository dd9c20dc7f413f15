"""A label that gives up width in a narrow window by ending its text in "…", never by clipping it."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QWidget

MIN_WIDTH_PX = 40


class ElidedLabel(QLabel):
    """One line of secondary text (counts, the range shown, hints): full when there is room.

    Its preferred width is the whole text; its minimum is a few letters, so a
    layout squeezes it before the window outgrows a laptop screen.  The full
    text stays in the tooltip and the accessible description.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setToolTip(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)
        self.setAccessibleDescription(text)

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_WIDTH_PX, super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        painter.setPen(self.palette().color(self.foregroundRole()))
        shown = elide_words(self.text(), self.fontMetrics(), rect.width())
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), shown)
        painter.end()


def elide_words(text: str, metrics: QFontMetrics, width: int) -> str:
    """``text`` if it fits, else as many whole words as fit, then "…".

    Cut anywhere, "1457 events · all in view" became "145…", which reads as
    145 events, and a date "30 J…"; a number or a word is now shown whole or
    not at all.
    """
    if metrics.horizontalAdvance(text) <= width:
        return text
    words = text.split(" ")
    for count in range(len(words) - 1, 0, -1):
        candidate = " ".join(words[:count]).rstrip(" ·–,") + "…"
        if metrics.horizontalAdvance(candidate) <= width:
            return candidate
    return "…"
