"""The main window: patient list on the left, the selected patient's timeline on the right.

All database work goes through the :class:`OperationRunner`; the window only
reacts to results.  Switching patient supersedes the previous timeline load
(key ``"timeline"``), so a slow old load can never overwrite a newer choice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import psycopg
import shiboken6
import sqlalchemy as sa
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPageLayout, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ui.edit_controller import EditController
from ui.export import ExportFailed, caption_for, export_work, print_on_page, with_export_suffix
from ui.fhir_actions import FhirActions
from ui.idle_lock import IdleWatcher, LockScreen, ShortcutBlock, WindowShield
from ui.operations import CancelToken, OperationRunner
from ui.patient_list import PatientListPanel
from ui.sign_in_dialog import SignInDialog
from ui.spoken_label import SpokenLabel
from ui.style import BANNER_STYLE
from ui.timeline_view import TimelineView
from viewer.db.embedded import EmbeddedServerError
from viewer.db.engine import embedded_server
from viewer.db.settings import Settings
from viewer.domain import EventDetail
from viewer.private_file import claim_private
from viewer.services.access import Actor, load_actor, may_read_texts
from viewer.services.audit import AuditKey, AuditKeyError, append
from viewer.services.drafts import DraftStore
from viewer.services.errors import ServiceError
from viewer.services.patients import PatientSummary, list_patients
from viewer.services.sign_in import (
    Identity,
    SignInFailed,
    check_password,
    forget_username,
    remember_username,
    sign_in,
)
from viewer.services.startup import DatabaseUnavailable, StartupResult, prepare_database
from viewer.services.timeline_copy import copy_timeline
from viewer.services.timeline_query import TimelineColumns, from_epoch_ms
from viewer.wording import count_of

log = logging.getLogger(__name__)

DEMO_BANNER = (
    "Demo practice: every patient and clinician here is synthetic, made up by Caseline's demo generator. "
    "No real person is described."
)


PATIENT_LIST_MIN_WIDTH = 190  # px: a full name and its event count


@dataclass(frozen=True)
class SignedIn:
    """What signing in yields: the clinician's own pool, who they are, their links, their drafts."""

    engine: sa.Engine
    identity: Identity
    actor: Actor
    drafts: DraftStore


def load_timeline_work(
    engine: sa.Engine, patient: PatientSummary
) -> Callable[[CancelToken, Callable[[object], None]], TimelineColumns | None]:
    """The background work of loading one patient's columns through binary COPY, cancellable."""

    def work(token: CancelToken, report: Callable[[object], None]) -> TimelineColumns | None:
        def progress(received: int) -> bool:
            report((received, max(patient.event_count, received)))
            return not token.cancelled

        with engine.connect() as conn:
            return copy_timeline(conn, patient.id, progress=progress)

    return work


def _start_embedded(settings: Settings) -> None:
    """Start the embedded server if it stopped (``main.py db stop``); a worker's job, never the GUI's."""
    try:
        embedded_server(settings).acquire()
    except (EmbeddedServerError, OSError) as exc:
        raise DatabaseUnavailable(f"the embedded database could not start: {exc}") from exc


NOTE_READERS = frozenset({"therapist", "supervisor"})  # the logins granted SELECT on review notes


class MainWindow(QMainWindow):
    """Caseline's main window.

    Signals:
        databaseReady(): the database is prepared and the patient list is loaded.
        signedIn(object): a clinician signed in (their ``Identity``).
        locked() / unlocked(): the idle lock engaged / was lifted with the password.
        timelineShown(object): a patient's timeline finished drawing (the ``PatientSummary``).
        exported(object): an export was written (its ``Path``).
        failed(str): something the user must know went wrong (also shown in the window).
    """

    databaseReady = Signal()
    signedIn = Signal(object)
    locked = Signal()
    unlocked = Signal()
    timelineShown = Signal(object)
    exported = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        require_sign_in: bool = False,
        auto_sign_in: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.require_sign_in = require_sign_in or auto_sign_in is not None
        self.auto_sign_in = auto_sign_in
        self.identity: Identity | None = None
        self._base_url: sa.URL | None = None
        self.sign_in_dialog: SignInDialog | None = None
        self.setObjectName("mainWindow")
        self.setAccessibleName("Caseline")
        self.setWindowTitle("Caseline")
        self.settings = settings
        self.runner = OperationRunner(self)
        self.engine: sa.Engine | None = None
        self.current_patient: PatientSummary | None = None
        self.columns: TimelineColumns | None = None

        self.banner = QLabel(DEMO_BANNER, self)
        self.banner.setObjectName("demoBanner")
        self.banner.setAccessibleName("Demo data notice")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setWordWrap(True)
        self.banner.hide()

        self.patients = PatientListPanel(self)
        self.patients.patientSelected.connect(self.open_patient)
        self.patients.patientChosen.connect(self._on_patient_chosen)
        self._keys_to_timeline_for: uuid.UUID | None = None
        self.timeline = TimelineView(self.runner, self)
        self.timeline.show_message("Preparing the database…")

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("mainSplitter")
        splitter.setAccessibleName("Patients and timeline")
        splitter.addWidget(self.patients)
        splitter.addWidget(self.timeline)
        splitter.setStretchFactor(1, 1)
        # Names stay readable in a narrow window: the timeline gives up width first (its detail pane
        # folds away), the patient list never shrinks below a name and its event count.
        self.patients.setMinimumWidth(PATIENT_LIST_MIN_WIDTH)
        splitter.setCollapsible(0, False)
        splitter.setSizes([260, 1000])

        self.content = QWidget(self)
        self.content.setObjectName("mainContent")
        self.content.setAccessibleName("Patients and timeline")
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.lock_screen = LockScreen(self)
        self.lock_screen.unlockRequested.connect(self._try_unlock)
        self.lock_screen.signOutRequested.connect(self._sign_out_from_lock)
        self.pages = QStackedWidget(self)
        self.pages.setObjectName("mainPages")
        self.pages.setAccessibleName("Caseline")
        self.pages.addWidget(self.content)
        self.pages.addWidget(self.lock_screen)
        self.setCentralWidget(self.pages)
        self.shield = WindowShield(self)
        self.shortcut_block = ShortcutBlock(self, self.lock_screen, self.shield)
        self.idle = IdleWatcher(settings.idle_lock_minutes * 60_000, self)
        self.idle.idle.connect(lambda: self.lock(idle=True))
        self.idle.lockPressed.connect(lambda: self.lock())
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.idle)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("loadProgress")
        self.progress.setAccessibleName("Loading progress")
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.statusBar().setObjectName("statusBar")
        self.statusBar().setAccessibleName("Status")
        self.statusBar().addPermanentWidget(self.progress)
        self.who = SpokenLabel("", self)
        self.who.setObjectName("signedInAs")
        self.who.set_role("Signed-in user")
        self.who.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addPermanentWidget(self.who)

        self.edits = EditController(self, self.runner, settings.home)
        self.edits.on_failure = self._on_failure
        self.edits.remember = self.timeline.remember_detail
        self.edits.patient_name = self._patient_name
        self.edits.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.edits.changed.connect(self._after_change)
        self.edits.annotated.connect(lambda _id: self._show_notes(self.timeline.detail.detail))
        self.timeline.eventOpened.connect(self.edits.open_event)
        self.timeline.newEventRequested.connect(
            lambda at, lane: self.edits.new_event(self._patient_id(), at, lane)
        )
        self.timeline.detailShown.connect(self._on_detail_shown)
        self.timeline.eventSelected.connect(self._update_edit_actions)
        self.timelineShown.connect(self._update_edit_actions)
        pane = self.timeline.detail
        pane.editRequested.connect(lambda: self._with_shown(self.edits.edit_detail))
        pane.deleteRequested.connect(lambda: self._with_shown(self.edits.delete))
        pane.historyRequested.connect(self._history_of_selected)
        pane.annotateRequested.connect(lambda: self._with_shown(self.edits.annotate))
        pane.readPrivateRequested.connect(self._read_selected_private)
        # The pane's "Try again" after a lost connection starts a stopped embedded server first, as the
        # timeline's own "Try again" does (a detail read used to fail again and again).
        self.timeline.before_retry = self._before_read_retry

        self.fhir = FhirActions(self, self.runner, settings.home)
        self.fhir.imported.connect(lambda _r: self._after_import())
        self.fhir.fhirExported.connect(
            lambda path: self.statusBar().showMessage(f"Wrote the FHIR bundle to {path}", 10_000)
        )
        self._owner_url: sa.URL | None = None
        self._restart_before_sign_in = False

        self._build_file_menu()
        self._build_edit_menu()

        self._build_view_menu()

    def _build_view_menu(self) -> None:
        """Finding, filters and lanes, with their keys: Lanes and Reset filters were reachable only by Tab."""
        menu = self.menuBar().addMenu("&View")
        menu.setObjectName("viewMenu")
        menu.setAccessibleName("View")
        find = menu.addAction("&Find patient")
        find.setObjectName("findPatientAction")
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(lambda: self.patients.search.setFocus(Qt.FocusReason.ShortcutFocusReason))
        # Ctrl+F goes to the patients, Ctrl+Shift+F to the timeline's titles.
        find_titles = menu.addAction("&Search titles")
        find_titles.setObjectName("searchTitlesAction")
        find_titles.setShortcut(QKeySequence("Ctrl+Shift+F"))
        find_titles.triggered.connect(self._focus_title_search)
        # The lanes take the arrow keys, Enter and the preset keys, but only Tab led to them.
        to_timeline = menu.addAction("Go to the &timeline")
        to_timeline.setObjectName("focusTimelineAction")
        to_timeline.setShortcut(QKeySequence("Ctrl+T"))
        to_timeline.triggered.connect(self._focus_timeline)
        menu.addSeparator()
        self.reset_filters_action = menu.addAction("&Reset filters")
        self.reset_filters_action.setObjectName("resetFiltersAction")
        self.reset_filters_action.setShortcut(QKeySequence("Ctrl+R"))
        self.reset_filters_action.triggered.connect(self._reset_filters)
        lanes = menu.addMenu(self.timeline.lanes_menu)
        lanes.setText("&Lanes")
        # Always enabled: disabled when the menu opened unfiltered, Ctrl+R stayed dead after a filter
        # came on.  With nothing to reset it says so.
        self.view_menu = menu

    def _focus_timeline(self) -> None:
        plot = self.timeline.plot
        if plot.isVisible() and plot.isEnabled():
            plot.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _reset_filters(self) -> None:
        reset = self.timeline.filters.reset
        if reset.isEnabled():
            reset.click()
        else:
            self.statusBar().showMessage("No filter is on: every event and lane is shown.", 5_000)

    def _build_file_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.setObjectName("fileMenu")
        menu.setAccessibleName("File")
        self.menuBar().setObjectName("menuBar")
        self.menuBar().setAccessibleName("Menu bar")
        self.export_actions: list[QAction] = []
        for fmt, text in (
            ("png", "Export view as &PNG…"),  # Ctrl+E, below
            ("svg", "Export view as &SVG…"),
            ("pdf", "Export view as P&DF…"),
        ):
            action = menu.addAction(text)
            action.setObjectName(f"export{fmt.capitalize()}Action")
            action.triggered.connect(lambda _=False, f=fmt: self._ask_export(f))
            self.export_actions.append(action)
        self.export_actions[0].setShortcut(QKeySequence("Ctrl+E"))
        self.export_fhir_action = menu.addAction("Export patient as &FHIR…")
        self.export_fhir_action.setObjectName("exportFhirAction")
        self.export_fhir_action.triggered.connect(self._ask_export_fhir)
        self.export_actions.append(self.export_fhir_action)
        self.print_action = menu.addAction("P&rint view…")
        self.print_action.setObjectName("printAction")
        self.print_action.setShortcut(QKeySequence.StandardKey.Print)
        self.print_action.triggered.connect(self._print)
        self.export_actions.append(self.print_action)
        menu.addSeparator()
        self.import_action = menu.addAction("&Import FHIR…")
        self.import_action.setObjectName("importFhirAction")
        self.import_action.setShortcut(QKeySequence("Ctrl+I"))
        self.import_action.triggered.connect(self._ask_import)
        menu.addSeparator()
        self.sign_out_action = menu.addAction("Sign &out")
        self.sign_out_action.setObjectName("signOutAction")
        self.sign_out_action.triggered.connect(self.sign_out)
        self.sign_out_action.setEnabled(False)
        self.lock_action = menu.addAction("&Lock now")
        self.lock_action.setObjectName("lockAction")
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        # From any of the app's windows: an open editor (its own window) shows note text too. Under a
        # window-modal dialog no shortcut of this window fires: the idle watcher catches the keys then.
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.idle.lock_keys = self.lock_action.shortcut()
        self.lock_action.triggered.connect(lambda: self.lock())
        self.lock_action.setEnabled(False)
        quit_action = menu.addAction("&Quit")
        quit_action.setObjectName("quitAction")
        # The platform's Quit is no key at all on Windows (and on some Linux desktops): Ctrl+Q there too.
        quit_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit) or [QKeySequence("Ctrl+Q")]
        quit_action.setShortcuts(quit_keys)
        quit_action.triggered.connect(self.close)
        self._set_export_enabled(False)

    def may_import(self) -> bool:
        """Importing creates patients: administrators only (or the owner's tool mode)."""
        if self._owner_url is None:
            return False
        return not self.require_sign_in or (self.identity is not None and self.identity.role == "admin")

    def _ask_import(self) -> None:
        if not self.may_import():
            self.statusBar().showMessage(
                "Importing FHIR creates patients, so it is an administrator's task: sign in as an admin.",
                10_000,
            )
            return
        files, _ = QFileDialog.getOpenFileNames(
            self, "Import FHIR", str(Path.home()), "FHIR (*.json *.ndjson);;All files (*)"
        )
        if files:
            self.import_fhir([Path(f) for f in files])

    def import_fhir(self, paths: list[Path]) -> None:
        """Import FHIR files in the background with a progress bar; a summary follows.

        One at a time: a second import used to supersede the first, whose committed events then
        went without a summary (the import itself cannot be stopped halfway, by design).
        """
        assert self._owner_url is not None
        if self.runner.running("import"):
            self.statusBar().showMessage("An import is running: its summary comes first.", 10_000)
            return
        self.import_action.setEnabled(False)
        self.progress.setRange(0, max(len(paths), 1))
        self.progress.setValue(0)
        self.progress.show()
        self.statusBar().showMessage(f"Importing {count_of(len(paths), 'FHIR file')}…")

        def progress(done: int, total: int) -> None:
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)

        def failed(error: BaseException) -> None:
            self.import_action.setEnabled(True)
            self.progress.hide()
            self._on_failure(error)

        who = self.identity.username if self.identity is not None else None
        self.fhir.import_files(self._owner_url, paths, progress, failed, imported_by=who)

    def _after_import(self) -> None:
        self.import_action.setEnabled(True)
        self.progress.hide()
        if self.engine is not None:
            self.refresh_patients(keep_timeline=True)
            patient = self.timeline.patient
            if patient is not None:  # the import may have added to it: shown again, zoom kept
                self._after_change(patient.id, None)

    def _ask_export_fhir(self) -> None:
        patient = self.timeline.patient
        if patient is None:
            return
        suggested = str(Path.home() / f"{patient.username}-fhir.json")
        path, _ = QFileDialog.getSaveFileName(self, "Export as FHIR", suggested, "FHIR JSON (*.json)")
        if path:
            self.export_fhir(Path(path))

    def export_fhir(self, path: Path) -> None:
        patient = self.timeline.patient
        if patient is None or self.engine is None:
            return
        self.statusBar().showMessage(f"Writing {path.name}…")
        self.fhir.export_patient(self.engine, patient.id, path, self._on_failure)

    def _build_edit_menu(self) -> None:
        menu = self.menuBar().addMenu("&Edit")
        menu.setObjectName("editMenu")
        menu.setAccessibleName("Edit")
        self.new_event_action = menu.addAction("&New event…")
        self.new_event_action.setObjectName("newEventAction")
        self.new_event_action.setShortcut(QKeySequence.StandardKey.New)
        self.new_event_action.triggered.connect(lambda: self.edits.new_event(self._patient_id()))
        self.undo_action = menu.addAction("&Undo last saved change")
        self.undo_action.setObjectName("undoAction")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(
            lambda: self.edits.undo(self.timeline.patient.id if self.timeline.patient is not None else None)
        )
        menu.addSeparator()
        self.delete_action = menu.addAction("&Delete event…")
        self.delete_action.setObjectName("deleteEventAction")
        self.delete_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.delete_action.triggered.connect(self._delete_selected)
        self.history_action = menu.addAction("Version &history…")
        self.history_action.setObjectName("historyAction")
        self.history_action.setShortcut(QKeySequence("Ctrl+H"))
        self.history_action.triggered.connect(self._history_of_selected)
        for action in (self.new_event_action, self.undo_action, self.delete_action, self.history_action):
            action.setEnabled(False)

    def _update_edit_actions(self, *_args: object) -> None:
        """The Edit menu offers what would work now: for this user, this patient, this selection.

        All four used to be on whenever someone was signed in: "New event" for an administrator
        who may not add one, Delete and History with nothing selected, Undo with nothing to undo.
        """
        signed_in = self.identity is not None and self.edits.actor is not None
        patient_id = self._patient_id()
        detail = self.timeline.detail.detail if signed_in else None
        allowed = self.edits.allowed_on(detail) if detail is not None else frozenset()
        latest = self.edits.undo_stack.peek() if signed_in else None
        undoable = latest is not None and latest.patient_id == patient_id
        self.new_event_action.setEnabled(signed_in and self.edits.may_create(patient_id))
        self.timeline.may_add_events = self.new_event_action.isEnabled()  # its "New … here" too
        self.delete_action.setEnabled("delete" in allowed)
        self.history_action.setEnabled("history" in allowed)
        # A change on another patient's timeline keeps Undo on, so Ctrl+Z says where to undo it
        # (disabled, the shortcut did nothing at all).
        self.undo_action.setEnabled(latest is not None)
        if undoable and latest is not None:
            self.undo_action.setText(f"&Undo the {latest.describe()}")
        elif latest is not None:
            self.undo_action.setText("&Undo (the last change is on another patient's timeline)")
        else:
            self.undo_action.setText("&Undo last saved change")

    def _patient_id(self) -> uuid.UUID | None:
        patient = self.timeline.patient
        return patient.id if patient is not None else None

    def _with_shown(self, then: Callable[[EventDetail], object]) -> None:
        detail = self.timeline.detail.detail
        if detail is not None:
            then(detail)

    def _delete_selected(self) -> None:
        detail = self.timeline.detail.detail
        if detail is None:
            self.statusBar().showMessage("Select an event first.", 5_000)
        elif "delete" not in self.edits.allowed_on(detail):
            self.statusBar().showMessage("Only the event's author can delete it.", 5_000)
        else:
            self.edits.delete(detail)

    def _history_of_selected(self) -> None:
        event_id = self.timeline.selected_event_id()
        if event_id is not None:
            self.edits.show_history(event_id)

    def _read_selected_private(self) -> None:
        event_id = self.timeline.selected_event_id()
        if event_id is not None:
            self.edits.read_private(event_id)

    def _on_detail_shown(self, detail: EventDetail) -> None:
        self._update_edit_actions()
        allowed = self.edits.allowed_on(detail)
        self.timeline.detail.set_allowed(allowed)
        self._show_notes(detail)

    def _show_notes(self, detail: EventDetail | None) -> None:
        if detail is None or self.edits.engine is None:
            return
        # Review notes are for the care team: the qa and admin logins have no grant on them, and
        # asking failed as a bug ("permission denied") on every event the qa tester selected.
        if self.identity is not None and self.identity.role not in NOTE_READERS:
            return

        def show(notes: list[str]) -> None:
            if self.timeline.detail.detail is detail:
                self.timeline.detail.show_notes(notes)

        self.edits.load_notes(detail, show)

    def _after_change(self, patient_id: uuid.UUID, event_id: uuid.UUID | None) -> None:
        """A saved change: reload the patient's timeline quietly, keep the zoom, select the event."""
        # Undo at once: "Saved. Undo with Ctrl+Z" appeared, and Ctrl+Z did nothing until the reload.
        self._update_edit_actions()
        patient = self.timeline.patient
        if self.engine is None or patient is None or patient.id != patient_id:
            return
        engine = self.engine
        # Chosen now, while the timeline still shows the event a delete or an undo may remove.
        select = self.timeline.with_neighbours(event_id or self.timeline.selected_event_id())
        self.runner.run(
            load_timeline_work(engine, patient),
            success=lambda columns: self._on_reloaded(patient, columns, select),
            failure=self._on_failure,
            key="timeline",
        )

    def _on_reloaded(
        self, patient: PatientSummary, columns: TimelineColumns | None, select: list[uuid.UUID]
    ) -> None:
        if columns is None or self.engine is None:
            return
        patient = self._as_loaded(patient, columns)
        self.columns = columns
        self.timeline.set_timeline(self.engine, patient, columns, keep_view=True, select=select)
        self._set_export_enabled(bool(len(columns)))
        self.timelineShown.emit(patient)

    def _set_export_enabled(self, enabled: bool) -> None:
        for action in self.export_actions:
            action.setEnabled(enabled)

    def _ask_export(self, fmt: str) -> None:
        patient = self.timeline.patient
        if patient is None:
            return
        # Dated, so this week's export does not offer to overwrite last week's.
        suggested = str(Path.home() / f"{patient.username}-timeline-{date.today():%Y-%m-%d}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the timeline view", suggested, f"{fmt.upper()} (*.{fmt})"
        )
        if path:
            self.export_view(with_export_suffix(Path(path), fmt))

    def export_view(self, path: Path) -> None:
        """Write the visible timeline with its caption to ``path`` (.png, .svg or .pdf) in the background."""
        try:
            work = export_work(self.timeline, path)
        except ServiceError as exc:
            self._show_error(str(exc), keep_view=True)
            return
        self.statusBar().showMessage(f"Exporting to {path.name}…")
        engine, home, patient = self.engine, self.settings.home, self.timeline.patient
        signed_in = self.identity is not None

        def audited(token: CancelToken, report: Callable[[object], None]) -> Path:
            written: Path = work(token, report)
            if signed_in and engine is not None and patient is not None:  # every export is audited
                with engine.begin() as conn:
                    append(conn, AuditKey.load(home), "export", patient_id=patient.id,
                           detail={"format": written.suffix.lstrip(".")})  # fmt: skip
            return written

        self.runner.run(audited, success=self._on_exported, failure=self._on_failure, key="export")

    def _on_exported(self, path: Path) -> None:
        self.statusBar().showMessage(f"Exported the view to {path}", 10_000)
        self.exported.emit(path)

    def _print(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter  # only when someone prints

        if self.timeline.patient is None:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setPageOrientation(QPageLayout.Orientation.Landscape)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QPrintDialog.DialogCode.Accepted:
            return
        if printer.outputFileName():  # "Print to file": a PDF of the patient, the owner's only
            try:
                claim_private(Path(printer.outputFileName()))
            except OSError as exc:
                self._show_error(
                    f"could not print to {Path(printer.outputFileName()).name}: {exc.strerror}",
                    keep_view=True,
                )
                return
        painter = QPainter(printer)
        page = printer.pageLayout().paintRectPixels(printer.resolution())
        print_on_page(
            painter, QRect(0, 0, page.width(), page.height()), self.timeline, caption_for(self.timeline)
        )
        painter.end()
        self.statusBar().showMessage("Sent the view to the printer", 5_000)
        engine, home, patient = self.engine, self.settings.home, self.timeline.patient
        if self.identity is not None and engine is not None and patient is not None:

            def audit_print(_token: CancelToken, _report: Callable[[object], None]) -> None:
                with engine.begin() as conn:
                    append(
                        conn, AuditKey.load(home), "export", patient_id=patient.id, detail={"format": "print"}
                    )

            self.runner.run(audit_print, success=lambda _r: None, failure=self._on_failure)

    # -- start-up ----------------------------------------------------------------------
    def start(self) -> None:
        """Prepare the database in the background, then list patients."""
        self.statusBar().showMessage("Preparing the database…")
        self.progress.setRange(0, 0)
        self.progress.show()
        settings = self.settings
        self.runner.run(
            lambda _t, _p: prepare_database(settings),
            success=self._on_database_ready,
            failure=lambda error: self._on_failure(error, retry=self.start),
        )

    def _on_database_ready(self, result: StartupResult) -> None:
        self.banner.setVisible(result.has_demo_data)
        self.statusBar().clearMessage()  # "Preparing the database…" stayed behind the sign-in dialog
        if result.demo_loaded_now:
            self.statusBar().showMessage(
                "Loaded the synthetic demo practice into a new embedded database.", 10_000
            )
        self._owner_url = result.engine.url  # for administrators' imports only
        if not self.require_sign_in:  # tools and tests: the owner's view
            self.engine = result.engine
            self.refresh_patients()
            return
        self._base_url = result.engine.url.set(username=None, password=None)
        result.engine.dispose()  # the owner's rights are not the clinician's: drop them
        self.progress.hide()
        if self.auto_sign_in is not None:  # screenshots and scripted runs: no dialog
            self.sign_in(*self.auto_sign_in)
            return
        self.ask_sign_in()

    # -- signing in --------------------------------------------------------------------
    def ask_sign_in(self) -> None:
        self.timeline.show_message("Sign in to see your patients.")
        dialog = SignInDialog(self.settings.home, self)
        dialog.credentialsEntered.connect(self.sign_in)
        dialog.rejected.connect(self.close)
        self.sign_in_dialog = dialog
        dialog.open()

    def sign_in(self, username: str, password: str, remember: bool | None = None) -> None:
        """Sign in off the GUI thread; on success every query runs under this login.

        ``remember`` is the dialog's box: ticked keeps the username for next time, unticked forgets
        a kept one; None (a sign-in without the dialog) leaves it as it was.
        """
        base, home, settings = self._base_url, self.settings.home, self.settings
        assert base is not None
        restart, self._restart_before_sign_in = self._restart_before_sign_in, False

        def work(_token: CancelToken, _report: Callable[[object], None]) -> SignedIn:
            if restart:  # the last try found no server: start the embedded one again first
                _start_embedded(settings)
            engine, identity = sign_in(base, username, password)
            try:
                with engine.begin() as conn:
                    append(conn, AuditKey.load(home), "sign_in")
                    actor = load_actor(conn)
            except BaseException:
                engine.dispose()  # signed in, but refused here (no audit key, say): close the login
                raise
            if remember:
                remember_username(home, username)
            elif remember is not None:
                forget_username(home)
            drafts = DraftStore.open(home, identity.username, password)  # key from the password, in memory
            return SignedIn(engine, identity, actor, drafts)

        self.runner.run(work, success=self._on_signed_in, failure=self._on_sign_in_failed, key="sign-in")

    def _on_sign_in_failed(self, error: BaseException) -> None:
        unreachable = isinstance(
            error, sa.exc.OperationalError | psycopg.OperationalError | DatabaseUnavailable
        )
        if unreachable:
            # The dialog sat on "Signing in…" with its button off, the reason behind it: say it here,
            # and let Sign in try again (starting a stopped embedded server first).
            self._restart_before_sign_in = self.settings.uses_embedded
            message = (
                str(error)
                if isinstance(error, DatabaseUnavailable)
                else f"could not reach the database ({type(getattr(error, 'orig', None) or error).__name__});"
                " press Sign in to try again"
            )
            if self.sign_in_dialog is not None:
                self.sign_in_dialog.show_error(message)
                return
        if isinstance(error, SignInFailed | AuditKeyError):
            if self.sign_in_dialog is not None:
                self.sign_in_dialog.show_error(str(error))
            else:
                self._show_error(str(error))
            return
        self._on_failure(error)

    def _on_signed_in(self, result: SignedIn) -> None:
        self.engine, self.identity = result.engine, result.identity
        self.edits.start_session(result.engine, result.actor, result.drafts)
        self.timeline.set_texts_readable(may_read_texts(result.actor))
        self._update_edit_actions()
        if self.sign_in_dialog is not None:
            dialog, self.sign_in_dialog = self.sign_in_dialog, None
            dialog.rejected.disconnect(self.close)
            dialog.accept()
            # Hidden, it kept the password in its box, one more dialog per sign-in.
            dialog.password.clear()
            dialog.deleteLater()
        self.who.setText(f"Signed in as {self.identity.describe()}")
        self.setWindowTitle(f"Caseline — {self.identity.display_name}")
        self.sign_out_action.setEnabled(True)
        self.lock_action.setEnabled(True)
        self.idle.start()
        self.signedIn.emit(self.identity)
        self.refresh_patients()

    def _focus_title_search(self) -> None:
        search = self.timeline.filters.search
        if search.isEnabled():
            search.setFocus(Qt.FocusReason.ShortcutFocusReason)
            search.selectAll()

    def _patient_name(self, patient_id: uuid.UUID) -> str | None:
        for patient in self.patients.model.patients:
            if patient.id == patient_id:
                return str(patient.display_name)
        return None

    def sign_out(self) -> None:
        engine, home = self.engine, self.settings.home
        if engine is None or self.identity is None:
            return

        def work(_token: CancelToken, _report: Callable[[object], None]) -> None:
            with engine.begin() as conn:
                append(conn, AuditKey.load(home), "sign_out")
            engine.dispose()

        self.runner.cancel_all()  # a load, search or detail read of this session must not land after it
        self.edits.end_session()
        self._update_edit_actions()
        self.engine = None
        self.identity = None
        self.current_patient = None
        self.columns = None
        self.timeline.clear("Signed out.")
        self.statusBar().clearMessage()  # "Loaded 197 events" was the last clinician's
        self.idle.stop()
        self.who.setText("")
        self.setWindowTitle("Caseline")
        self.sign_out_action.setEnabled(False)
        self.lock_action.setEnabled(False)
        self._set_export_enabled(False)
        self.patients.set_patients([])
        self.patients.search.clear()  # the next clinician's list is not filtered by the last one's search
        self.runner.run(work, success=lambda _r: self.ask_sign_in(), failure=self._on_failure, key="sign-out")

    # -- idle lock ---------------------------------------------------------------------
    def lock(self, *, idle: bool = False) -> None:
        """Hide everything behind the lock screen; nothing is closed or lost (``idle``: no one asked)."""
        if self.identity is None or self.pages.currentWidget() is self.lock_screen:
            return
        self.idle.stop()
        self.edits.hide_editors()
        self.shield.hide_others()
        self.shortcut_block.engage()
        self.pages.setCurrentWidget(self.lock_screen)
        # The status bar stayed below the lock screen: "Saved for NAME. Undo … (edit "TITLE")" for
        # ten seconds after a save, and whatever came in while locked.  Hidden until unlocked.
        self.statusBar().hide()
        self.lock_screen.prepare(self.identity.display_name, idle=idle)
        self.locked.emit()

    def _sign_out_from_lock(self) -> None:
        """A colleague needs the workstation: sign the locked clinician out, keeping her drafts.

        Her hidden windows (a version history, a review) are closed, not brought
        back for the next login; her editors become drafts, as at any sign-out.
        """
        if self.pages.currentWidget() is not self.lock_screen:
            return
        self.lock_screen.forget()
        self.shortcut_block.release()
        self.pages.setCurrentWidget(self.content)
        self.statusBar().clearMessage()  # the locked clinician's, not the next one's
        self.statusBar().show()
        hidden, self.shield.hidden = self.shield.hidden, []
        self.sign_out()  # seals and closes the editors among them
        for widget in hidden:
            if shiboken6.isValid(widget):
                widget.close()
                widget.deleteLater()  # closed, a history dialog lived on hidden with its event's text

    def _try_unlock(self, password: str) -> None:
        base, identity = self._base_url, self.identity
        if base is None or identity is None:
            return
        self.runner.run(
            lambda _t, _r: check_password(base, identity.username, password),
            success=lambda ok: self._unlock() if ok else self.lock_screen.refuse(),
            failure=self._on_failure,
            key="unlock",
        )

    def _unlock(self) -> None:
        self.lock_screen.forget()
        self.shortcut_block.release()
        self.pages.setCurrentWidget(self.content)
        self.statusBar().show()
        self.edits.show_editors()
        self.shield.restore()
        self.idle.start()
        self.unlocked.emit()

    def refresh_patients(self, *, keep_timeline: bool = False) -> None:
        """List the patients again; ``keep_timeline`` leaves an open timeline on screen (after an import)."""
        engine = self.engine
        assert engine is not None

        def work(_token: CancelToken, _report: Callable[[object], None]) -> list[PatientSummary]:
            with engine.connect() as conn:
                return list_patients(conn)

        self.runner.run(
            work,
            success=lambda patients: self._on_patients(patients, keep_timeline=keep_timeline),
            failure=lambda error: self._on_failure(error, retry=self.refresh_patients),
            key="patients",
        )

    def _on_patients(self, patients: list[PatientSummary], *, keep_timeline: bool = False) -> None:
        self.progress.hide()
        shown = self.timeline.patient.id if keep_timeline and self.timeline.patient is not None else None
        self.patients.set_patients(patients, keep=shown)
        for editor in self.edits.editors:  # a draft opened before the list came knows its patient now
            if editor.patient_name is None:
                editor.set_patient_name(self._patient_name(editor.patient_id))
        self.statusBar().showMessage(count_of(len(patients), "patient"), 5_000)
        # After an import the timeline shown stays (it gave way to "Choose a patient").
        if not (keep_timeline and self.timeline.patient is not None):
            if not patients:
                self.timeline.show_message(
                    "There are no patients yet. Import FHIR data or add patients first."
                )
            else:
                self.timeline.show_message("Choose a patient on the left to see their timeline.")
        self.databaseReady.emit()

    # -- timeline ----------------------------------------------------------------------
    def open_patient(self, patient: PatientSummary) -> None:
        if self.engine is None:
            return
        self.current_patient = patient
        self.statusBar().clearMessage()  # "Loaded 1457 events" was the last patient's
        self.timeline.show_loading(patient)
        self.progress.setRange(0, max(patient.event_count, 1))
        self.progress.setValue(0)
        self.progress.show()
        self.runner.run(
            load_timeline_work(self.engine, patient),
            success=lambda columns: self._on_timeline(patient, columns),
            failure=lambda error: self._on_failure(error, retry=lambda: self.open_patient(patient)),
            progress=self._on_timeline_progress,
            key="timeline",
        )

    def _on_patient_chosen(self, patient: PatientSummary) -> None:
        """Clicked or Enter: the lanes get the keyboard, now if that timeline is shown, else once it is."""
        shown, current = self.timeline.patient, self.current_patient
        loading = current is not None and (shown is None or shown.id != current.id)
        if not loading and shown is not None and shown.id == patient.id:
            self.timeline.focus_plot()
        else:
            self._keys_to_timeline_for = patient.id

    def _hand_keys_to_timeline(self, patient: PatientSummary) -> None:
        """After a load: the lanes take the keyboard unless the user is browsing or typing in the list."""
        chosen = self._keys_to_timeline_for == patient.id
        self._keys_to_timeline_for = None
        focus = QApplication.focusWidget()
        browsing = focus is not None and self.patients.isAncestorOf(focus)
        if chosen or not browsing:
            self.timeline.focus_plot()

    def _on_timeline_progress(self, value: object) -> None:
        assert isinstance(value, tuple)
        loaded, total = value
        self.progress.setRange(0, total)
        self.progress.setValue(loaded)
        self.timeline.show_progress(loaded, total)

    def _as_loaded(self, patient: PatientSummary, columns: TimelineColumns) -> PatientSummary:
        """``patient`` with the count and dates of what was just loaded, in the patient list too.

        The list is read at sign-in; a colleague's later change (an event made
        private, a new one) showed on the timeline but the list kept the old count.
        """
        patient = replace(
            patient,
            event_count=len(columns),
            first_event=from_epoch_ms(int(columns.time_ms[0])) if len(columns) else None,
            last_event=from_epoch_ms(int(columns.time_ms[-1])) if len(columns) else None,
        )
        self.patients.model.update_patient(patient)
        return patient

    def _on_timeline(self, patient: PatientSummary, columns: TimelineColumns | None) -> None:
        if columns is None or self.engine is None or self.current_patient is not patient:
            return  # cancelled, signed out, or another patient chosen since
        self.progress.hide()
        patient = self.current_patient = self._as_loaded(patient, columns)
        self.columns = columns
        assert self.engine is not None
        self.timeline.set_timeline(self.engine, patient, columns)
        self._set_export_enabled(bool(len(columns)))
        self.statusBar().showMessage(f"Loaded {count_of(len(columns), 'event')}", 5_000)
        self._hand_keys_to_timeline(patient)
        self.timelineShown.emit(patient)

    # -- errors ------------------------------------------------------------------------
    def _on_failure(self, error: BaseException, retry: Callable[[], object] | None = None) -> None:
        """A failed operation: a typed error is shown (with "Try again" when ``retry`` is given)."""
        if isinstance(error, ExportFailed):  # the timeline is fine; only the file failed
            self._show_error(str(error), keep_view=True)
            return
        if isinstance(error, ServiceError):
            self._show_error(str(error), retry=retry)
            return
        if isinstance(error, sa.exc.OperationalError | psycopg.OperationalError):
            # The COPY load runs on the driver's own cursor, so its errors come unwrapped.
            cause = error.orig if isinstance(error, sa.exc.OperationalError) else error
            if retry is not None and self.settings.uses_embedded:
                retry = self._restarting_server_then(retry)
            self._show_error(f"the database connection failed ({type(cause).__name__})", retry=retry)
            return
        raise error  # a bug: crash loudly

    def _before_read_retry(self, retry: Callable[[], object]) -> None:
        if self.settings.uses_embedded:
            self._restarting_server_then(retry)()
        else:
            retry()

    def _restarting_server_then(self, retry: Callable[[], object]) -> Callable[[], object]:
        """ "Try again" on the embedded server: start it first if it stopped (``main.py db stop``).

        Retrying against a stopped server failed every time, until the app was restarted.
        """
        settings = self.settings

        def restart(_token: CancelToken, _report: Callable[[object], None]) -> None:
            _start_embedded(settings)

        def again() -> None:
            self.runner.run(
                restart,
                success=lambda _none: retry(),
                failure=lambda error: self._on_failure(error, retry=again),
                key="restart-server",
            )

        return again

    def _show_error(
        self, message: str, *, keep_view: bool = False, retry: Callable[[], object] | None = None
    ) -> None:
        self.progress.hide()
        if not keep_view:
            self.timeline.show_message(f"Something went wrong: {message}", error=True, retry=retry)
        self.statusBar().showMessage(message)
        self.failed.emit(message)

    def closeEvent(self, event: object) -> None:
        self.edits.end_session()  # open editors close, their drafts kept for the next sign-in
        if self.identity is not None and self.engine is not None:
            engine, home = self.engine, self.settings.home

            def sign_out_on_close(_token: CancelToken, _report: Callable[[object], None]) -> None:
                with engine.begin() as conn:
                    append(conn, AuditKey.load(home), "sign_out")

            self.runner.run(sign_out_on_close, success=lambda _r: None, failure=lambda _e: None)
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.idle)
        self.shortcut_block.release()  # closed while locked: its filter would swallow the app's shortcuts
        self.runner.wait_for_done(10_000)
        if self.engine is not None:
            self.engine.dispose()
        super().closeEvent(event)  # type: ignore[arg-type]
