"""File > Import FHIR and File > Export as FHIR: background work, progress, a summary.

Importing creates patients and events nobody in Caseline authored, so it is an
administrator's task and runs with the database owner's rights (the app holds
them from start-up, as every Caseline process on the embedded server does);
the audit row names the owner and, in its detail, the administrator.
Exporting runs under the signed-in clinician's own login, like every read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from ui.operations import CancelToken, OperationRunner
from viewer.db.engine import make_engine
from viewer.fhir.reader import FhirInputError
from viewer.services.audit import AuditKey
from viewer.services.fhir_export import export_patient, write_bundle
from viewer.services.fhir_import import FileSummary, import_paths

ImportResult = tuple[list[FileSummary], list[FhirInputError]]
PROGRESS_SCALE = 1000  # the bar counts per mille of the run's bytes, so a big file moves it too


def import_summary_text(done: list[FileSummary], failed: list[FhirInputError]) -> str:
    lines = [summary.render() for summary in done]
    lines += [f"Not imported: {error} — nothing from this file was written." for error in failed]
    total = sum(s.created for s in done)
    head = f"{len(done)} of {len(done) + len(failed)} files imported, {total} new events."
    return "\n".join([head, "", *lines])


class FhirActions(QObject):
    """Signals: imported(object): the ``(summaries, errors)``; fhirExported(object): the written ``Path``."""

    imported = Signal(object)
    fhirExported = Signal(object)

    def __init__(self, parent: QWidget, runner: OperationRunner, home: Path) -> None:
        super().__init__(parent)
        self._parent = parent
        self._runner = runner
        self._home = home
        self.summary_box: QMessageBox | None = None

    def import_files(
        self,
        owner_url: sa.URL,
        paths: list[Path],
        progress: Callable[[int, int], None],
        failure: Callable[[BaseException], None],
        imported_by: str | None = None,
    ) -> None:
        """Import in the background; ``progress`` hears (per mille done, 1000), within files too."""
        home = self._home

        def work(token: CancelToken, report: Callable[[object], None]) -> ImportResult:
            engine = make_engine(owner_url, poolclass=sa.pool.NullPool)
            try:
                return import_paths(
                    engine,
                    AuditKey.load(home),
                    paths,
                    imported_by=imported_by,
                    progress=lambda step: report((round(step.done * PROGRESS_SCALE), PROGRESS_SCALE)),
                )
            finally:
                engine.dispose()

        def show_progress(value: object) -> None:
            assert isinstance(value, tuple)
            progress(*value)

        self._runner.run(
            work, success=self._show_summary, failure=failure, progress=show_progress, key="import"
        )

    def _show_summary(self, result: ImportResult) -> None:
        done, failed = result
        box = QMessageBox(self._parent)
        box.setObjectName("importSummary")
        box.setAccessibleName("Import summary")
        box.setWindowTitle("FHIR import")
        box.setIcon(QMessageBox.Icon.Warning if failed else QMessageBox.Icon.Information)
        text = import_summary_text(done, failed)
        box.setText(text.split("\n", 1)[0])
        box.setDetailedText(text)
        box.setInformativeText("\n".join(text.split("\n")[2:8]))
        self.summary_box = box
        box.open()
        self.imported.emit(result)

    def export_patient(
        self, engine: sa.Engine, patient_id: object, path: Path, failure: Callable[[BaseException], None]
    ) -> None:
        home = self._home

        def work(_token: CancelToken, _report: Callable[[object], None]) -> Path:
            with engine.begin() as conn:
                bundle = export_patient(conn, AuditKey.load(home), patient_id)  # type: ignore[arg-type]
            return write_bundle(bundle, path)

        self._runner.run(work, success=self.fhirExported.emit, failure=failure, key="export-fhir")
