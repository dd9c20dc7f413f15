"""The guard that keeps database work off the GUI thread fires, whichever road the work takes.

The UI tests lean on it ("no GUI-thread database call"), so it must itself be
able to fail: a statement, a connection checkout, and the timeline's binary
COPY (which runs on the driver's cursor, where SQLAlchemy's hooks never see
it) are each caught on the GUI thread and each let through on a worker.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tests.ui.conftest import GuiThreadQuery, UiDatabase, gui_thread_queries_allowed
from viewer.services.timeline_copy import copy_timeline

pytestmark = pytest.mark.ui


def test_a_statement_or_checkout_on_the_gui_thread_fails(ui_database: UiDatabase) -> None:
    with pytest.raises(GuiThreadQuery, match="GUI thread"), ui_database.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def test_a_copy_on_the_gui_thread_fails(ui_database: UiDatabase) -> None:
    with gui_thread_queries_allowed():
        conn = ui_database.engine.connect()  # checked out while the guard looks away
        conn.execute(sa.text("SELECT 1"))
    try:
        with pytest.raises(GuiThreadQuery, match="psycopg"):
            copy_timeline(conn, ui_database.patients["busy"])  # no SQLAlchemy statement is involved
        driver = conn.connection.driver_connection
        assert driver is not None
        with pytest.raises(GuiThreadQuery, match="psycopg copy"), driver.cursor() as cursor:
            cursor.copy("COPY (SELECT 1) TO STDOUT")
        with pytest.raises(GuiThreadQuery, match="psycopg execute"):
            driver.execute("SELECT 1")
    finally:
        with gui_thread_queries_allowed():
            conn.close()


def test_the_same_work_on_a_worker_thread_passes(ui_database: UiDatabase) -> None:
    results: list[object] = []

    def work() -> None:
        try:
            with ui_database.engine.connect() as conn:
                columns = copy_timeline(conn, ui_database.patients["busy"])
                results.append(len(columns) if columns is not None else None)
        except BaseException as exc:  # reported to the test below
            results.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(30)
    assert results == [640]
