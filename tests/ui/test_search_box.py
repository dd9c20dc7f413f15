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


def test_a_narrow_patient_list_shortens_its_lines_instead_of_cutting_them(qtbot: QtBot) -> None:
    """At 1100 px wide, "189 events, Sep 2024 – Oct 202" was cut mid-word at the panel's edge."""
    import uuid
    from datetime import datetime

    from PySide6.QtGui import QColor, QImage

    from viewer.services.patients import PatientSummary

    panel = PatientListPanel()
    qtbot.addWidget(panel)
    long_name = "Maximiliane Wolkenstein-Trostburg von Hohenegg"
    panel.set_patients(
        [PatientSummary(uuid.uuid4(), "p_1", long_name, 1890, datetime(2004, 9, 1), datetime(2026, 10, 1))]
    )
    panel.resize(180, 300)
    panel.show()
    qtbot.waitExposed(panel)
    image = panel.list.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    rect = panel.list.visualRect(panel.proxy.index(0, 0))
    right = panel.list.viewport().width() - 1
    background = image.pixelColor(right, rect.center().y())
    # The delegate keeps 6 px of margin at the panel's edge: an elided line leaves it clear.
    edge = [
        image.pixelColor(x, y)
        for x in range(right - 4, right)
        for y in range(rect.top() + 3, rect.bottom() - 3)
    ]
    assert all(colour == background for colour in edge), "text runs into the panel's edge"
    assert isinstance(background, QColor)


def test_a_shortened_name_is_whole_in_the_tooltip_and_the_header_gives_way(qtbot: QtBot) -> None:
    """The list's tooltip left the name out; the header never shortened, so a long name widened the window."""
    import uuid
    from datetime import datetime

    from PySide6.QtCore import Qt

    from ui.operations import OperationRunner
    from ui.timeline_view import HEADER_MIN_CHARS, TimelineView
    from viewer.services.patients import PatientSummary

    long_name = "Maximiliane Wolkenstein-Trostburg von Hohenegg und Falkenstein"
    patient = PatientSummary(
        uuid.uuid4(), "p_1", long_name, 1890, datetime(2004, 9, 1), datetime(2026, 10, 1)
    )
    panel = PatientListPanel()
    qtbot.addWidget(panel)
    panel.set_patients([patient])
    tip = panel.proxy.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith(long_name + "\n") and "1890 events" in tip
    view = TimelineView(OperationRunner())
    qtbot.addWidget(view)
    view.header.setText(long_name)
    least = view.header.minimumSizeHint().width()
    assert least == view.header.fontMetrics().averageCharWidth() * HEADER_MIN_CHARS
    assert view.header.fontMetrics().horizontalAdvance(long_name) > least
    view.header.setText("Sable Fernhollow")  # a usual name stays whole: it was cut to "Sable…"
    assert view.header.minimumSizeHint().width() == view.header.fontMetrics().horizontalAdvance(
        "Sable Fernhollow"
    )
    view.header.setText(long_name)
    assert view.header.toolTip() == long_name
    assert view.header.accessibleName() == f"Selected patient: {long_name}"
    # And it is drawn: a header of two label kinds found its painter already open and drew nothing.
    view.resize(1200, 600)
    view.show()
    qtbot.waitExposed(view)
    image = view.header.grab().toImage()
    dark = sum(
        image.pixelColor(x, y).lightness() < 100 for x in range(image.width()) for y in range(image.height())
    )
    assert dark > 30
