"""Plain-text boxes that stay quick with any text an import or a colleague may bring.

Qt lays out a line with no break in it (a pasted hash, base64, a long URL) in
time that grows with the square of its length: a 300 KB run froze the window
for 11 s, 1 MB for over two minutes.  Without wrapping the same layout is
linear (0.4 s for 1 MB), so such a text is shown unwrapped, with a scroll bar.
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import QPlainTextEdit

UNBROKEN_RUN = re.compile(r"\S{2000}")  # longer than any word, far shorter than what hurts


def show_plain_text(box: QPlainTextEdit, text: str) -> None:
    """Put ``text`` in ``box``, wrapped at the box's width unless it holds a very long unbroken run."""
    unbroken = UNBROKEN_RUN.search(text) is not None
    box.setLineWrapMode(
        QPlainTextEdit.LineWrapMode.NoWrap if unbroken else QPlainTextEdit.LineWrapMode.WidgetWidth
    )
    box.setPlainText(text)
