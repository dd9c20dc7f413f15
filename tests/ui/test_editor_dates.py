"""The editor's date box across daylight saving time and far from today, typed as a user types.

Under TZ=Europe/Berlin: on 29 Mar 2026 the clocks skip 02:00-03:00, on 25 Oct
2026 they pass 02:00-03:00 twice.  The editor used to keep its last time when
one from the gap was typed (saving the wrong hour without a word) and to read
the repeated hour as its first occurrence (moving an event an hour when only
its minutes were corrected).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDateTimeEdit
from pytestqt.qtbot import QtBot

from ui.event_editor import EventEditor
from viewer.domain import EventDraft, EventType
from viewer.event_form import FormValues

pytestmark = pytest.mark.ui
Section = QDateTimeEdit.Section


@pytest.fixture(autouse=True)
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _editor(qtbot: QtBot, when: datetime, *, existing: bool) -> EventEditor:
    draft = EventDraft(uuid.uuid4(), EventType.NOTE, when, "Crisis call", therapist_id=uuid.uuid4())
    editor = EventEditor(
        FormValues.from_draft(draft),
        event_id=uuid.uuid4() if existing else None,
        version=1 if existing else None,
        base=draft if existing else None,
    )
    qtbot.addWidget(editor)
    editor.show()
    return editor


def _type(editor: EventEditor, *sections: tuple[Section, str]) -> None:
    editor.date.setFocus()
    for section, text in sections:
        editor.date.setSelectedSection(section)
        QTest.keyClicks(editor.date, text)
    QTest.keyClick(editor.date, Qt.Key.Key_Tab)


def _saved(qtbot: QtBot, editor: EventEditor) -> list[EventDraft]:
    sent: list[EventDraft] = []
    editor.saveRequested.connect(sent.append)
    editor.request_save()
    return sent


def test_a_time_the_clocks_skip_is_refused_beside_the_field(qtbot: QtBot) -> None:
    editor = _editor(qtbot, datetime(2026, 3, 20, 19, 30, tzinfo=UTC), existing=False)
    _type(editor, (Section.DaySection, "29"), (Section.HourSection, "02"), (Section.MinuteSection, "30"))
    assert editor.date.text() == "2026-03-29 02:30"  # what was typed stays in the box
    assert _saved(qtbot, editor) == []
    message = editor.error_text("event_date")
    assert message.startswith("Date is in the hour the clocks skip") and "did you mean 03:30?" in message
    _type(editor, (Section.HourSection, "03"))
    assert editor.error_text("event_date") == ""
    (draft,) = _saved(qtbot, editor)
    assert draft.event_date == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_an_event_in_the_repeated_hour_keeps_its_occurrence_when_its_minutes_change(qtbot: QtBot) -> None:
    second_half_past_two = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, after the clocks went back
    editor = _editor(qtbot, second_half_past_two, existing=True)
    assert editor.date.text() == "2026-10-25 02:30"
    assert not editor.occurrence.isHidden() and editor.occurrence.currentIndex() == 1
    assert editor.occurrence.currentText() == "second (UTC+01:00)"
    _type(editor, (Section.MinuteSection, "45"))
    (draft,) = _saved(qtbot, editor)
    assert draft.event_date == datetime(2026, 10, 25, 1, 45, tzinfo=UTC)
    editor.occurrence.setCurrentIndex(0)  # the first 02:45, in summer time
    (draft,) = _saved(qtbot, editor)
    assert draft.event_date == datetime(2026, 10, 25, 0, 45, tzinfo=UTC)
    _type(editor, (Section.HourSection, "04"))
    assert editor.occurrence.isHidden()  # 04:45 happens once


def test_an_old_date_opens_as_it_is_and_is_kept(qtbot: QtBot) -> None:
    long_ago = datetime(1500, 6, 1, 12, 0, tzinfo=UTC)
    editor = _editor(qtbot, long_ago, existing=True)
    assert editor.date.text().startswith("1500-06-01")  # not Qt's floor of 14 Sep 1752
    assert editor.unchanged
    editor.title_edit.setText("Crisis call (typo fixed)")
    (draft,) = _saved(qtbot, editor)
    assert editor.draft_onto(draft).event_date == long_ago
