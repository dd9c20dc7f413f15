""" "Discard your changes?": asked before a dialog with typed text closes on Cancel or Esc."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget


def ask_discard(parent: QWidget, question: str, on_discard: Callable[[], None]) -> QMessageBox:
    """Open (window-modal, not blocking) a question whose default keeps the text; ``on_discard`` if not kept.

    Esc or Enter on the question keeps the text: throwing it away takes a
    deliberate click or Alt+D.
    """
    box = QMessageBox(parent)
    box.setObjectName("discardConfirm")
    box.setAccessibleName("Discard changes?")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Discard changes?")
    box.setText(question)
    discard = box.addButton("&Discard changes", QMessageBox.ButtonRole.DestructiveRole)
    discard.setObjectName("discardConfirmButton")
    discard.setAccessibleName("Discard changes")
    keep = box.addButton("&Keep editing", QMessageBox.ButtonRole.RejectRole)
    keep.setObjectName("discardKeepEditing")
    keep.setAccessibleName("Keep editing")
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)

    def chosen(_result: int) -> None:
        if box.clickedButton() is discard:
            on_discard()

    box.finished.connect(chosen)
    box.open()
    return box
