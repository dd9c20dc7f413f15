from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QVBoxLayout
from pytestqt.qtbot import QtBot

from ui.patient_list import PatientListPanel
from ui.search_box import SearchBox


def test_esc_empties_the_patient_search(qtbot: QtBot) -> None:
    panel = PatientListPanel()
    qtbot.addWidget(panel)
    qtbot.keyClicks(panel.search, "zoe")
    qtbot.keyClick(panel.search, Qt.Key.Key_Escape)
    assert panel.search.text() == ""


def test_esc_in_an_empty_search_box_goes_on_to_the_dialog(qtbot: QtBot) -> None:
    dialog = QDialog()
    qtbot.addWidget(dialog)
    box = SearchBox(dialog)
    QVBoxLayout(dialog).addWidget(box)
    dialog.show()
    qtbot.keyClicks(box, "a")
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert dialog.isVisible() and box.text() == ""
    with qtbot.waitSignal(dialog.rejected, timeout=5_000):
        qtbot.keyClick(box, Qt.Key.Key_Escape)
