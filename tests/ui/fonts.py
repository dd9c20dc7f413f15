"""The application's font, set larger for a test (a clinician who needs bigger text) and put back after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication


@contextmanager
def app_font(points: float) -> Iterator[QFont]:
    """The app's font at ``points`` while the block runs (widgets built inside take it)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    usual = app.font()
    large = QFont(usual)
    large.setPointSizeF(points)
    app.setFont(large)
    try:
        yield large
    finally:
        app.setFont(usual)
