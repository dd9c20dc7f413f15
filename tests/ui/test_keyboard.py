"""Keyboard only: every choice reachable with Tab, Tab in screen order, Esc never throws typing away.

Driven as a keyboard user drives the dialogs (Tab, Esc, Alt+letter), offscreen,
without a database: each dialog is built from plain values.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.fonts import app_font
from ui.conflict_dialog import ConflictDialog
from ui.detail_pane import EventDetailPane
from ui.event_editor import EventEditor
from ui.history_dialog import HistoryDialog
from ui.review_dialogs import AnnotationDialog, PurposeDialog
from ui.sign_in_dialog import SignInDialog
from ui.style import FOCUS_COLOUR
from viewer.domain import EventDetail, EventDraft, EventType, Importance
from viewer.event_form import FormValues
from viewer.services.event_history import VersionRow

pytestmark = pytest.mark.ui


def _detail(**changes: object) -> EventDetail:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "patient_id": uuid.uuid4(),
        "therapist_id": uuid.uuid4(),
        "therapist_name": "Dr Example",
        "event_type": EventType.NOTE,
        "event_subtype": None,
        "event_date": datetime(2025, 3, 4, 10, 0),
        "title": "Saved elsewhere",
        "description": "details",
        "metadata": {"score": 14},
        "related_entity_type": None,
        "related_entity_id": None,
        "importance": Importance.NORMAL,
        "is_private": False,
        "created_at": datetime(2025, 3, 4, 10, 0),
    }
    values.update(changes)
    return EventDetail(**values)  # type: ignore[arg-type]


def _tab_reaches(qtbot: QtBot, window: QWidget, start: QWidget, presses: int = 40) -> list[str]:
    """The objectNames focus passes through when Tab is pressed ``presses`` times from ``start``."""
    window.activateWindow()
    start.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(start.hasFocus, timeout=5_000)
    seen = []
    for _ in range(presses):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget().objectName())
    return seen


def test_the_conflict_choices_are_reached_with_tab_from_the_comparison(qtbot: QtBot) -> None:
    theirs = _detail()
    mine = EventDraft(theirs.patient_id, EventType.NOTE, datetime(2025, 3, 4, 10, tzinfo=UTC), "Mine")
    dialog = ConflictDialog(mine, theirs)
    qtbot.addWidget(dialog)
    dialog.show()
    seen = _tab_reaches(qtbot, dialog, dialog.table, presses=6)
    assert {"conflictUseTheirs", "conflictKeepMine", "conflictBack"} <= set(seen)
    texts = [b.text() for b in dialog.findChildren(QPushButton)]
    assert sorted(texts) == ["&Back to editing", "&Keep mine", "&Use the saved version"]


def test_tab_leaves_the_editors_metadata_table_and_the_history_table(qtbot: QtBot) -> None:
    draft = EventDraft(uuid.uuid4(), EventType.NOTE, datetime(2025, 3, 4, 10, tzinfo=UTC), "Note")
    values = FormValues.from_draft(draft)
    editor = EventEditor(
        FormValues(**{**values.__dict__, "metadata_rows": (("score", "14"), ("scale", "phq-9"))})
    )
    qtbot.addWidget(editor)
    editor.show()
    assert "editorSave" in _tab_reaches(qtbot, editor, editor.metadata, presses=12)
    rows = [
        VersionRow(v, v == 2, False, "4 Mar 2025, 10:00", "Dr Example", f"Title {v}", f"v{v}") for v in (2, 1)
    ]
    history = HistoryDialog(rows)
    qtbot.addWidget(history)
    history.show()
    assert "historyDetail" in _tab_reaches(qtbot, history, history.table, presses=6)


def test_esc_on_a_typed_review_note_asks_before_throwing_it_away(qtbot: QtBot) -> None:
    dialog = AnnotationDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.body.setPlainText("Discussed the risk plan with the author.")
    qtbot.keyClick(dialog.body, Qt.Key.Key_Escape)
    box: QMessageBox = dialog.discard_box
    qtbot.waitUntil(box.isVisible, timeout=5_000)
    assert dialog.isVisible()
    qtbot.keyClick(box, Qt.Key.Key_Escape)  # Esc on the question keeps the note
    assert dialog.isVisible() and dialog.text().startswith("Discussed")
    dialog.reject()
    qtbot.waitUntil(dialog.discard_box.isVisible, timeout=5_000)
    qtbot.mouseClick(
        dialog.discard_box.findChild(QPushButton, "discardConfirmButton"), Qt.MouseButton.LeftButton
    )
    assert not dialog.isVisible()
    empty = AnnotationDialog()
    qtbot.addWidget(empty)
    empty.show()
    qtbot.keyClick(empty.body, Qt.Key.Key_Escape)  # nothing typed: closes at once
    assert not empty.isVisible()


def test_tab_follows_the_screen_in_sign_in_and_in_the_detail_pane(qtbot: QtBot, tmp_path: Path) -> None:
    account = {"username": "demo_ana", "display_name": "Ana Example", "role": "therapist", "password": "x"}
    (tmp_path / "demo-credentials.json").write_text(json.dumps({"users": [account]}), encoding="utf-8")
    dialog = SignInDialog(tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    seen = _tab_reaches(qtbot, dialog, dialog.demo_list, presses=3)
    assert seen[:3] == ["signInUsername", "signInPassword", "signInRemember"]
    pane = EventDetailPane()
    qtbot.addWidget(pane)
    pane.show()
    pane.show_detail(_detail())
    pane.set_allowed(frozenset({"edit", "delete", "history"}))
    seen = _tab_reaches(qtbot, pane, pane.buttons["edit"], presses=3)
    assert seen[:3] == ["detailDelete", "detailHistory", "eventDetailDescription"]


def test_alt_letters_in_the_editor_move_the_focus_and_never_flip_a_box(qtbot: QtBot) -> None:
    """Alt+P ticked or unticked Private unseen (Qt's label clicks a button buddy)."""
    draft = EventDraft(uuid.uuid4(), EventType.NOTE, datetime(2025, 3, 4, 10, tzinfo=UTC), "Note")
    editor = EventEditor(FormValues.from_draft(draft))
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitExposed(editor)
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow, timeout=5_000)
    editor.title_edit.setFocus()
    before = editor.private.isChecked()
    # Qt's click on a buddy comes after a short animation: watch for it a while.
    with qtbot.assertNotEmitted(editor.private.toggled, wait=500):
        qtbot.keyClick(editor.title_edit, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    assert editor.private.hasFocus() and editor.private.isChecked() == before
    qtbot.keyClick(editor.private, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(editor.related_type.hasFocus, timeout=5_000)


def test_the_read_only_description_shows_where_the_keys_are_and_reads_by_keyboard(qtbot: QtBot) -> None:
    """Tab reached the description with no caret and no frame: nothing showed the keys were there."""
    pane = EventDetailPane()
    qtbot.addWidget(pane)
    pane.resize(360, 500)
    pane.show()
    pane.show_detail(_detail(description="First line of the note\nsecond line"))
    description = pane.description
    unfocused = description.grab().toImage()
    pane.activateWindow()
    description.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(description.hasFocus, timeout=5_000)
    focused = description.grab().toImage()
    corner = focused.pixelColor(0, focused.height() // 2).name().upper()
    assert (
        corner == FOCUS_COLOUR.upper()
        and unfocused.pixelColor(0, unfocused.height() // 2).name().upper() != corner
    )
    # Shift+End selects by keyboard, and the text stays as it was.
    qtbot.keyClick(description, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(description, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)
    assert description.textCursor().selectedText() == "First line of the note"
    assert description.toPlainText() == "First line of the note\nsecond line"


def test_the_editor_gives_its_wrapped_texts_their_lines_under_a_large_font(qtbot: QtBot) -> None:
    """Under a 14 pt font the privacy explanation got about half the height its lines need."""
    with app_font(14.0) as large:
        draft = EventDraft(uuid.uuid4(), EventType.NOTE, datetime(2025, 3, 4, 10, tzinfo=UTC), "Note")
        editor = EventEditor(FormValues.from_draft(draft))
        qtbot.addWidget(editor)
        editor.show()
        qtbot.waitExposed(editor)
        explanation = editor.privacy_text

        def whole() -> bool:
            return explanation.height() >= explanation.heightForWidth(explanation.width())

        qtbot.waitUntil(whole, timeout=5_000)
        assert explanation.heightForWidth(explanation.width()) > 2 * QFontMetrics(large).height()  # wrapped
        editor.private.setChecked(not editor.private.isChecked())  # the other explanation
        qtbot.waitUntil(whole, timeout=5_000)


def test_the_editor_stays_on_its_screen_when_it_grows_for_a_large_font(qtbot: QtBot) -> None:
    """Grown downwards to fit its texts, the editor put Save below the screen's bottom edge."""
    with app_font(18.0):
        draft = EventDraft(uuid.uuid4(), EventType.NOTE, datetime(2025, 3, 4, 10, tzinfo=UTC), "Note")
        editor = EventEditor(FormValues.from_draft(draft))
        qtbot.addWidget(editor)
        editor.move(40, 300)  # where a parent might centre it
        editor.show()
        qtbot.waitExposed(editor)
        room = editor.screen().availableGeometry()
        save = editor.save_button

        def on_screen() -> bool:
            corner = save.mapToGlobal(save.rect().bottomRight())
            return room.contains(editor.frameGeometry()) and room.contains(corner)

        qtbot.waitUntil(on_screen, timeout=5_000)
        # A later notice (a far-off year) asks for more lines: still all on the screen.
        editor.date.setDateTime(editor.date.dateTime().addYears(40))
        qtbot.waitUntil(lambda: editor.date_notice.isVisible(), timeout=5_000)
        QApplication.processEvents()
        assert on_screen()


def test_clicking_sign_in_sends_what_was_typed_not_the_first_demo_account(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """A clicked Sign in passed the focus to the demo list, which filled in its first account's password."""
    accounts = [
        {
            "username": "demo_ada",
            "display_name": "Ada Example",
            "role": "therapist",
            "password": "ada-secret",
        },
        {
            "username": "demo_ben",
            "display_name": "Ben Example",
            "role": "therapist",
            "password": "ben-secret",
        },
    ]
    (tmp_path / "demo-credentials.json").write_text(json.dumps({"users": accounts}), encoding="utf-8")
    dialog = SignInDialog(tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    sent: list[tuple[str, str, bool]] = []
    dialog.credentialsEntered.connect(lambda user, password, keep: sent.append((user, password, keep)))
    dialog.username.setText("demo_ben")
    dialog.password.setText("typed by ben")
    qtbot.mouseClick(dialog.submit, Qt.MouseButton.LeftButton)
    QApplication.processEvents()
    assert sent == [("demo_ben", "typed by ben", dialog.remember.isChecked())]
    assert (dialog.username.text(), dialog.password.text()) == ("demo_ben", "typed by ben")
    dialog.show_error("Wrong username or password.")  # the answer comes back: try again, by click
    dialog.password.setText("ben-secret")
    qtbot.mouseClick(dialog.submit, Qt.MouseButton.LeftButton)
    QApplication.processEvents()
    assert sent[-1][:2] == ("demo_ben", "ben-secret") and dialog.username.text() == "demo_ben"


def test_dialogs_grow_with_a_large_font_and_show_what_their_cells_cut(qtbot: QtBot) -> None:
    """At 18 pt the fixed 460 x 150 purpose dialog lost its audit warning; conflict cells hid the difference."""
    with app_font(18.0):
        purpose = PurposeDialog("Dr Example")
        annotation = AnnotationDialog()
        for dialog, label_name in ((purpose, "purposeExplanation"), (annotation, "annotationExplanation")):
            qtbot.addWidget(dialog)
            dialog.show()
            qtbot.waitExposed(dialog)
            label = dialog.findChild(QLabel, label_name)
            qtbot.waitUntil(
                lambda label=label: label.height() >= label.heightForWidth(label.width()), timeout=5_000
            )
            assert dialog.screen().availableGeometry().contains(dialog.frameGeometry())
        theirs = _detail(title="Message from patient about the appointment on Tuesday")
        mine = EventDraft(
            theirs.patient_id,
            EventType.NOTE,
            datetime(2025, 3, 4, 10, tzinfo=UTC),
            "Message from patient about the appointment on Thursday",
        )
        conflict = ConflictDialog(mine, theirs)
        qtbot.addWidget(conflict)
        tips = {
            conflict.table.item(row, column).toolTip()
            for row in range(conflict.table.rowCount())
            for column in range(conflict.table.columnCount())
            if conflict.table.item(row, column) is not None
        }
        assert {theirs.title, mine.title} <= tips
        assert conflict.width() > 760  # grown with the font
        history = HistoryDialog(
            [VersionRow(1, True, False, "4 Mar 2025, 10:00", "Dr Example", mine.title, "v1")]
        )
        qtbot.addWidget(history)
        assert history.table.item(0, 3).toolTip() == mine.title
