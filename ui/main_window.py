"""The main window: patient list on the left, the selected patient's timeline on the right.

All database work goes through the :class:`OperationRunner`; the window only
reacts to results.  Switching patient supersedes the previous timeline load
(key ``"timeline"``), so a slow old load can never overwrite a newer choice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPageLayout, QPainter
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui.export import ExportFailed, caption_for, export_work, paint_on_page
from ui.operations import CancelToken, OperationRunner
from ui.patient_list import PatientListPanel
from ui.style import BANNER_STYLE
from ui.timeline_view import TimelineView
from viewer.db.settings import Settings
from viewer.services.errors import ServiceError
from viewer.services.patients import PatientSummary, list_patients
from viewer.services.startup import StartupResult, prepare_database
from viewer.services.timeline_copy import copy_timeline
from viewer.services.timeline_query import TimelineColumns

log = logging.getLogger(__name__)

DEMO_BANNER = (
    "Demo practice: every patient and clinician here is synthetic, made up by Caseline's demo generator. "
    "No real person is described."
)


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


class MainWindow(QMainWindow):
    """Caseline's main window.

    Signals:
        databaseReady(): the database is prepared and the patient list is loaded.
        timelineShown(object): a patient's timeline finished drawing (the ``PatientSummary``).
        exported(object): an export was written (its ``Path``).
        failed(str): something the user must know went wrong (also shown in the window).
    """

    databaseReady = Signal()
    timelineShown = Signal(object)
    exported = Signal(object)
    failed = Signal(str)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.timeline = TimelineView(self.runner, self)
        self.timeline.show_message("Preparing the database…")

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("mainSplitter")
        splitter.setAccessibleName("Patients and timeline")
        splitter.addWidget(self.patients)
        splitter.addWidget(self.timeline)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 1000])

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("loadProgress")
        self.progress.setAccessibleName("Loading progress")
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.statusBar().setObjectName("statusBar")
        self.statusBar().setAccessibleName("Status")
        self.statusBar().addPermanentWidget(self.progress)

        self._build_file_menu()

        find = QAction("Find patient", self)
        find.setObjectName("findPatientAction")
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(lambda: self.patients.search.setFocus(Qt.FocusReason.ShortcutFocusReason))
        self.addAction(find)

    def _build_file_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.setObjectName("fileMenu")
        menu.setAccessibleName("File")
        self.menuBar().setObjectName("menuBar")
        self.menuBar().setAccessibleName("Menu bar")
        self.export_actions: list[QAction] = []
        for fmt, text in (
            ("png", "Export view as &PNG…"),
            ("svg", "Export view as &SVG…"),
            ("pdf", "Export view as P&DF…"),
        ):
            action = menu.addAction(text)
            action.setObjectName(f"export{fmt.capitalize()}Action")
            action.triggered.connect(lambda _=False, f=fmt: self._ask_export(f))
            self.export_actions.append(action)
        self.print_action = menu.addAction("&Print view…")
        self.print_action.setObjectName("printAction")
        self.print_action.setShortcut(QKeySequence.StandardKey.Print)
        self.print_action.triggered.connect(self._print)
        self.export_actions.append(self.print_action)
        menu.addSeparator()
        quit_action = menu.addAction("&Quit")
        quit_action.setObjectName("quitAction")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self._set_export_enabled(False)

    def _set_export_enabled(self, enabled: bool) -> None:
        for action in self.export_actions:
            action.setEnabled(enabled)

    def _ask_export(self, fmt: str) -> None:
        patient = self.timeline.patient
        if patient is None:
            return
        suggested = str(Path.home() / f"{patient.username}-timeline.{fmt}")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the timeline view", suggested, f"{fmt.upper()} (*.{fmt})"
        )
        if path:
            target = Path(path)
            self.export_view(target if target.suffix else target.with_suffix(f".{fmt}"))

    def export_view(self, path: Path) -> None:
        """Write the visible timeline with its caption to ``path`` (.png, .svg or .pdf) in the background."""
        try:
            work = export_work(self.timeline, path)
        except ServiceError as exc:
            self._show_error(str(exc), keep_view=True)
            return
        self.statusBar().showMessage(f"Exporting to {path.name}…")
        self.runner.run(work, success=self._on_exported, failure=self._on_failure, key="export")

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
        painter = QPainter(printer)
        page = printer.pageLayout().paintRectPixels(printer.resolution())
        paint_on_page(
            painter, QRect(0, 0, page.width(), page.height()), self.timeline, caption_for(self.timeline)
        )
        painter.end()
        self.statusBar().showMessage("Sent the view to the printer", 5_000)

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
            failure=self._on_failure,
        )

    def _on_database_ready(self, result: StartupResult) -> None:
        self.engine = result.engine
        self.banner.setVisible(result.has_demo_data)
        if result.demo_loaded_now:
            self.statusBar().showMessage(
                "Loaded the synthetic demo practice into a new embedded database.", 10_000
            )
        self.refresh_patients()

    def refresh_patients(self) -> None:
        engine = self.engine
        assert engine is not None

        def work(_token: CancelToken, _report: Callable[[object], None]) -> list[PatientSummary]:
            with engine.connect() as conn:
                return list_patients(conn)

        self.runner.run(work, success=self._on_patients, failure=self._on_failure, key="patients")

    def _on_patients(self, patients: list[PatientSummary]) -> None:
        self.progress.hide()
        self.patients.set_patients(patients)
        self.statusBar().showMessage(f"{len(patients)} patients", 5_000)
        if not patients:
            self.timeline.show_message("There are no patients yet. Import FHIR data or add patients first.")
        else:
            self.timeline.show_message("Choose a patient on the left to see their timeline.")
        self.databaseReady.emit()

    # -- timeline ----------------------------------------------------------------------
    def open_patient(self, patient: PatientSummary) -> None:
        if self.engine is None:
            return
        self.current_patient = patient
        self.timeline.show_loading(patient)
        self.progress.setRange(0, max(patient.event_count, 1))
        self.progress.setValue(0)
        self.progress.show()
        self.runner.run(
            load_timeline_work(self.engine, patient),
            success=lambda columns: self._on_timeline(patient, columns),
            failure=self._on_failure,
            progress=self._on_timeline_progress,
            key="timeline",
        )

    def _on_timeline_progress(self, value: object) -> None:
        assert isinstance(value, tuple)
        loaded, total = value
        self.progress.setRange(0, total)
        self.progress.setValue(loaded)

    def _on_timeline(self, patient: PatientSummary, columns: TimelineColumns | None) -> None:
        if columns is None:  # cancelled
            return
        self.progress.hide()
        self.columns = columns
        assert self.engine is not None
        self.timeline.set_timeline(self.engine, patient, columns)
        self._set_export_enabled(bool(len(columns)))
        self.statusBar().showMessage(f"{len(columns)} events shown", 5_000)
        self.timelineShown.emit(patient)

    # -- errors ------------------------------------------------------------------------
    def _on_failure(self, error: BaseException) -> None:
        if isinstance(error, ExportFailed):  # the timeline is fine; only the file failed
            self._show_error(str(error), keep_view=True)
            return
        if isinstance(error, ServiceError):
            self._show_error(str(error))
            return
        if isinstance(error, sa.exc.OperationalError):
            self._show_error(f"the database connection failed ({type(error.orig).__name__})")
            return
        raise error  # a bug: crash loudly

    def _show_error(self, message: str, *, keep_view: bool = False) -> None:
        self.progress.hide()
        if not keep_view:
            self.timeline.show_message(f"Something went wrong: {message}", error=True)
        self.statusBar().showMessage(message)
        self.failed.emit(message)

    def closeEvent(self, event: object) -> None:
        self.runner.wait_for_done(10_000)
        if self.engine is not None:
            self.engine.dispose()
        super().closeEvent(event)  # type: ignore[arg-type]
