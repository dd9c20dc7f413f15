"""Every control has an objectName (for tests) and an accessible name (for screen readers)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCalendarWidget,
    QComboBox,
    QLineEdit,
    QScrollBar,
    QStatusBar,
    QWidget,
)

# Unnamed widgets are allowed only inside Qt's own composite widgets (a combo box's popup, a line
# edit's clear button, scroll bars, the status bar's size grip): no test reaches for those.
_QT_PARTS = (QComboBox, QAbstractSpinBox, QLineEdit, QStatusBar, QScrollBar, QCalendarWidget)


def _inside_qt_part(widget: QWidget) -> bool:
    parent = widget
    while parent is not None:
        if isinstance(parent, _QT_PARTS):
            return True
        # Qt's own helpers (a scroll area's corner, a tool bar's extension); a scroll area's viewport
        # holds our widgets, so it exempts nothing.
        if parent.objectName().startswith("qt_") and parent.objectName() != "qt_scrollarea_viewport":
            return True
        # A popup's own type, not its flags: every window's flags share the Window bit with Popup.
        if parent is not widget and parent.isWindow() and parent.windowType() == Qt.WindowType.Popup:
            return True
        parent = parent.parentWidget()
    return widget.isWindow() and widget.windowType() == Qt.WindowType.Popup


def unnamed(root: QWidget) -> list[str]:
    """The widgets under ``root`` (and ``root``) missing either name, described for a failure message."""
    missing = []
    for widget in [root, *root.findChildren(QWidget)]:
        name = widget.objectName()
        if name.startswith("qt_") or (not name and _inside_qt_part(widget)):
            continue
        if not name or not widget.accessibleName():
            parent = widget.parentWidget()
            text = getattr(widget, "text", lambda: "")()
            missing.append(
                f"{type(widget).__name__} {name!r} {text!r} under {parent.objectName() if parent else None!r}"
            )
    return missing
