"""Someone saved the event while it was being edited: show both versions, let the user choose.

Nothing is overwritten silently: "Keep mine" saves over the newer version
knowingly (and that save is itself conflict-checked against it), "Use theirs"
puts the saved version into the editor, "Back" returns to editing.
"""

from __future__ import annotations

from enum import Enum

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.window_fit import FitsTextOnShow, scaled_size
from viewer.domain import EventDetail, EventDraft
from viewer.event_form import FIELDS, FormValues, changed_fields

LABELS = {
    "event_type": "Type",
    "event_subtype": "Subtype",
    "event_date": "When",
    "title": "Title",
    "description": "Description",
    "importance": "Importance",
    "is_private": "Private",
    "metadata": "Metadata",
    "related_entity_type": "Related type",
    "related_entity_id": "Related id",
}


class ConflictChoice(Enum):
    KEEP_MINE = "keep mine"
    USE_THEIRS = "use theirs"
    BACK = "back"


def _shown(draft: EventDraft, name: str) -> str:
    values = FormValues.from_draft(draft)
    if name == "event_date":
        return draft.event_date.astimezone().strftime("%Y-%m-%d %H:%M")
    if name == "metadata":
        return ", ".join(f"{k}={v}" for k, v in values.metadata_rows)
    value = getattr(draft, name)
    if hasattr(value, "label"):
        return str(value.label)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


class ConflictDialog(FitsTextOnShow, QDialog):
    """Both versions side by side, changed fields marked."""

    def __init__(self, mine: EventDraft, theirs: EventDetail, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conflictDialog")
        self.setAccessibleName("Edit conflict")
        self.setWindowTitle("This event changed while you edited it")
        self.choice = ConflictChoice.BACK
        self.theirs = theirs
        who = theirs.therapist_name or "someone"
        intro = QLabel(
            f"Version {theirs.row_version} was saved after you opened the event. "
            "Nothing has been overwritten. Choose which version to keep; differing fields are marked.",
            self,
        )
        intro.setObjectName("conflictIntro")
        intro.setAccessibleName("What happened")
        intro.setWordWrap(True)
        saved = theirs.as_draft()
        differing = set(changed_fields(mine, saved))
        self.table = QTableWidget(len(FIELDS), 3, self)
        self.table.setObjectName("conflictTable")
        self.table.setAccessibleName("Your version and the saved version")
        self.table.setHorizontalHeaderLabels(["Field", "Your version", f"Saved now (event by {who})"])
        self.table.verticalHeader().hide()
        for header, name, spoken in (
            (self.table.horizontalHeader(), "conflictColumns", "Field, your version, saved version"),
            (self.table.verticalHeader(), "conflictRows", "Fields"),
        ):
            header.setObjectName(name)
            header.setAccessibleName(spoken)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab moves on to the choices; arrows walk the cells
        for row, name in enumerate(FIELDS):
            cells = (LABELS[name], _shown(mine, name), _shown(saved, name))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)  # a cell elides; the words that differ may be past its edge
                if name in differing:
                    item.setBackground(QColor("#FFF1C2"))
                    if column == 0:
                        item.setText(f"{text} (differs)")
                self.table.setItem(row, column, item)
        buttons = QHBoxLayout()
        for text, name, accessible, choice in (
            ("&Back to editing", "conflictBack", "Go back to the editor", ConflictChoice.BACK),
            ("&Use the saved version", "conflictUseTheirs", "Discard my changes and load the saved version",
             ConflictChoice.USE_THEIRS),
            ("&Keep mine", "conflictKeepMine", "Save my version over the newer one", ConflictChoice.KEEP_MINE),
        ):  # fmt: skip
            button = QPushButton(text, self)
            button.setObjectName(name)
            button.setAccessibleName(accessible)
            button.clicked.connect(lambda _=False, c=choice: self._choose(c))
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        scaled_size(self, 760, 420)

    def _choose(self, choice: ConflictChoice) -> None:
        self.choice = choice
        self.accept()
