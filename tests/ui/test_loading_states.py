"""Loading shows progress without blocking the window; a failed load says so and offers to try again.

The database is made slow or failing for real, never mocked: the test holds
an exclusive lock on ``timeline_events`` from its own connection, so the
app's COPY waits (loading) or, with a ``lock_timeout``, fails (error).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.conftest import UiDatabase, gui_thread_queries_allowed
from ui.main_window import MainWindow
from viewer.db.embedded import EmbeddedServer
from viewer.db.settings import Settings, UrlSource

pytestmark = pytest.mark.ui


@contextmanager
def timeline_locked(engine: sa.Engine) -> Iterator[None]:
    """Every read of ``timeline_events`` waits until the block ends."""
    with gui_thread_queries_allowed():
        conn = engine.connect()
        transaction = conn.begin()
        conn.execute(sa.text("LOCK TABLE timeline_events IN ACCESS EXCLUSIVE MODE"))
    try:
        yield
    finally:
        with gui_thread_queries_allowed():
            transaction.rollback()
            conn.close()


def _window(qtbot: QtBot, ui_database: UiDatabase) -> MainWindow:
    window = MainWindow(ui_database.settings)
    qtbot.addWidget(window)
    window.resize(1200, 700)
    window.show()
    with qtbot.waitSignal(window.databaseReady, timeout=30_000):
        window.start()
    return window


def _choose(window: MainWindow, name: str) -> None:
    model = window.patients.list.model()
    index = next(model.index(r, 0) for r in range(model.rowCount()) if model.index(r, 0).data() == name)
    window.patients.list.setCurrentIndex(index)


def test_loading_shows_progress_and_the_window_stays_usable(qtbot: QtBot, ui_database: UiDatabase) -> None:
    window = _window(qtbot, ui_database)
    view = window.timeline
    # The wait for the timeline starts when the lock is gone (the inner block ends first).
    with qtbot.waitSignal(window.timelineShown, timeout=30_000), timeline_locked(ui_database.engine):
        _choose(window, "Aspen Busy")
        qtbot.waitUntil(window.progress.isVisible, timeout=5_000)
        assert window.progress.maximum() == 640
        assert view.stack.currentIndex() == view.MESSAGE_PAGE
        assert view.message.text().startswith("Loading 640 events")
        assert view.retry.isHidden()
        qtbot.keyClicks(window.patients.search, "zz")  # the GUI thread is free while the load waits
        assert window.patients.list.model().rowCount() == 0
    assert not window.progress.isVisible()
    assert view.stack.currentIndex() == view.PLOT_PAGE and len(view.columns) == 640


def test_a_failed_load_says_so_and_try_again_loads_it(qtbot: QtBot, ui_database: UiDatabase) -> None:
    with gui_thread_queries_allowed(), ui_database.engine.begin() as conn:
        name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        conn.execute(sa.text(f"ALTER DATABASE \"{name}\" SET lock_timeout = '200ms'"))  # new sessions only
    window = _window(qtbot, ui_database)
    view = window.timeline
    with timeline_locked(ui_database.engine):
        with qtbot.waitSignal(window.failed, timeout=30_000) as failure:
            _choose(window, "Aspen Busy")
        assert "database connection failed" in failure.args[0]
        assert view.stack.currentIndex() == view.MESSAGE_PAGE
        assert view.message.text().startswith("Something went wrong:")
        assert view.retry.isVisible() and view.retry.accessibleName()
        assert not window.progress.isVisible()
    with qtbot.waitSignal(window.timelineShown, timeout=30_000) as shown:
        qtbot.mouseClick(view.retry, Qt.MouseButton.LeftButton)
    assert shown.args[0].display_name == "Aspen Busy"
    assert view.stack.currentIndex() == view.PLOT_PAGE and len(view.columns) == 640
    assert view.retry.isHidden()


def test_the_last_patients_time_range_leaves_with_them(qtbot: QtBot, ui_database: UiDatabase) -> None:
    """The toolbar used to show the previous patient's dates over a new patient's loading and empty states."""
    window = _window(qtbot, ui_database)
    view = window.timeline
    with qtbot.waitSignal(window.timelineShown, timeout=30_000):
        _choose(window, "Aspen Busy")
    assert view.range_label.text()
    with qtbot.waitSignal(window.timelineShown, timeout=30_000), timeline_locked(ui_database.engine):
        _choose(window, "Cedar Empty")
        qtbot.waitUntil(lambda: view.message.text().startswith("Loading"), timeout=5_000)
        assert view.range_label.text() == ""
    assert view.message.text() == "No events recorded for this patient yet."
    assert view.range_label.text() == ""


@pytest.mark.slow
def test_try_again_after_the_embedded_server_was_stopped_starts_it(qtbot: QtBot, tmp_path: Path) -> None:
    """``main.py db stop`` under a running app: "Try again" failed every time until the app restarted."""
    window = MainWindow(Settings(tmp_path / "home", None, UrlSource.EMBEDDED))
    qtbot.addWidget(window)
    window.resize(1200, 700)
    window.show()
    with qtbot.waitSignal(window.databaseReady, timeout=90_000):
        window.start()
    server = EmbeddedServer(tmp_path / "home")
    try:
        assert server.stop()  # what `main.py db stop` does from another terminal
        with qtbot.waitSignal(window.failed, timeout=30_000) as failure:
            window.patients.list.setCurrentIndex(window.patients.list.model().index(0, 0))
        assert "database connection failed" in failure.args[0]
        with qtbot.waitSignal(window.timelineShown, timeout=60_000):
            qtbot.mouseClick(window.timeline.retry, Qt.MouseButton.LeftButton)
        assert server.is_running() and len(window.timeline.columns) > 0
    finally:
        window.close()
        server.stop()
