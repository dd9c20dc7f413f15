"""The editor driven through the UI by objectName, under real logins, with the GUI-thread guard armed.

Create, validate, edit, conflict, delete, undo, draft recovery after a crash,
the idle lock with an open editor, and a supervisor reading a private event
with a stated purpose and adding a review note.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QShortcutEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
)
from pytestqt.qtbot import QtBot

from tests.db.privacy_practice import Practice
from tests.db.test_fhir_import import TINY
from tests.ui.conftest import _guard_active, open_patient
from tests.ui.naming import unnamed
from ui.conflict_dialog import ConflictDialog
from ui.event_editor import EventEditor
from ui.history_dialog import HistoryDialog
from ui.main_window import MainWindow
from viewer.db.engine import make_engine
from viewer.db.settings import Settings, UrlSource
from viewer.domain import EventType
from viewer.event_text import format_when
from viewer.services.drafts import DRAFTS_DIR

pytestmark = pytest.mark.ui


def _owner(practice: Practice, statement: str, **params: Any) -> list[Any]:
    """The test's own look at the database, as the owner (never on behalf of the window)."""
    was_armed = _guard_active.is_set()
    _guard_active.clear()
    try:
        owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
        with owner.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            rows = list(result) if result.returns_rows else []
        owner.dispose()
    finally:
        if was_armed:
            _guard_active.set()
    return rows


def _window(qtbot: QtBot, practice: Practice, home: Path, actor: str) -> MainWindow:
    settings = Settings(home, practice.url.render_as_string(hide_password=False), UrlSource.FLAG)
    win = MainWindow(settings, require_sign_in=True)
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    _guard_active.set()
    win.start()
    qtbot.waitUntil(lambda: win.sign_in_dialog is not None and win.sign_in_dialog.isVisible(), timeout=30_000)
    dialog = win.sign_in_dialog
    assert dialog is not None
    dialog.findChild(QLineEdit, "signInUsername").setText(practice.login(actor))
    dialog.findChild(QLineEdit, "signInPassword").setText(practice.passwords[actor])
    with qtbot.waitSignal(win.databaseReady, timeout=30_000):
        qtbot.mouseClick(dialog.findChild(QPushButton, "signInButton"), Qt.MouseButton.LeftButton)
    return win


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def author(qtbot: QtBot, practice: Practice, home: Path) -> Iterator[MainWindow]:
    yield _window(qtbot, practice, home, "author")
    _guard_active.clear()


def _open_patient(qtbot: QtBot, window: MainWindow, name: str) -> None:
    open_patient(qtbot, window, name)


def _new_event_editor(qtbot: QtBot, window: MainWindow, patient: str) -> EventEditor:
    """Open ``patient``'s timeline and an editor for a new event on it (Ctrl+N)."""
    _open_patient(qtbot, window, patient)
    window.new_event_action.trigger()
    return _editor(qtbot, window)


def _select_event(qtbot: QtBot, window: MainWindow, event_id: uuid.UUID) -> None:
    columns = window.timeline.columns
    row = next(r for r in range(len(columns)) if columns.event_id(r) == event_id)
    with qtbot.waitSignal(window.timeline.detailShown, timeout=30_000):
        window.timeline.select_row(row, reveal=True)


def _editor(qtbot: QtBot, window: MainWindow) -> EventEditor:
    qtbot.waitUntil(
        lambda: bool(window.edits.editors) and window.edits.editors[-1].isVisible(), timeout=30_000
    )
    return window.edits.editors[-1]


def _save(qtbot: QtBot, window: MainWindow, editor: EventEditor) -> None:
    with qtbot.waitSignal(window.timelineShown, timeout=30_000):
        qtbot.mouseClick(editor.findChild(QPushButton, "editorSave"), Qt.MouseButton.LeftButton)


def _message_box(qtbot: QtBot, name: str) -> QMessageBox:
    found: list[QMessageBox] = []

    def visible() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets() if w.objectName() == name and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(visible, timeout=30_000)
    box = found[0]
    assert isinstance(box, QMessageBox)
    return box


def test_create_validates_beside_the_field_then_saves_in_the_background(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    _open_patient(qtbot, author, "Patient P2")
    before = len(author.timeline.columns)
    author.new_event_action.trigger()
    editor = _editor(qtbot, author)
    assert unnamed(editor) == []
    assert editor.findChild(QLabel, "editorPrivacyExplanation").text().startswith("Shared with the care team")
    # Nothing half-valid is sent: an empty title is named next to the field and nothing is written.
    editor.related_id.setFocus()
    qtbot.mouseClick(editor.findChild(QPushButton, "editorSave"), Qt.MouseButton.LeftButton)
    assert editor.error_text("title") == "Title must not be empty"
    assert editor.isVisible()
    # Heard, not only seen: the field says what is wrong, the label reads its text, the focus goes there.
    assert editor.title_edit.accessibleDescription() == "Title must not be empty"
    assert editor.error_labels["title"].accessibleName() == "Problem with title: Title must not be empty"
    qtbot.waitUntil(editor.title_edit.hasFocus, timeout=5_000)
    editor.findChild(QLineEdit, "editorTitle").setText("x" * 201)
    assert "201 characters" in editor.error_text("title")
    editor.findChild(QLineEdit, "editorTitle").setText("First family session")
    assert editor.error_text("title") == ""
    editor.findChild(QComboBox, "editorSubtype").setCurrentText("family")
    editor.findChild(QComboBox, "editorImportance").setCurrentIndex(2)
    editor.findChild(QPlainTextEdit, "editorDescription").setPlainText("Mother and brother attended.")
    private = editor.private
    private.setChecked(True)
    assert "only you" in editor.findChild(QLabel, "editorPrivacyExplanation").text().lower()
    qtbot.mouseClick(editor.findChild(QPushButton, "editorAddMetadata"), Qt.MouseButton.LeftButton)
    table = editor.findChild(QTableWidget, "editorMetadata")
    table.item(0, 0).setText("attendees")
    table.item(0, 1).setText("3")
    _save(qtbot, author, editor)
    assert not editor.isVisible()
    assert len(author.timeline.columns) == before + 1
    selected = author.timeline.selected_event_id()
    rows = _owner(
        practice,
        "SELECT title, event_subtype, importance, is_private, metadata, therapist_id, row_version "
        "FROM timeline_events WHERE id = :i",
        i=selected,
    )
    assert rows == [
        ("First family session", "family", "high", True, {"attendees": 3}, practice.users["author"], 1)
    ]
    audited = _owner(practice, "SELECT actor, action FROM audit_log WHERE event_id = :i", i=selected)
    assert audited == [(practice.login("author"), "event.create")]


def test_an_editor_names_its_patient_while_another_is_on_screen(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    """A note begun for one patient, saved after picking another, went onto the first without a word."""
    editor = _new_event_editor(qtbot, author, "Patient P1")
    assert editor.windowTitle() == "New event for Patient P1"
    assert editor.findChild(QLabel, "editorPatient").text() == "Patient: Patient P1"
    _open_patient(qtbot, author, "Patient P2")
    editor.title_edit.setText("Meant for P1")
    with qtbot.waitSignal(author.edits.changed, timeout=30_000):
        qtbot.mouseClick(editor.findChild(QPushButton, "editorSave"), Qt.MouseButton.LeftButton)
    assert author.statusBar().currentMessage().startswith("Saved for Patient P1.")
    assert author.undo_action.isEnabled()  # as the message says, before any reload
    assert _owner(practice, "SELECT patient_id FROM timeline_events WHERE title = 'Meant for P1'") == [
        (practice.patients["P1"],)
    ]


def test_a_year_typed_far_ahead_is_questioned_beside_the_date_and_still_saves(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    """2062 for 2026 saved without a word, and "All" then spanned four decades."""
    from PySide6.QtWidgets import QDateTimeEdit

    editor = _new_event_editor(qtbot, author, "Patient P1")
    notice = editor.findChild(QLabel, "editorDateNotice")
    assert not notice.isVisible()
    box = editor.findChild(QDateTimeEdit, "editorDate")
    box.setDateTime(box.dateTime().addYears(36))
    assert notice.isVisible() and "years from now: check the year" in notice.text()
    assert "check the year" in notice.accessibleName()
    assert "check the year" in box.accessibleDescription()  # heard on the field itself
    editor.title_edit.setText("Planned far ahead")
    _save(qtbot, author, editor)  # a question, not a refusal
    assert not editor.isVisible()


def test_edit_from_enter_conflict_shows_both_versions_and_keep_mine_saves_knowingly(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    event_id = practice.events["e3"]
    _open_patient(qtbot, author, "Patient P2")
    _select_event(qtbot, author, event_id)
    author.timeline.plot.setFocus()
    qtbot.keyClick(author.timeline.plot, Qt.Key.Key_Return)
    editor = _editor(qtbot, author)
    assert editor.event_id == event_id and editor.title_edit.text().startswith("Event e3")
    opened = editor.version
    # Meanwhile the same event is saved elsewhere (another workstation of the author).
    _owner(practice, "UPDATE timeline_events SET title = 'Saved elsewhere' WHERE id = :i", i=event_id)
    editor.title_edit.setText("My careful wording")
    qtbot.mouseClick(editor.findChild(QPushButton, "editorSave"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(author.edits, "conflict_dialog", None) is not None, timeout=30_000)
    dialog: ConflictDialog = author.edits.conflict_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=30_000)
    table = dialog.findChild(QTableWidget, "conflictTable")
    title_row = next(r for r in range(table.rowCount()) if table.item(r, 0).text().startswith("Title"))
    assert table.item(title_row, 0).text() == "Title (differs)"
    assert (table.item(title_row, 1).text(), table.item(title_row, 2).text()) == (
        "My careful wording",
        "Saved elsewhere",
    )
    assert _owner(practice, "SELECT title FROM timeline_events WHERE id = :i", i=event_id) == [
        ("Saved elsewhere",)
    ]  # nothing overwritten silently
    with qtbot.waitSignal(author.timelineShown, timeout=30_000):
        qtbot.mouseClick(dialog.findChild(QPushButton, "conflictKeepMine"), Qt.MouseButton.LeftButton)
    assert _owner(practice, "SELECT title, row_version FROM timeline_events WHERE id = :i", i=event_id) == [
        ("My careful wording", (opened or 0) + 2)
    ]
    # Ctrl+Z takes the saved edit back to what was stored before it ("Saved elsewhere").
    with qtbot.waitSignal(author.timelineShown, timeout=30_000):
        author.undo_action.trigger()
    assert _owner(practice, "SELECT title FROM timeline_events WHERE id = :i", i=event_id) == [
        ("Saved elsewhere",)
    ]


def _new_event(practice: Practice, title: str) -> uuid.UUID:
    """A shared note of the author's on Patient P2, for a test that changes it (the practice is shared)."""
    rows = _owner(
        practice,
        "INSERT INTO timeline_events (patient_id, therapist_id, event_type, event_date, title, description)"
        " VALUES (:p, :t, 'note', '2025-02-20 09:00', :title, 'details') RETURNING id",
        p=practice.patients["P2"],
        t=practice.users["author"],
        title=title,
    )
    return uuid.UUID(str(rows[0][0]))


def _conflict(
    qtbot: QtBot,
    author: MainWindow,
    practice: Practice,
    event_id: uuid.UUID,
    patient: str,
    theirs_sql: str,
    mine: Callable[[EventEditor], None],
) -> tuple[EventEditor, ConflictDialog]:
    """Open the event, let another workstation save ``theirs_sql`` meanwhile, make ``mine`` and save."""
    _open_patient(qtbot, author, patient)
    _select_event(qtbot, author, event_id)
    qtbot.mouseClick(author.timeline.detail.findChild(QPushButton, "detailEdit"), Qt.MouseButton.LeftButton)
    editor = _editor(qtbot, author)
    _owner(practice, theirs_sql, i=event_id)
    mine(editor)
    qtbot.mouseClick(editor.findChild(QPushButton, "editorSave"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(author.edits, "conflict_dialog", None) is not None, timeout=30_000)
    dialog: ConflictDialog = author.edits.conflict_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=30_000)
    return editor, dialog


def test_keep_mine_keeps_the_other_sides_changes_to_fields_left_alone(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    event_id = _new_event(practice, "Kept apart")
    # Another workstation corrects the title; this one writes only the description.
    _, dialog = _conflict(
        qtbot,
        author,
        practice,
        event_id,
        "Patient P2",
        "UPDATE timeline_events SET title = 'Corrected elsewhere' WHERE id = :i",
        lambda editor: editor.description.setPlainText("Session notes written here"),
    )
    table = dialog.findChild(QTableWidget, "conflictTable")
    rows = {
        table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text())
        for r in range(table.rowCount())
    }
    assert rows["Title"] == ("Corrected elsewhere", "Corrected elsewhere")  # not shown as this side's
    assert rows["Description (differs)"][0] == "Session notes written here"
    with qtbot.waitSignal(author.timelineShown, timeout=30_000):
        qtbot.mouseClick(dialog.findChild(QPushButton, "conflictKeepMine"), Qt.MouseButton.LeftButton)
    assert _owner(practice, "SELECT title, description FROM timeline_events WHERE id = :i", i=event_id) == [
        ("Corrected elsewhere", "Session notes written here")
    ]


def test_saving_with_nothing_changed_writes_nothing(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    event_id = practice.events["e3"]
    _open_patient(qtbot, author, "Patient P2")
    _select_event(qtbot, author, event_id)
    before = _owner(practice, "SELECT row_version FROM timeline_events WHERE id = :i", i=event_id)
    audited = _owner(practice, "SELECT count(*) FROM audit_log WHERE event_id = :i", i=event_id)
    qtbot.mouseClick(author.timeline.detail.findChild(QPushButton, "detailEdit"), Qt.MouseButton.LeftButton)
    editor = _editor(qtbot, author)
    editor.title_edit.setText(editor.title_edit.text() + " draft")
    editor.title_edit.setText(editor.title_edit.text().removesuffix(" draft"))  # typed, then taken back
    with qtbot.waitSignal(author.edits.message, timeout=30_000) as said:
        qtbot.mouseClick(editor.findChild(QPushButton, "editorSave"), Qt.MouseButton.LeftButton)
    assert said.args[0] == "Nothing changed, so nothing was saved."
    assert not editor.isVisible() and not author.edits.editors
    assert _owner(practice, "SELECT row_version FROM timeline_events WHERE id = :i", i=event_id) == before
    assert _owner(practice, "SELECT count(*) FROM audit_log WHERE event_id = :i", i=event_id) == audited
    assert author.edits.undo_stack.peek() is None


LONG_KEY = "k" * 60  # longer than the editor lets one type; an import may bring it


def test_an_edit_writes_only_the_fields_changed(qtbot: QtBot, author: MainWindow, practice: Practice) -> None:
    """Values stored by an import or an older client, which the form would read differently, stay as stored."""
    event_id = _new_event(practice, "Stored by an import")
    _owner(
        practice,
        "UPDATE timeline_events SET event_date = '2025-03-04 10:15:42.123456', title = 'Intake  ',"
        f" event_subtype = ' individual', metadata = '{{\"{LONG_KEY}\": 1}}'::jsonb WHERE id = :i",
        i=event_id,
    )
    _open_patient(qtbot, author, "Patient P2")
    _select_event(qtbot, author, event_id)
    qtbot.mouseClick(author.timeline.detail.findChild(QPushButton, "detailEdit"), Qt.MouseButton.LeftButton)
    editor = _editor(qtbot, author)
    editor.description.setPlainText("Only this changed")
    _save(qtbot, author, editor)
    assert _owner(
        practice,
        "SELECT event_date, title, event_subtype, metadata, description FROM timeline_events WHERE id = :i",
        i=event_id,
    ) == [
        (
            datetime(2025, 3, 4, 10, 15, 42, 123456),
            "Intake  ",
            " individual",
            {LONG_KEY: 1},
            "Only this changed",
        )
    ]


def test_use_theirs_loads_the_saved_version_into_the_editor(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    event_id = practice.events["e5"]
    editor, dialog = _conflict(
        qtbot,
        author,
        practice,
        event_id,
        "Patient PD",
        "UPDATE timeline_events SET title = 'Their newer title' WHERE id = :i",
        lambda editor: editor.title_edit.setText("Mine"),
    )
    qtbot.mouseClick(dialog.findChild(QPushButton, "conflictUseTheirs"), Qt.MouseButton.LeftButton)
    assert editor.title_edit.text() == "Their newer title"
    assert _owner(practice, "SELECT title FROM timeline_events WHERE id = :i", i=event_id) == [
        ("Their newer title",)
    ]


def _listed_count(window: MainWindow, patient_id: uuid.UUID) -> int:
    """The event count the patient list shows for a patient (it stayed as loaded at sign-in)."""
    row = window.patients.model.row_of(patient_id)
    assert row is not None
    patient = window.patients.model.patients[row]
    assert f"{patient.event_count} events" in window.patients.model.index(row, 0).data(
        Qt.ItemDataRole.ToolTipRole
    )
    return patient.event_count


def test_delete_asks_first_and_ctrl_z_brings_the_event_back(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    event_id = practice.events["e1"]
    _open_patient(qtbot, author, "Patient P1")
    count = len(author.timeline.columns)
    _select_event(qtbot, author, event_id)
    author.delete_action.trigger()
    box = _message_box(qtbot, "deleteConfirm")
    assert unnamed(box) == []
    assert box.textFormat() == Qt.TextFormat.PlainText  # a title with "<b>" in it is shown as typed
    qtbot.mouseClick(box.findChild(QPushButton, "deleteCancelButton"), Qt.MouseButton.LeftButton)
    assert _owner(practice, "SELECT deleted_at IS NULL FROM timeline_events WHERE id = :i", i=event_id) == [
        (True,)
    ]
    columns = author.timeline.columns
    shown = [columns.event_id(r) for r in range(len(columns)) if author.timeline.mask[r]]  # in time order
    after = shown[shown.index(event_id) + 1]
    author.delete_action.trigger()
    box = _message_box(qtbot, "deleteConfirm")
    with qtbot.waitSignal(author.timelineShown, timeout=30_000):
        qtbot.mouseClick(box.findChild(QPushButton, "deleteConfirmButton"), Qt.MouseButton.LeftButton)
    assert len(author.timeline.columns) == count - 1
    assert author.timeline.selected_event_id() == after  # the place is kept: → goes on from here
    assert _listed_count(author, practice.patients["P1"]) == count - 1  # the list follows the timeline
    assert _owner(
        practice, "SELECT deleted_at IS NOT NULL FROM timeline_events WHERE id = :i", i=event_id
    ) == [(True,)]
    with qtbot.waitSignal(author.timelineShown, timeout=30_000):
        author.undo_action.trigger()
    assert len(author.timeline.columns) == count
    assert _listed_count(author, practice.patients["P1"]) == count
    assert author.timeline.selected_event_id() == event_id
    actions = _owner(practice, "SELECT action FROM audit_log WHERE event_id = :i ORDER BY seq", i=event_id)
    assert [a for (a,) in actions][-2:] == ["event.delete", "event.update"]


def test_the_edit_menu_offers_what_would_work_now(
    qtbot: QtBot, author: MainWindow, practice: Practice, home: Path
) -> None:
    """All four were on whenever someone was signed in: New for an administrator, Delete with nothing selected."""
    actions = (author.new_event_action, author.delete_action, author.history_action, author.undo_action)
    assert [a.isEnabled() for a in actions] == [False, False, False, False]  # no patient yet
    _open_patient(qtbot, author, "Patient P1")
    assert [a.isEnabled() for a in actions] == [True, False, False, False]  # nothing selected, nothing done
    _select_event(qtbot, author, practice.events["e1"])
    assert [a.isEnabled() for a in actions] == [True, True, True, False]
    admin = _window(qtbot, practice, home, "admin")
    _open_patient(qtbot, admin, "Patient P1")
    assert not admin.new_event_action.isEnabled()  # an administrator adds no events
    _guard_active.clear()


def test_undo_on_another_patient_leaves_the_one_left_alone(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    """Ctrl+Z on the next patient used to undo, out of sight, the change made on the one just left."""
    event_id = practice.events["e1"]
    _open_patient(qtbot, author, "Patient P1")
    count = len(author.timeline.columns)
    _select_event(qtbot, author, event_id)
    author.delete_action.trigger()
    box = _message_box(qtbot, "deleteConfirm")
    with qtbot.waitSignal(author.timelineShown, timeout=30_000):
        qtbot.mouseClick(box.findChild(QPushButton, "deleteConfirmButton"), Qt.MouseButton.LeftButton)
    assert author.undo_action.isEnabled() and "delete" in author.undo_action.text()
    _open_patient(qtbot, author, "Patient P2")
    assert "another patient" in author.undo_action.text()  # the menu says where the change is ...
    with qtbot.waitSignal(author.edits.message, timeout=10_000) as said:
        _press_shortcut(author.undo_action)  # ... and Ctrl+Z says so too, and takes nothing back
    assert "another patient" in said.args[0]
    deleted = "SELECT deleted_at IS NOT NULL FROM timeline_events WHERE id = :i"
    assert _owner(practice, deleted, i=event_id) == [(True,)]  # still deleted: nothing happened
    _open_patient(qtbot, author, "Patient P1")
    with qtbot.waitSignal(author.timelineShown, timeout=30_000):
        author.undo_action.trigger()  # on its own timeline the undo is there to take
    assert len(author.timeline.columns) == count
    assert _owner(practice, deleted, i=event_id) == [(False,)]


def test_history_lists_every_version(qtbot: QtBot, author: MainWindow, practice: Practice) -> None:
    event_id = practice.events["e4"]
    _owner(practice, "UPDATE timeline_events SET title = 'Second wording' WHERE id = :i", i=event_id)
    _open_patient(qtbot, author, "Patient P2")
    _select_event(qtbot, author, event_id)
    with qtbot.waitSignal(author.edits.historyShown, timeout=30_000) as shown:
        author.history_action.trigger()
    dialog: HistoryDialog = shown.args[0]
    assert unnamed(dialog) == []
    table = dialog.findChild(QTableWidget, "historyTable")
    titles = [table.item(r, 3).text() for r in range(table.rowCount())]
    assert titles[:2] == ["Second wording", "Event e4"]
    assert table.item(0, 0).text().endswith("(current)")
    # Said as the rest of the app says it, and what changed is named (raw "note", "normal",
    # "Private: True" and a UTC ISO stamp, and no word of what differed).
    text = dialog.findChild(QPlainTextEdit, "historyDetail").toPlainText()
    assert "Private: yes" in text and "Type: Note" in text and "Importance: Normal" in text
    assert text.startswith("Changed: Title") and "Title: Second wording  (changed)" in text
    stored = _owner(practice, "SELECT event_date FROM timeline_events WHERE id = :i", i=event_id)[0][0]
    assert f"When: {format_when(stored)}" in text
    assert dialog.versions[0].changed == ("Title",)


def test_a_crash_leaves_an_encrypted_draft_that_is_offered_after_signing_in_again(
    qtbot: QtBot, practice: Practice, home: Path
) -> None:
    first = _window(qtbot, practice, home, "author")
    _open_patient(qtbot, first, "Patient P1")
    first.new_event_action.trigger()
    editor = _editor(qtbot, first)
    editor.title_edit.setText("Half-written risk note")
    folder = home / DRAFTS_DIR / practice.login("author")
    qtbot.waitUntil(lambda: any(folder.glob("*.draft")), timeout=30_000)
    assert b"risk note" not in next(folder.glob("*.draft")).read_bytes()
    # "Crash": the window goes away without the editor being saved or cancelled.
    first.edits.editors.clear()
    _guard_active.clear()
    second = _window(qtbot, practice, home, "author")
    box = _message_box(qtbot, "draftRecovery")
    assert "1 unsaved event draft from" in box.text()
    qtbot.mouseClick(box.findChild(QPushButton, "draftRestore"), Qt.MouseButton.LeftButton)
    restored = _editor(qtbot, second)
    assert restored.title_edit.text() == "Half-written risk note"
    assert restored.draft_id == editor.draft_id
    # Opened at once, before the patient list came, it named no patient; it does once the list is in.
    qtbot.waitUntil(lambda: restored.windowTitle() == "New event for Patient P1", timeout=30_000)
    # Cancelling recovered work asks first; "Keep editing" keeps it, "Discard" lets it go.
    qtbot.mouseClick(restored.findChild(QPushButton, "editorCancel"), Qt.MouseButton.LeftButton)
    box = _message_box(qtbot, "discardConfirm")
    qtbot.mouseClick(box.findChild(QPushButton, "discardKeepEditing"), Qt.MouseButton.LeftButton)
    assert restored.isVisible() and any(folder.glob("*.draft"))
    qtbot.mouseClick(restored.findChild(QPushButton, "editorCancel"), Qt.MouseButton.LeftButton)
    box = _message_box(qtbot, "discardConfirm")
    qtbot.mouseClick(box.findChild(QPushButton, "discardConfirmButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not any(folder.glob("*.draft")), timeout=30_000)  # discarded on purpose
    assert not restored.isVisible()
    _guard_active.clear()


def test_the_idle_lock_hides_an_open_editor_and_keeps_its_text(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    editor = _new_event_editor(qtbot, author, "Patient P1")
    editor.title_edit.setText("Unsaved words")
    editor.activateWindow()  # Ctrl+L from the editor's own window (it used to reach only the main one)
    qtbot.waitUntil(editor.isActiveWindow, timeout=10_000)
    with qtbot.waitSignal(author.locked, timeout=10_000):
        qtbot.keyClick(editor.title_edit, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not editor.isVisible()
    author.lock_screen.findChild(QLineEdit, "unlockPassword").setText(practice.passwords["author"])
    with qtbot.waitSignal(author.unlocked, timeout=30_000):
        qtbot.mouseClick(author.lock_screen.findChild(QPushButton, "unlockButton"), Qt.MouseButton.LeftButton)
    assert editor.isVisible() and editor.title_edit.text() == "Unsaved words"


def _press_shortcut(action: QAction) -> None:
    """What Qt's shortcut map does when an action's keys are pressed: a shortcut event to the action."""
    QApplication.sendEvent(action, QShortcutEvent(action.shortcut(), 0))


def test_while_locked_no_shortcut_or_menu_reaches_an_action(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    """Ctrl+N opened an editor over the lock screen, and the menus exported the timeline, all while locked."""
    _open_patient(qtbot, author, "Patient P1")
    with qtbot.waitSignal(author.locked, timeout=10_000):
        author.lock_action.trigger()
    _press_shortcut(author.new_event_action)
    assert not author.edits.editors  # no editor opened
    assert not author.menuBar().isEnabled()
    password = author.lock_screen.findChild(QLineEdit, "unlockPassword")
    qtbot.keyClicks(password, practice.passwords["author"])  # typing in the lock screen still works
    with qtbot.waitSignal(author.unlocked, timeout=30_000):
        qtbot.keyClick(password, Qt.Key.Key_Return)
    assert author.menuBar().isEnabled()
    _press_shortcut(author.new_event_action)
    editor = _editor(qtbot, author)  # and after unlocking Ctrl+N works again
    qtbot.mouseClick(editor.findChild(QPushButton, "editorCancel"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=10_000)


def test_signing_out_forgets_the_patient_its_text_and_the_login(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    """The next clinician saw the last one's patient, private text included, read under the last login."""
    _open_patient(qtbot, author, "Patient P1")
    _select_event(qtbot, author, practice.events["e2"])  # the author's private event
    qtbot.waitUntil(lambda: author.timeline.detail.detail is not None, timeout=30_000)
    author.sign_out_action.trigger()
    timeline = author.timeline
    assert timeline.patient is None and timeline.engine is None and not len(timeline.columns)
    assert not timeline._details and timeline.detail.detail is None
    assert timeline.header.text() == "" and timeline.message.text() == "Signed out."
    timeline.filters.type_boxes[EventType.NOTE].setChecked(False)  # a filter change brought it all back
    timeline.filters.type_boxes[EventType.NOTE].setChecked(True)
    assert timeline.stack.currentIndex() == timeline.MESSAGE_PAGE and not len(timeline.index)
    qtbot.waitUntil(
        lambda: author.sign_in_dialog is not None and author.sign_in_dialog.isVisible(), timeout=30_000
    )


def test_the_idle_lock_hides_open_dialogs_too_and_brings_them_back(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    """A version history or a delete question names the event: it must not stay on screen."""
    event_id = practice.events["e1"]
    _open_patient(qtbot, author, "Patient P1")
    _select_event(qtbot, author, event_id)
    with qtbot.waitSignal(author.edits.historyShown, timeout=30_000) as shown:
        author.history_action.trigger()
    history: HistoryDialog = shown.args[0]
    author.delete_action.trigger()
    question = _message_box(qtbot, "deleteConfirm")
    assert history.isVisible() and question.isVisible()
    with qtbot.waitSignal(author.locked, timeout=10_000):
        author.lock_action.trigger()
    assert not history.isVisible() and not question.isVisible()
    author.lock_screen.findChild(QLineEdit, "unlockPassword").setText(practice.passwords["author"])
    with qtbot.waitSignal(author.unlocked, timeout=30_000):
        qtbot.mouseClick(author.lock_screen.findChild(QPushButton, "unlockButton"), Qt.MouseButton.LeftButton)
    assert history.isVisible() and question.isVisible()
    qtbot.mouseClick(question.findChild(QPushButton, "deleteCancelButton"), Qt.MouseButton.LeftButton)
    assert _owner(practice, "SELECT deleted_at IS NULL FROM timeline_events WHERE id = :i", i=event_id) == [
        (True,)
    ]


def test_the_lock_screen_reads_as_text_and_says_why_it_locked(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    """It showed its HTML source ("<h2>Caseline is locked</h2>…"), and claimed idleness after Ctrl+L."""
    _open_patient(qtbot, author, "Patient P1")
    with qtbot.waitSignal(author.locked, timeout=10_000):
        author.lock_action.trigger()
    message = author.lock_screen.findChild(QLabel, "lockMessage").text()
    assert "<" not in message and "without use" not in message and "enter your password" in message
    assert author.lock_screen.findChild(QLabel, "lockHeading").text() == "Caseline is locked"
    author.lock_screen.findChild(QLineEdit, "unlockPassword").setText(practice.passwords["author"])
    with qtbot.waitSignal(author.unlocked, timeout=30_000):
        qtbot.mouseClick(author.lock_screen.findChild(QPushButton, "unlockButton"), Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(author.locked, timeout=10_000):
        author.idle.idle.emit()
    assert "Locked after a while without use" in author.lock_screen.findChild(QLabel, "lockMessage").text()
    _unlock(qtbot, author, practice)
    assert author.lock_screen.findChild(QLineEdit, "unlockPassword").text() == ""  # not kept, hidden


def test_a_colleague_can_sign_out_a_locked_session_and_nothing_of_it_comes_back(
    qtbot: QtBot, author: MainWindow, practice: Practice, home: Path
) -> None:
    """Locked, the only way on was Unlock: the next clinician could only close the window."""
    folder = home / DRAFTS_DIR / practice.login("author")
    _open_patient(qtbot, author, "Patient P1")
    _select_event(qtbot, author, practice.events["e1"])
    with qtbot.waitSignal(author.edits.historyShown, timeout=30_000) as shown:
        author.history_action.trigger()
    history: HistoryDialog = shown.args[0]
    author.new_event_action.trigger()
    editor = _editor(qtbot, author)
    editor.title_edit.setText("Words of the locked session")
    with qtbot.waitSignal(author.locked, timeout=10_000):
        author.lock_action.trigger()
    first_dialog = author.sign_in_dialog
    qtbot.mouseClick(
        author.lock_screen.findChild(QPushButton, "lockSignOutButton"), Qt.MouseButton.LeftButton
    )
    assert author.pages.currentWidget() is author.content and author.identity is None
    assert author.edits.editors == [] and not editor.isVisible() and not history.isVisible()
    qtbot.waitUntil(lambda: any(folder.glob("*.draft")), timeout=30_000)  # the typing is kept, sealed
    qtbot.waitUntil(
        lambda: author.sign_in_dialog is not None and author.sign_in_dialog is not first_dialog,
        timeout=30_000,
    )
    assert author.menuBar().isEnabled() and author.shield.hidden == []
    assert author.lock_screen.findChild(QLineEdit, "unlockPassword").text() == ""
    import shiboken6

    qtbot.waitUntil(lambda: not shiboken6.isValid(history), timeout=10_000)  # gone, not hidden


def test_a_supervisor_states_a_purpose_to_read_a_private_event_and_adds_a_review_note(
    qtbot: QtBot, practice: Practice, home: Path
) -> None:
    window = _window(qtbot, practice, home, "supervisor")
    event_id = practice.events["e2"]  # the author's private event on P1
    _open_patient(qtbot, window, "Patient P1")
    columns = window.timeline.columns
    row = next(r for r in range(len(columns)) if columns.event_id(r) == event_id)
    window.timeline.select_row(row)
    pane = window.timeline.detail
    read = pane.findChild(QPushButton, "detailReadPrivate")
    qtbot.waitUntil(read.isVisible, timeout=30_000)
    assert pane.title.text() == "Private event"
    qtbot.mouseClick(read, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(window.edits, "purpose_dialog", None) is not None, timeout=30_000)
    dialog = window.edits.purpose_dialog
    ok = dialog.findChild(QPushButton, "purposeOk")
    assert not ok.isEnabled()  # no reason, no reading
    dialog.findChild(QComboBox, "purposeText").setCurrentText("Weekly supervision")
    with qtbot.waitSignal(window.timeline.detailShown, timeout=30_000):
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert pane.title.text() == "Event e2"
    assert not pane.findChild(QPushButton, "detailEdit").isVisible()  # supervisors never edit
    annotate = pane.findChild(QPushButton, "detailAnnotate")
    assert annotate.isVisible()
    qtbot.mouseClick(annotate, Qt.MouseButton.LeftButton)
    note = window.edits.annotation_dialog
    note.findChild(QPlainTextEdit, "annotationText").setPlainText("Consider a safety plan review.")
    with qtbot.waitSignal(window.edits.annotated, timeout=30_000):
        qtbot.mouseClick(note.findChild(QPushButton, "annotationSave"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "safety plan" in pane.notes.text(), timeout=30_000)
    audited = _owner(
        practice,
        "SELECT action, detail FROM audit_log WHERE event_id = :i AND actor = :a ORDER BY seq",
        i=event_id,
        a=practice.login("supervisor"),
    )
    assert audited == [
        ("event.read_private", {"purpose": "Weekly supervision"}),
        ("annotation.create", None),
    ]
    _guard_active.clear()


def test_a_supervisor_hovering_a_private_event_is_told_how_to_read_it(
    qtbot: QtBot, practice: Practice, home: Path
) -> None:
    """The hover tooltip used to wait on "…" for good: the text needs a stated purpose, which a hover is not."""
    window = _window(qtbot, practice, home, "supervisor")
    event_id = practice.events["e2"]  # the author's private event on P1
    _open_patient(qtbot, window, "Patient P1")
    timeline = window.timeline
    row = next(r for r in range(len(timeline.columns)) if timeline.columns.event_id(r) == event_id)
    timeline._hover_row = row
    timeline.show_tooltip(row)
    qtbot.waitUntil(lambda: "state why" in timeline.plot.toolTip(), timeout=30_000)
    assert "…" not in timeline.plot.toolTip() and "private" in timeline.plot.toolTip()
    timeline.show_tooltip(row)  # hovered again: known, so nothing is asked of the database
    assert not timeline.runner.running("detail-hover")
    _guard_active.clear()


def test_new_event_here_from_the_timeline_opens_the_editor_at_that_time_and_lane(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    _open_patient(qtbot, author, "Patient P2")
    moment_ms = 1_736_330_400_000.0  # 2025-01-08 10:00 UTC
    menu = author.timeline.context_menu(moment_ms, EventType.MEDICATION)
    action = next(a for a in menu.actions() if a.objectName() == "newEventHereAction")
    assert action.text() == "New medication here…"
    action.trigger()
    editor = _editor(qtbot, author)
    values = editor.values()
    assert values.event_type is EventType.MEDICATION
    assert values.event_date == datetime(2025, 1, 8, 10, tzinfo=UTC)
    assert values.patient_id == practice.patients["P2"] and values.therapist_id == practice.users["author"]


def test_an_export_is_audited_with_the_patient(
    qtbot: QtBot, author: MainWindow, practice: Practice, tmp_path: Path
) -> None:
    _open_patient(qtbot, author, "Patient P1")
    target = tmp_path / "p1.png"
    with qtbot.waitSignal(author.exported, timeout=30_000):
        author.export_view(target)
    assert target.exists()
    rows = _owner(
        practice,
        "SELECT actor, detail FROM audit_log WHERE action = 'export' AND patient_id = :p",
        p=practice.patients["P1"],
    )
    assert (practice.login("author"), {"format": "png"}) in [tuple(r) for r in rows]


def test_an_administrator_imports_fhir_with_progress_and_a_summary(
    qtbot: QtBot, practice: Practice, home: Path, tmp_path: Path
) -> None:
    window = _window(qtbot, practice, home, "admin")
    assert window.may_import()
    _open_patient(qtbot, window, "Patient P1")
    pages: list[str] = []
    window.timeline.stack.currentChanged.connect(lambda _i: pages.append(window.timeline.message.text()))
    bad = tmp_path / "broken.json"
    bad.write_text("{not json", encoding="utf-8")
    summaries: list[object] = []
    window.fhir.imported.connect(summaries.append)
    with qtbot.waitSignal(window.fhir.imported, timeout=60_000) as imported:
        window.import_fhir([TINY, bad])
        assert not window.import_action.isEnabled()  # one import at a time ...
        window.import_fhir([TINY])  # ... a second one meanwhile is refused, not run over the first
    assert window.import_action.isEnabled() and len(summaries) == 1
    done, failed = imported.args[0]
    assert [s.path for s in done] == [TINY] and [e.path for e in failed] == [bad]
    box = window.fhir.summary_box
    assert box is not None and box.isVisible()
    assert box.text() == f"1 of 2 files imported, {done[0].created} new events."
    assert "broken.json: not JSON" in box.detailedText()
    qtbot.waitUntil(lambda: len(window.patients.model.patients) == 5, timeout=30_000)  # 4 + the imported one
    # The timeline on screen stays (it gave way to "Choose a patient on the left") and is read again.
    assert not any("Choose a patient" in text for text in pages)
    assert window.timeline.stack.currentIndex() == window.timeline.PLOT_PAGE
    assert window.timeline.patient is not None and window.timeline.patient.display_name == "Patient P1"
    _guard_active.clear()


def test_a_therapist_may_not_import_but_exports_fhir_as_they_see_it(
    qtbot: QtBot, author: MainWindow, practice: Practice, tmp_path: Path
) -> None:
    assert not author.may_import()
    author.import_action.trigger()
    assert "administrator's task" in author.statusBar().currentMessage()
    _open_patient(qtbot, author, "Patient P1")
    target = tmp_path / "p1.json"
    with qtbot.waitSignal(author.fhir.fhirExported, timeout=30_000):
        author.export_fhir(target)
    bundle = json.loads(target.read_text(encoding="utf-8"))
    titles = [
        json.loads(e["resource"]["extension"][0]["valueString"])["title"]
        for e in bundle["entry"]
        if "extension" in e["resource"]  # events; the Patient and the authors' Practitioners have none
    ]
    assert "Event e8" not in titles and "Event e2" in titles  # the colleague's private note never leaves


def _mnemonic(text: str) -> str | None:
    at = text.replace("&&", "").find("&")
    return text.replace("&&", "")[at + 1].lower() if at >= 0 else None


def test_alt_letters_are_unique_in_each_menu_and_across_the_window(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    _open_patient(qtbot, author, "Patient P1")
    bar = [_mnemonic(action.text()) for action in author.menuBar().actions()]
    for action in author.menuBar().actions():
        letters = [_mnemonic(item.text()) for item in action.menu().actions() if not item.isSeparator()]
        letters = [letter for letter in letters if letter]
        assert len(letters) == len(set(letters)), action.text()
    buttons = [_mnemonic(b.text()) for b in author.findChildren(QPushButton) if b.window() is author]
    window_wide = [letter for letter in bar + buttons if letter]
    assert len(window_wide) == len(set(window_wide)), window_wide


def test_tabbing_into_the_patient_list_opens_nobody_and_zoom_waits_for_a_patient(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    assert not author.timeline.findChild(QPushButton, "zoomIn").isEnabled()
    search = author.patients.search
    author.activateWindow()
    search.setFocus()
    qtbot.waitUntil(search.hasFocus, timeout=10_000)
    qtbot.keyClick(search, Qt.Key.Key_Tab)
    qtbot.waitUntil(author.patients.list.hasFocus, timeout=10_000)
    QApplication.processEvents()
    assert author.timeline.patient is None
    qtbot.keyClick(author.patients.list, Qt.Key.Key_Return)  # choosing the row Tab landed on opens it
    qtbot.waitUntil(lambda: author.timeline.patient is not None, timeout=30_000)
    assert author.timeline.patient.display_name == author.patients.model.patients[0].display_name
    qtbot.waitUntil(lambda: author.timeline.findChild(QPushButton, "zoomIn").isEnabled(), timeout=30_000)


def test_the_patient_list_counts_what_a_reopened_timeline_shows(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    _open_patient(qtbot, author, "Patient P1")
    before = _listed_count(author, practice.patients["P1"])
    assert before == len(author.timeline.columns)
    # The colleague makes their shared note private: the author may no longer see it, nor count it.
    shared = practice.events["e7"]
    _owner(practice, "UPDATE timeline_events SET is_private = true WHERE id = :i", i=shared)
    try:
        _open_patient(qtbot, author, "Patient P2")
        _open_patient(qtbot, author, "Patient P1")
        assert len(author.timeline.columns) == before - 1
        assert _listed_count(author, practice.patients["P1"]) == before - 1
    finally:
        _owner(practice, "UPDATE timeline_events SET is_private = false WHERE id = :i", i=shared)


def _unlock(qtbot: QtBot, window: MainWindow, practice: Practice) -> None:
    window.lock_screen.findChild(QLineEdit, "unlockPassword").setText(practice.passwords["author"])
    with qtbot.waitSignal(window.unlocked, timeout=30_000):
        qtbot.mouseClick(window.lock_screen.findChild(QPushButton, "unlockButton"), Qt.MouseButton.LeftButton)


def test_ctrl_l_locks_under_a_window_modal_dialog(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    _open_patient(qtbot, author, "Patient P2")
    _select_event(qtbot, author, practice.events["e3"])
    with qtbot.waitSignal(author.edits.historyShown, timeout=30_000) as shown:
        author.history_action.trigger()
    dialog: HistoryDialog = shown.args[0]
    qtbot.waitUntil(dialog.isVisible, timeout=10_000)
    with qtbot.waitSignal(author.locked, timeout=10_000):
        qtbot.keyClick(
            dialog.findChild(QTableWidget, "historyTable"), Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier
        )
    assert not dialog.isVisible()
    _unlock(qtbot, author, practice)
    assert dialog.isVisible()


def test_what_a_save_under_way_finds_after_the_lock_waits_behind_it(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    saved_id, conflicted_id = _new_event(practice, "Saved while locked"), _new_event(practice, "Conflict")
    _open_patient(qtbot, author, "Patient P2")
    _select_event(qtbot, author, saved_id)
    qtbot.mouseClick(author.timeline.detail.findChild(QPushButton, "detailEdit"), Qt.MouseButton.LeftButton)
    editor = _editor(qtbot, author)
    editor.title_edit.setText("Saved while locked, done")
    with qtbot.waitSignal(author.timelineShown, timeout=30_000):
        qtbot.mouseClick(editor.findChild(QPushButton, "editorSave"), Qt.MouseButton.LeftButton)
        author.lock_action.trigger()  # locked before the save's answer came back
    # "Saved for … (edit "Saved while locked, done")" is not shown below the lock screen.
    qtbot.waitUntil(lambda: "Saved" in author.statusBar().currentMessage(), timeout=10_000)
    assert not author.statusBar().isVisible()
    assert not any(
        "Saved while locked" in label.text() for label in author.findChildren(QLabel) if label.isVisible()
    )
    _unlock(qtbot, author, practice)
    assert author.statusBar().isVisible()
    assert not editor.isVisible()  # saved and closed: not brought back "Saving…"
    # A conflict found by a save under way opens its dialog (both versions' text) behind the lock.
    _select_event(qtbot, author, conflicted_id)
    qtbot.mouseClick(author.timeline.detail.findChild(QPushButton, "detailEdit"), Qt.MouseButton.LeftButton)
    editor = _editor(qtbot, author)
    _owner(practice, "UPDATE timeline_events SET title = 'Saved elsewhere' WHERE id = :i", i=conflicted_id)
    editor.title_edit.setText("Mine")
    qtbot.mouseClick(editor.findChild(QPushButton, "editorSave"), Qt.MouseButton.LeftButton)
    author.lock_action.trigger()
    qtbot.waitUntil(lambda: getattr(author.edits, "conflict_dialog", None) is not None, timeout=30_000)
    dialog = author.edits.conflict_dialog
    qtbot.waitUntil(lambda: not dialog.isVisible() and dialog in author.shield.hidden, timeout=10_000)
    _unlock(qtbot, author, practice)
    assert dialog.isVisible()


def test_opening_an_event_without_a_connection_says_so_and_keeps_the_timeline(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    """Enter with the database gone replaced the timeline with an error page and no way back."""
    _open_patient(qtbot, author, "Patient P1")
    _select_event(qtbot, author, practice.events["e1"])
    gone = sa.create_engine("postgresql+psycopg://nobody@/caseline?host=/nonexistent-caseline-socket")
    author.edits.engine = gone
    author.timeline._details.clear()
    qtbot.keyClick(author.timeline.plot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Not opened" in author.statusBar().currentMessage(), timeout=10_000)
    assert "connection failed" in author.statusBar().currentMessage()
    assert author.timeline.stack.currentIndex() == author.timeline.PLOT_PAGE
    gone.dispose()


def test_signing_out_or_quitting_right_after_typing_keeps_the_draft(
    qtbot: QtBot, practice: Practice, home: Path
) -> None:
    """Sign-out within the autosave's pause lost the typing; Quit left the editor open and the app
    running, and a save from it went in after the sign-out was logged."""
    folder = home / DRAFTS_DIR / practice.login("author")
    first = _window(qtbot, practice, home, "author")
    _open_patient(qtbot, first, "Patient P1")
    first.new_event_action.trigger()
    editor = _editor(qtbot, first)
    editor.title_edit.setText("Typed just before leaving")
    first.sign_out_action.trigger()  # at once: the autosave has not run
    assert not editor.isVisible() and first.edits.editors == []
    qtbot.waitUntil(lambda: any(folder.glob("*.draft")), timeout=30_000)
    _guard_active.clear()
    second = _window(qtbot, practice, home, "author")
    box = _message_box(qtbot, "draftRecovery")
    qtbot.mouseClick(box.findChild(QPushButton, "draftLater"), Qt.MouseButton.LeftButton)
    _open_patient(qtbot, second, "Patient P1")
    second.new_event_action.trigger()
    other = _editor(qtbot, second)
    other.title_edit.setText("Typed just before quitting")
    drafts = set(folder.glob("*.draft"))
    second.close()
    assert not other.isVisible() and second.edits.editors == []  # nothing keeps the app running
    qtbot.waitUntil(lambda: len(set(folder.glob("*.draft")) - drafts) == 1, timeout=30_000)
    _guard_active.clear()


def test_a_related_type_asks_for_its_id_at_once(qtbot: QtBot, author: MainWindow) -> None:
    editor = _new_event_editor(qtbot, author, "Patient P1")
    editor.related_type.setText("treatment_plan")
    assert "is needed when a related type is given" in editor.error_text("related_entity_id")


def test_the_qa_login_opens_an_event_without_asking_for_review_notes(
    qtbot: QtBot, practice: Practice, home: Path
) -> None:
    """The qa login has no grant on review notes: each event it selected raised "permission denied" as a bug."""
    window = _window(qtbot, practice, home, "qa")
    try:
        asked: list[uuid.UUID] = []
        load_notes = window.edits.load_notes
        window.edits.load_notes = lambda detail, then: (asked.append(detail.id), load_notes(detail, then))[0]
        _open_patient(qtbot, window, "Patient PD")
        _select_event(qtbot, window, practice.events["e5"])
        assert window.timeline.detail.detail is not None
        assert window.timeline.detail.detail.id == practice.events["e5"]
        assert asked == []
    finally:
        _guard_active.clear()


def test_the_care_team_still_gets_the_review_notes(
    qtbot: QtBot, author: MainWindow, practice: Practice
) -> None:
    asked: list[uuid.UUID] = []
    load_notes = author.edits.load_notes
    author.edits.load_notes = lambda detail, then: (asked.append(detail.id), load_notes(detail, then))[0]
    _open_patient(qtbot, author, "Patient PD")
    _select_event(qtbot, author, practice.events["e5"])
    assert asked == [practice.events["e5"]]
