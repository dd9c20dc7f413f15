"""The detail pane names a related event by kind, date and title, never by its UUID."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from pytestqt.qtbot import QtBot

from tests.ui.conftest import UiDatabase, gui_thread_queries_allowed, open_patient
from ui.main_window import MainWindow
from ui.timeline_view import TimelineView

pytestmark = pytest.mark.ui


def _row_of(view: TimelineView, event_id: uuid.UUID) -> int:
    return int(np.flatnonzero(view.columns.ids == np.bytes_(event_id.bytes))[0])


def test_the_related_row_names_the_related_event(qtbot: QtBot, ui_database: UiDatabase) -> None:
    busy = ui_database.patients["busy"]
    with gui_thread_queries_allowed(), ui_database.engine.begin() as conn:
        plan = conn.execute(
            sa.text("SELECT id FROM timeline_events WHERE patient_id = :p AND title = 'Event 4'"), {"p": busy}
        ).scalar_one()
        review = conn.execute(
            sa.text(
                "UPDATE timeline_events SET related_entity_type = 'treatment_plan', related_entity_id = :plan "
                "WHERE patient_id = :p AND title = 'Event 9' RETURNING id"
            ),
            {"p": busy, "plan": plan},
        ).scalar_one()
        elsewhere = conn.execute(
            sa.text(
                "UPDATE timeline_events SET related_entity_type = 'lab_result', related_entity_id = gen_random_uuid() "
                "WHERE patient_id = :p AND title = 'Event 11' RETURNING id"
            ),
            {"p": busy},
        ).scalar_one()
    window = MainWindow(ui_database.settings)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.databaseReady, timeout=30_000):
        window.start()
    view = open_patient(qtbot, window, "Aspen Busy")
    with qtbot.waitSignal(view.detailShown, timeout=10_000):
        view.select_row(_row_of(view, review))
    qtbot.waitUntil(lambda: (view.detail.field_text("Related") or "").endswith("“Event 4”"), timeout=10_000)
    related = view.detail.field_text("Related") or ""
    assert related.startswith("Treatment plan, ") and str(plan) not in related
    with qtbot.waitSignal(view.detailShown, timeout=10_000):
        view.select_row(_row_of(view, elsewhere))
    assert view.detail.field_text("Related") == "Lab result (not on this timeline)"
