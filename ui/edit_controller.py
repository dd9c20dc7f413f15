"""Turns editor clicks into background edits: new, edit, delete, undo, history, review notes, drafts.

The controller owns the open editors, the undo stack and the encrypted draft
store of the signed-in clinician.  Every database call and every draft file
write runs on the :class:`OperationRunner`; the GUI thread only opens dialogs
and shows results.  "May I?" is asked of ``viewer/services/access.py`` to
offer only the buttons that will work; PostgreSQL still decides.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from ui.conflict_dialog import ConflictChoice, ConflictDialog
from ui.event_editor import EventEditor
from ui.history_dialog import HistoryDialog
from ui.operations import CancelToken, OperationRunner
from ui.review_dialogs import AnnotationDialog, PurposeDialog
from viewer.domain import EventDetail, EventDraft, EventType, ValidationError
from viewer.event_form import FormValues
from viewer.services.access import Action, Actor, EventFacts, may, may_create_for
from viewer.services.annotations import add_annotation, list_annotations
from viewer.services.audit import AuditKey, append
from viewer.services.drafts import Draft, DraftStore
from viewer.services.errors import (
    EditConflict,
    EventNotFound,
    PurposeRequired,
    ServiceError,
    describe_read_failure,
)
from viewer.services.event_commands import current_version, delete_event, save_edit, save_new
from viewer.services.event_history import VersionRow, load_versions
from viewer.services.events import EventService
from viewer.services.timeline_query import fetch_event
from viewer.undo import SavedChange, UndoStack, undo_change
from viewer.wording import count_of

log = logging.getLogger(__name__)

DRAFT_DELAY_MS = 1_500  # autosave a draft this long after the last keystroke


def _work(fn: Callable[[], Any]) -> Callable[[CancelToken, Callable[[object], None]], Any]:
    return lambda _token, _report: fn()


class EditController(QObject):
    """Editing for one signed-in session.

    Signals:
        changed(object, object): a saved change reached the database: patient id, event id to select.
        editorOpened(object): an ``EventEditor`` was shown.
        message(str): something to tell the user in the status bar.
        draftsOffered(int): drafts from an earlier session were found and offered.
        historyShown(object): a ``HistoryDialog`` opened.
        annotated(object): a review note was saved (the event id).
    """

    changed = Signal(object, object)
    editorOpened = Signal(object)
    message = Signal(str)
    draftsOffered = Signal(int)
    historyShown = Signal(object)
    annotated = Signal(object)

    def __init__(self, parent_widget: QWidget, runner: OperationRunner, home: Path) -> None:
        super().__init__(parent_widget)
        self._parent = parent_widget
        self._runner = runner
        self._home = home
        self.engine: sa.Engine | None = None
        self.actor: Actor | None = None
        self.drafts: DraftStore | None = None
        self.undo_stack = UndoStack()
        self.editors: list[EventEditor] = []
        self.saving: set[EventEditor] = set()  # editors whose save is on its way to the database
        self._hidden_for_lock: list[EventEditor] = []
        self.on_failure: Callable[[BaseException], None] = self._raise
        self.remember: Callable[[EventDetail], None] = lambda _detail: None  # the timeline's cache
        # The name of a patient by id (the window's patient list): an editor says whose event it is.
        self.patient_name: Callable[[uuid.UUID], str | None] = lambda _patient_id: None

    @staticmethod
    def _raise(error: BaseException) -> None:
        raise error

    # -- session -----------------------------------------------------------------------
    def start_session(self, engine: sa.Engine, actor: Actor, drafts: DraftStore | None) -> None:
        self.engine, self.actor, self.drafts = engine, actor, drafts
        self.undo_stack.clear()
        if drafts is not None:
            self._run(drafts.load_all, self._offer_drafts)

    def end_session(self) -> None:
        """Sign-out or quit: editors close, their encrypted drafts stay on disk for next time.

        The last keystrokes are sealed first: sign-out within the autosave's pause
        lost them, and Quit left the editors open (the app kept running, and a
        save went in after the sign-out was logged).
        """
        for editor in list(self.editors):
            # Typed in the last moments, before the autosave's pause ran out.  Not while its save runs:
            # that save forgets the draft when it commits, and a draft sealed now would outlive it.
            if editor.dirty and editor not in self.saving:
                self.save_draft(editor)
            editor.rejected.disconnect()
            editor.close_keeping_draft()
        self.editors.clear()
        self.saving.clear()
        self.engine, self.actor, self.drafts = None, None, None
        self.undo_stack.clear()

    def hide_editors(self) -> None:
        """Idle lock: nothing is closed or lost, only hidden until the password is given again."""
        self._hidden_for_lock = [e for e in self.editors if e.isVisible()]
        for editor in self._hidden_for_lock:
            editor.hide()

    def show_editors(self) -> None:
        for editor in self._hidden_for_lock:
            if editor in self.editors:  # a save that finished while locked closed it: it stays closed
                editor.show()
        self._hidden_for_lock = []

    def _key(self) -> AuditKey:
        return AuditKey.load(self._home)

    def _run(
        self,
        fn: Callable[[], Any],
        success: Callable[[Any], None],
        failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._runner.run(_work(fn), success=success, failure=failure or self.on_failure)

    def _in_transaction(self, fn: Callable[[sa.Connection, AuditKey], Any]) -> Callable[[], Any]:
        engine, home = self.engine, self._home
        assert engine is not None

        def run() -> Any:
            key = AuditKey.load(home)
            with engine.begin() as conn:
                return fn(conn, key)

        return run

    # -- may I? ------------------------------------------------------------------------
    def allowed_on(self, detail: EventDetail) -> frozenset[str]:
        """The detail pane's buttons this user may use on ``detail``."""
        if self.actor is None:
            return frozenset()
        facts = EventFacts(detail.patient_id, detail.therapist_id, detail.is_private)
        allowed = {"history"}
        if may(self.actor, facts, Action.EDIT):
            allowed.add("edit")
        if may(self.actor, facts, Action.DELETE):
            allowed.add("delete")
        if may(self.actor, facts, Action.ANNOTATE):
            allowed.add("annotate")
        return frozenset(allowed)

    def may_create(self, patient_id: uuid.UUID | None) -> bool:
        return self.actor is not None and patient_id is not None and may_create_for(self.actor, patient_id)

    # -- new and edit ------------------------------------------------------------------
    def new_event(
        self, patient_id: uuid.UUID | None, at: datetime | None = None, event_type: EventType | None = None
    ) -> EventEditor | None:
        if self.engine is None or self.actor is None or self.actor.user_id is None:
            self.message.emit("Sign in to add events.")
            return None
        if patient_id is None:
            self.message.emit("Choose a patient first, then add an event to their timeline.")
            return None
        if not self.may_create(patient_id):
            self.message.emit("You can add events only for patients assigned to you.")
            return None
        moment = at or datetime.now(UTC).replace(second=0, microsecond=0)
        values = FormValues(
            patient_id=patient_id,
            therapist_id=self.actor.user_id,
            event_type=event_type or EventType.SESSION,
            event_date=moment.astimezone(),
            title="",
        )
        return self._open_editor(values)

    def open_event(self, event_id: uuid.UUID) -> None:
        """Enter or double-click: edit one's own event; read another's (asking a purpose if private)."""
        if self.engine is None:
            return
        self._fetch(event_id, self._opened)

    def _opened(self, detail: EventDetail) -> None:
        self.remember(detail)
        if "edit" in self.allowed_on(detail):
            self.edit_detail(detail)
        else:
            self.message.emit("Showing the event; only its author can edit it.")

    def edit_detail(self, detail: EventDetail) -> EventEditor:
        for editor in self.editors:
            if editor.event_id == detail.id:
                editor.raise_()
                editor.activateWindow()
                return editor
        base = detail.as_draft()
        return self._open_editor(FormValues.from_draft(base), detail.id, detail.row_version, base=base)

    def _open_editor(
        self,
        values: FormValues,
        event_id: uuid.UUID | None = None,
        version: int | None = None,
        draft_id: uuid.UUID | None = None,
        base: EventDraft | None = None,
    ) -> EventEditor:
        editor = EventEditor(
            values, self._parent, event_id=event_id, version=version, draft_id=draft_id, base=base
        )
        # An editor stays open while the therapist picks another patient: it must say whose event it
        # is (a note begun for one patient was saved on her while another was on screen, unsaid).
        editor.set_patient_name(self.patient_name(values.patient_id))
        timer = QTimer(editor)
        timer.setSingleShot(True)
        timer.setInterval(DRAFT_DELAY_MS)
        timer.timeout.connect(lambda: self.save_draft(editor))
        editor.edited.connect(timer.start)
        editor.saveRequested.connect(lambda draft: self._save(editor, draft))
        editor.historyRequested.connect(self.show_history)
        editor.rejected.connect(lambda: self._closed(editor, discard=True))
        self.editors.append(editor)
        editor.show()
        self.editorOpened.emit(editor)
        return editor

    def _closed(self, editor: EventEditor, *, discard: bool) -> None:
        if editor in self.editors:
            self.editors.remove(editor)
        if discard:
            self._discard_draft(editor.draft_id)

    def save_draft(self, editor: EventEditor) -> None:
        """Seal the editor's current fields into an encrypted draft file, off the GUI thread."""
        store = self.drafts
        if store is None or editor not in self.editors or editor in self.saving:
            return  # while its save runs the draft is on its way out (the save forgets it)
        payload = {
            "values": editor.values().to_json(),
            "event_id": str(editor.event_id) if editor.event_id else None,
            "version": editor.version,
        }
        self._run(lambda: store.save(editor.draft_id, payload), lambda _r: None)

    def _discard_draft(self, draft_id: uuid.UUID) -> None:
        store = self.drafts
        if store is not None:
            self._run(lambda: store.discard(draft_id), lambda _r: None)

    def _offer_drafts(self, found: tuple[list[Draft], int]) -> None:
        drafts, unreadable = found
        if unreadable:
            self.message.emit(
                f"{count_of(unreadable, 'draft file')} could not be opened with this password; kept."
            )
        if not drafts:
            return
        box = QMessageBox(self._parent)
        box.setObjectName("draftRecovery")
        box.setAccessibleName("Recover unsaved drafts")
        box.setWindowTitle("Unsaved drafts")
        box.setText(f"Caseline found {count_of(len(drafts), 'unsaved event draft')} from an earlier session.")
        one = len(drafts) == 1
        box.setInformativeText(
            "Open it to finish and save, or discard it for good."
            if one
            else "Open them to finish and save, or discard them for good."
        )
        restore = box.addButton("Open draft" if one else "Open drafts", QMessageBox.ButtonRole.AcceptRole)
        restore.setObjectName("draftRestore")
        restore.setAccessibleName(restore.text())
        discard = box.addButton(
            "Discard draft" if one else "Discard drafts", QMessageBox.ButtonRole.DestructiveRole
        )
        discard.setObjectName("draftDiscard")
        discard.setAccessibleName(discard.text())
        later = box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        later.setObjectName("draftLater")
        later.setAccessibleName("Later: keep the drafts for the next sign-in")

        def chosen(_result: int) -> None:
            clicked = box.clickedButton()
            for draft in drafts:
                if clicked is restore:
                    self.restore_draft(draft)
                elif clicked is discard:
                    self._discard_draft(draft.id)

        box.finished.connect(chosen)
        box.open()
        self.draftsOffered.emit(len(drafts))

    def restore_draft(self, draft: Draft) -> EventEditor | None:
        try:
            values = FormValues.from_json(draft.payload["values"])
            event_id = uuid.UUID(draft.payload["event_id"]) if draft.payload.get("event_id") else None
            version = draft.payload.get("version")
        except (KeyError, ValueError, TypeError):
            self.message.emit("A draft could not be read back; it was kept on disk.")
            return None
        editor = self._open_editor(values, event_id, int(version) if version else None, draft.id)
        editor.unsaved_draft = True
        return editor

    # -- saving ------------------------------------------------------------------------
    def _save(
        self,
        editor: EventEditor,
        draft: EventDraft,
        *,
        over_version: int | None = None,
        onto: EventDraft | None = None,
    ) -> None:
        """Save the editor's ``draft``: a new event, or the fields edited over the version opened (or ``onto``)."""
        event_id = editor.event_id
        if event_id is not None and over_version is None and editor.unchanged:
            # Saving what is already saved used to write a new version, an audit row and an undo step,
            # and turned the same author's real edit at another workstation into a conflict.
            self._closed(editor, discard=True)
            editor.accept()
            self.message.emit("Nothing changed, so nothing was saved.")
            return
        editor.set_busy("Saving…")
        if event_id is None:
            work = self._in_transaction(lambda conn, key: save_new(conn, key, draft))
        else:
            expected = over_version if over_version is not None else editor.version
            assert expected is not None
            written = editor.draft_onto(draft, onto)
            work = self._in_transaction(lambda conn, key: save_edit(conn, key, event_id, written, expected))
        store, draft_id = self.drafts, editor.draft_id

        def save_and_forget_the_draft() -> SavedChange:
            change = work()
            # Committed: its draft goes now, in the same worker.  Left to the callback, a sign-out or
            # quit while saving dropped the callback, and the saved event came back as a draft, a
            # duplicate once saved again.
            if store is not None:
                store.discard(draft_id)
            return change

        self.saving.add(editor)
        self._run(
            save_and_forget_the_draft,
            lambda change: self._saved(editor, change),
            lambda error: self._save_failed(editor, draft, error),
        )

    def _saved(self, editor: EventEditor, change: SavedChange) -> None:
        self.saving.discard(editor)
        self.undo_stack.push(change)
        self._closed(editor, discard=True)
        editor.accept()
        whose = editor.patient_name
        saved = f"Saved for {whose}." if whose else "Saved."
        self.message.emit(f"{saved} Undo with Ctrl+Z ({change.describe()}).")
        self.changed.emit(change.patient_id, change.event_id)

    def _save_failed(self, editor: EventEditor, draft: EventDraft, error: BaseException) -> None:
        self.saving.discard(editor)
        if isinstance(error, EditConflict):
            editor.set_busy("Someone saved this event meanwhile; comparing versions…")
            engine = self.engine
            assert engine is not None

            def load() -> EventDetail:
                with engine.connect() as conn:
                    return current_version(conn, error.event_id)

            self._run(load, lambda theirs: self._resolve(editor, draft, theirs))
            return
        if isinstance(error, ValidationError):
            editor.show_failure(f"Not saved: {error.message}", error.field)
            return
        if isinstance(error, EventNotFound):
            editor.show_failure("Not saved: this event was deleted meanwhile (or you may no longer see it).")
            return
        if isinstance(error, ServiceError):
            editor.show_failure(f"Not saved: {error}")
            return
        if isinstance(error, sa.exc.OperationalError):
            editor.show_failure("Not saved: the database connection failed. Your text is kept; try again.")
            return
        self.on_failure(error)

    def _resolve(self, editor: EventEditor, mine: EventDraft, theirs: EventDetail) -> None:
        # "Mine" is the saved version with the user's own edits on it: keeping it must not take back
        # the other side's changes to fields this user never touched.
        saved = theirs.as_draft()
        dialog = ConflictDialog(editor.draft_onto(mine, saved), theirs, editor)
        self.conflict_dialog = dialog

        def decided(_result: int) -> None:
            if dialog.choice is ConflictChoice.KEEP_MINE:
                self._save(editor, mine, over_version=theirs.row_version, onto=saved)
            elif dialog.choice is ConflictChoice.USE_THEIRS:
                editor.load_version(saved, theirs.row_version)
                editor.show_failure("Loaded the saved version; your changes were set aside.")
            else:
                editor.version = editor.version  # still the old version: saving again asks again
                editor.show_failure("Not saved yet: the event changed meanwhile. Save again to compare.")

        dialog.finished.connect(decided)
        dialog.open()

    # -- delete and undo ---------------------------------------------------------------
    def delete(self, detail: EventDetail) -> None:
        box = QMessageBox(self._parent)
        box.setObjectName("deleteConfirm")
        box.setTextFormat(Qt.TextFormat.PlainText)  # the title goes in as typed, never as markup
        box.setAccessibleName("Confirm delete")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Delete event")
        box.setText(f"Delete “{detail.title}”?")
        box.setInformativeText(
            "It leaves the timeline for everyone. Its versions are kept, and Ctrl+Z brings it back."
        )
        confirm = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        confirm.setObjectName("deleteConfirmButton")
        confirm.setAccessibleName("Delete the event")
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        cancel.setObjectName("deleteCancelButton")
        cancel.setAccessibleName("Keep the event")
        box.setDefaultButton(cancel)

        def chosen(_result: int) -> None:
            if box.clickedButton() is confirm:
                work = self._in_transaction(lambda conn, key: delete_event(conn, key, detail.id))
                self._run(work, self._deleted)

        box.finished.connect(chosen)
        self.delete_box = box
        box.open()

    def _deleted(self, change: SavedChange) -> None:
        self.undo_stack.push(change)
        self.message.emit(f"Deleted. Undo with Ctrl+Z ({change.describe()}).")
        self.changed.emit(change.patient_id, None)

    def undo(self, patient_id: uuid.UUID | None) -> None:
        """Undo the last saved change, if it was made on ``patient_id``'s timeline (the one shown).

        Pressed on another patient, Ctrl+Z used to change the patient just left, out of sight.
        """
        latest = self.undo_stack.peek()
        if latest is None or self.engine is None:
            self.message.emit("Nothing to undo.")
            return
        if latest.patient_id != patient_id:
            self.message.emit("The last change was on another patient's timeline: open it there to undo it.")
            return
        change = self.undo_stack.pop()
        assert change is latest
        work = self._in_transaction(lambda conn, key: undo_change(EventService(conn, audit=key), change))

        def done(version: int) -> None:
            self.undo_stack.rebase(change.event_id, version)
            self.message.emit(f"Undid the {change.describe()}.")
            self.changed.emit(change.patient_id, change.event_id)

        def failed(error: BaseException) -> None:
            if isinstance(error, EditConflict):
                self.message.emit(
                    f"Not undone: “{change.title}” changed after you {change.kind.value} it; nothing was overwritten."
                )
            elif isinstance(error, ServiceError):
                self.message.emit(f"Not undone: {error}")
            else:
                self.on_failure(error)

        self._run(work, done, failed)

    # -- reading, history, review notes ------------------------------------------------
    def _fetch(self, event_id: uuid.UUID, then: Callable[[EventDetail], None]) -> None:
        """Read an event with its text; for another author's private event, ask why first."""
        engine = self.engine
        assert engine is not None

        def read(purpose: str | None) -> None:
            def work() -> EventDetail:
                key = AuditKey.load(self._home) if purpose else None
                with engine.begin() as conn:  # commits the audited read
                    return fetch_event(conn, event_id, purpose=purpose, audit=key)

            self._run(work, then, lambda error: failed(error, purpose))

        def failed(error: BaseException, purpose: str | None) -> None:
            if isinstance(error, PurposeRequired) and purpose is None:
                self.ask_purpose(read)
                return
            reason = describe_read_failure(error)
            if reason is not None:  # said in the status bar; the timeline stays (a lost connection
                self.message.emit(f"Not opened. {reason}")  # replaced it with an error page)
                return
            self.on_failure(error)

        read(None)

    def ask_purpose(self, then: Callable[[str], None]) -> PurposeDialog:
        dialog = PurposeDialog("one of your supervisees", self._parent)
        dialog.accepted.connect(lambda: then(dialog.text()) if dialog.text() else None)
        dialog.rejected.connect(lambda: self.message.emit("Not opened: no reason was given."))
        self.purpose_dialog = dialog
        dialog.open()
        return dialog

    def read_private(self, event_id: uuid.UUID) -> None:
        """The detail pane's "Read it…": ask why, read (audited), show it."""
        if self.engine is not None:
            self._fetch(event_id, self.remember)

    def show_history(self, event_id: uuid.UUID) -> None:
        engine = self.engine
        if engine is None:
            return

        def load(purpose: str | None) -> None:
            def work() -> list[VersionRow]:
                key = AuditKey.load(self._home) if purpose else None
                with engine.begin() as conn:
                    return load_versions(conn, event_id, purpose=purpose, audit=key)

            def failed(error: BaseException) -> None:
                if isinstance(error, PurposeRequired) and purpose is None:
                    self.ask_purpose(load)
                elif isinstance(error, ServiceError):
                    self.message.emit(str(error))
                else:
                    self.on_failure(error)

            self._run(work, self._show_history, failed)

        load(None)

    def _show_history(self, versions: list[VersionRow]) -> None:
        dialog = HistoryDialog(versions, self._parent)
        dialog.open()
        self.historyShown.emit(dialog)

    def load_notes(self, detail: EventDetail, then: Callable[[list[str]], None]) -> None:
        engine = self.engine
        if engine is None:
            return

        def work() -> list[str]:
            with engine.connect() as conn:
                return [body for _id, _author, body in list_annotations(conn, detail.id)]

        self._run(work, then)

    def annotate(self, detail: EventDetail) -> AnnotationDialog:
        dialog = AnnotationDialog(self._parent)

        def save() -> None:
            body = dialog.text()

            def write(conn: sa.Connection, key: AuditKey) -> uuid.UUID:
                note = add_annotation(conn, detail.id, body)
                append(conn, key, "annotation.create", event_id=detail.id, patient_id=detail.patient_id)
                return note

            def done(_note: uuid.UUID) -> None:
                self.message.emit("Review note added.")
                self.annotated.emit(detail.id)

            def failed(error: BaseException) -> None:
                if isinstance(error, ServiceError):
                    self.message.emit(f"Review note not saved: {error}")
                else:
                    self.on_failure(error)

            self._run(self._in_transaction(write), done, failed)

        dialog.accepted.connect(save)
        self.annotation_dialog = dialog
        dialog.open()
        return dialog
