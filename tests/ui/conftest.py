"""UI fixtures: a committed database of its own, and a guard against GUI-thread queries.

UI work runs on worker threads with their own connections, so the usual
rolled-back ``db`` transaction would be invisible to it; UI tests get a
scratch database with committed rows instead.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from tests.factories import add_events, add_user
from viewer.db import migrate
from viewer.db.engine import make_engine
from viewer.db.settings import Settings, UrlSource


@dataclass
class UiDatabase:
    settings: Settings
    engine: sa.Engine
    patients: dict[str, uuid.UUID]


class GuiThreadQuery(AssertionError):
    """A query ran on the GUI thread: the window would freeze while it waits."""


_guard_active = threading.Event()


def _check_thread(what: str) -> None:
    if _guard_active.is_set() and threading.current_thread() is threading.main_thread():
        raise GuiThreadQuery(f"database {what} on the GUI thread")


def _guard(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    _check_thread(f"query {statement[:60]!r}")


def _guard_checkout(*_args: Any) -> None:
    _check_thread("connection checkout")  # any pooled or new connection: the wait starts here


def _guarded(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """A psycopg cursor method that refuses the GUI thread (COPY and raw driver calls bypass SQLAlchemy)."""

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        _check_thread(f"psycopg {name}")
        return method(self, *args, **kwargs)

    return call


@contextmanager
def gui_thread_queries_allowed() -> Iterator[None]:
    """The test's own database work on the GUI thread (holding a lock, say), not the app's."""
    armed = _guard_active.is_set()
    _guard_active.clear()
    try:
        yield
    finally:
        if armed:
            _guard_active.set()


@pytest.fixture(autouse=True)
def no_gui_thread_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Watch every engine, pool and psycopg cursor; ``ui_database`` arms the guard once its setup is done.

    Armed, any statement, connection checkout, COPY or raw driver call on the
    GUI (main) thread fails the test.  SQLAlchemy's statement hook alone
    misses the timeline's binary COPY, which runs on the driver's cursor.
    """
    sa.event.listen(sa.Engine, "before_cursor_execute", _guard)
    sa.event.listen(sa.pool.Pool, "checkout", _guard_checkout)
    for name in ("execute", "executemany", "copy", "stream"):
        monkeypatch.setattr(psycopg.Cursor, name, _guarded(name, getattr(psycopg.Cursor, name)))
    try:
        yield
    finally:
        _guard_active.clear()
        sa.event.remove(sa.pool.Pool, "checkout", _guard_checkout)
        sa.event.remove(sa.Engine, "before_cursor_execute", _guard)


@pytest.fixture
def ui_database(scratch_database: sa.URL, caseline_home: Path) -> Iterator[UiDatabase]:
    """Three committed patients: a busy one, a small one and one without events."""
    engine = make_engine(scratch_database, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        migrate.upgrade(conn)
        therapist = add_user(conn, "therapist", "ui_therapist")
        busy = conn.execute(
            sa.text(
                "INSERT INTO users (username, display_name, role) VALUES ('ui_busy', 'Aspen Busy', 'patient') RETURNING id"
            )
        ).scalar_one()
        small = conn.execute(
            sa.text(
                "INSERT INTO users (username, display_name, role) VALUES ('ui_small', 'Birch Small', 'patient') "
                "RETURNING id"
            )
        ).scalar_one()
        empty = conn.execute(
            sa.text(
                "INSERT INTO users (username, display_name, role) VALUES ('ui_empty', 'Cedar Empty', 'patient') "
                "RETURNING id"
            )
        ).scalar_one()
        add_events(conn, busy, 640, therapist_id=therapist, start=datetime(2024, 1, 1))
        add_events(conn, small, 24, therapist_id=therapist, start=datetime(2025, 6, 1))
    url = scratch_database.render_as_string(hide_password=False)
    settings = Settings(caseline_home, url, UrlSource.FLAG)
    _guard_active.set()
    try:
        yield UiDatabase(settings, engine, {"busy": busy, "small": small, "empty": empty})
    finally:
        _guard_active.clear()
        engine.dispose()


def open_patient(qtbot: Any, window: Any, name: str) -> Any:
    """Choose ``name`` in the window's patient list and wait until its timeline is shown."""
    listing = window.patients.list
    model = listing.model()
    index = next(model.index(r, 0) for r in range(model.rowCount()) if model.index(r, 0).data() == name)
    with qtbot.waitSignal(window.timelineShown, timeout=30_000):
        listing.setCurrentIndex(index)
    return window.timeline
