"""Start the Qt application: the normal window, or an offscreen screenshot.

``--screenshot FILE`` renders the main window (with the chosen or first
patient's timeline) offscreen, saves it and exits: QA and the README use it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from viewer.cli import EXIT_USAGE, UserError
from viewer.db.settings import ConfigError, resolve_settings

if TYPE_CHECKING:
    from ui.timeline_view import TimelineView

log = logging.getLogger(__name__)

SCREENSHOT_TIMEOUT_MS = 120_000


def _parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--size must look like 1600x900, not {text!r}") from None
    if not (320 <= width <= 8000 and 240 <= height <= 8000):
        raise UserError("--size must be between 320x240 and 8000x8000")
    return width, height


def arrange_view(view: TimelineView, args: argparse.Namespace) -> None:
    """Apply the screenshot's filters and time range through the same controls a user would."""
    from viewer.domain import EventType, Importance
    from viewer.view_range import Preset, ViewRange

    bar = view.filters
    level = Importance[args.min_importance.upper()]
    bar.importance.setCurrentIndex(bar.importance.findData(level))
    if args.types:
        wanted = {name.strip() for name in args.types.split(",") if name.strip()}
        unknown = wanted - {t.value for t in EventType}
        if unknown:
            raise UserError(f"--types: unknown event type {sorted(unknown)[0]!r}")
        for event_type, box in bar.type_boxes.items():
            box.setChecked(event_type.value in wanted)
    preset = Preset[args.range.upper()]
    if args.at:
        try:
            day = datetime.strptime(args.at, "%Y-%m-%d")
        except ValueError:
            raise UserError("--at must look like 2026-03-14") from None
        noon = day.replace(hour=12).astimezone().timestamp() * 1000
        span = preset.span_ms or (view.history.span_ms if view.history else 0)
        view.plot.set_view_range(ViewRange.around(noon, span))
    else:
        view.apply_preset(preset)


@contextmanager
def _quit_on_signals(app: Any) -> Iterator[None]:
    """SIGTERM (a logout, a shutdown) and Ctrl+C quit the app as its Quit does, releasing the server.

    Killed by the default handler, the app left its embedded server running;
    and Qt's loop never hands Python the chance to see Ctrl+C, so a light
    timer wakes it a few times a second while a signal may arrive.
    """
    from PySide6.QtCore import QTimer

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    for number in previous:
        signal.signal(number, lambda _number, _frame: QTimer.singleShot(0, app.quit))
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    try:
        yield
    finally:
        wake.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_app(args: argparse.Namespace) -> int:
    """Open the main window (or take a screenshot); returns the process exit code."""
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        settings = resolve_settings(args.database_url)
        size = _parse_size(args.size)
        if args.screenshot and not os.path.isdir(os.path.dirname(os.path.abspath(args.screenshot))):
            raise UserError(f"--screenshot: no folder {os.path.dirname(os.path.abspath(args.screenshot))}")
        # Qt picks the format by the name: any other name failed to write, exit 1.
        if args.screenshot and not args.screenshot.lower().endswith(".png"):
            raise UserError(f"--screenshot: {args.screenshot} must end in .png")
    except (ConfigError, UserError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    import pyqtgraph as pg
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from ui.focus_style import FocusStyle
    from ui.main_window import MainWindow

    pg.setConfigOptions(antialias=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if not isinstance(app.style(), FocusStyle):  # a second run in one process keeps the first's
        app.setStyle(FocusStyle())
    app.setApplicationName("Caseline")
    app.setOrganizationName("Caseline")
    credentials: tuple[str, str] | None = None
    if args.user:
        from viewer.services.demo import read_credentials

        accounts = read_credentials(settings.home)
        password = accounts.get(args.user)
        if password is None:
            if accounts:
                known = ", ".join(sorted(accounts))
                print(
                    f"error: --user {args.user}: no such demo account here; there are: {known}",
                    file=sys.stderr,
                )
            else:  # a fresh home: the first start (or `main.py demo`) makes the demo accounts
                print(
                    f"error: --user {args.user}: this Caseline home has no demo accounts yet;"
                    " run `main.py demo` (or start the app once) first",
                    file=sys.stderr,
                )
            return EXIT_USAGE
        credentials = (args.user, password)
    window = MainWindow(settings, require_sign_in=not args.screenshot, auto_sign_in=credentials)
    window.resize(*size)
    patient_key: str | None = args.patient
    exit_code = 0

    deadline = QTimer()
    deadline.setSingleShot(True)
    finished = False  # saved or failed: a later signal of this window must not quit whatever runs then
    if args.screenshot:
        target = os.path.abspath(args.screenshot)

        def on_ready() -> None:
            patients = window.patients.model.patients
            if not patients:
                save()
                return
            if patient_key is None:
                # The richest history makes the most telling picture.
                chosen = max(patients, key=lambda p: (p.event_count, p.display_name))
            else:
                matches = [p for p in patients if patient_key in (str(p.id), p.username)]
                if not matches:
                    fail(f"no patient matches {patient_key!r}")
                    return
                chosen = matches[0]
            window.patients.select_patient(chosen.id)

        def save() -> None:
            nonlocal exit_code, finished
            if finished:
                return
            finished = True
            app.processEvents()
            if not window.grab().save(target):
                print(f"error: could not write {target}", file=sys.stderr)
                exit_code = 1
            else:
                print(target)
            app.quit()

        def fail(message: str) -> None:
            nonlocal exit_code, finished
            if finished:
                return
            finished = True
            print(f"error: {message}", file=sys.stderr)
            exit_code = EXIT_USAGE
            app.quit()

        window.databaseReady.connect(on_ready)

        def arrange() -> None:
            try:
                arrange_view(window.timeline, args)
            except UserError as exc:
                fail(str(exc))
                return
            if args.select or args.editor:
                view = window.timeline
                row = view.latest_row_in_view()
                if row is None:
                    fail("no event in view to select")
                    return
                # Settled, not shown: an administrator's pane shows no text, and waiting for one
                # hung the screenshot for two minutes.
                view.detailSettled.connect(
                    lambda: QTimer.singleShot(50, editor if args.editor else save),
                    Qt.ConnectionType.SingleShotConnection,
                )
                view.select_row(row)
                return
            QTimer.singleShot(50, save)

        def editor() -> None:
            detail = window.timeline.detail.detail
            if detail is None:
                fail("this user may not read the event's text, so there is no editor to show")
                return
            if "edit" in window.edits.allowed_on(detail):
                dialog = window.edits.edit_detail(detail)
            else:
                dialog = window.edits.new_event(detail.patient_id, None, detail.event_type)
            if dialog is None:
                fail("this user may not edit or add events here")
                return
            app.processEvents()
            nonlocal exit_code
            print(target if dialog.grab().save(target) else f"error: could not write {target}")
            app.quit()

        def when_drawn() -> None:
            # A big history's pyramid and overview density come a moment after the first paint (off
            # the GUI thread); a screenshot taken before showed an empty overview strip.
            if window.timeline.lod_ready:
                arrange()
            else:
                window.timeline.levelOfDetailReady.connect(arrange, Qt.ConnectionType.SingleShotConnection)

        window.timelineShown.connect(lambda _p: when_drawn())
        window.failed.connect(fail)
        deadline.timeout.connect(lambda: fail("timed out waiting for the timeline"))
        deadline.start(SCREENSHOT_TIMEOUT_MS)
    # A screenshot quits when it is done; closing its window afterwards must not post another quit
    # (that would end whatever event loop runs next in this process).
    quit_on_close = app.quitOnLastWindowClosed()
    if args.screenshot:
        app.setQuitOnLastWindowClosed(False)
    window.show()
    window.start()
    with _quit_on_signals(app):
        app.exec()
    # Nothing of this run may fire later (a pending deadline would quit whatever loop runs then).
    finished = True
    deadline.stop()
    window.close()
    window.deleteLater()
    app.setQuitOnLastWindowClosed(quit_on_close)
    return exit_code
