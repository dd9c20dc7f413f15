"""Signing in with one's own login, the idle lock and signing out, driven through the UI by objectName."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from tests.db.privacy_practice import Practice
from tests.ui.conftest import _guard_active
from tests.ui.naming import unnamed
from ui.main_window import MainWindow
from viewer.db.engine import make_engine
from viewer.db.settings import Settings, UrlSource
from viewer.services.sign_in import LAST_USER_FILE

pytestmark = pytest.mark.ui


@pytest.fixture
def window(qtbot: QtBot, practice: Practice, tmp_path: Path) -> Iterator[MainWindow]:
    settings = Settings(tmp_path, practice.url.render_as_string(hide_password=False), UrlSource.FLAG)
    win = MainWindow(settings, require_sign_in=True)
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    _guard_active.set()  # from here on, no query may run on the GUI thread
    win.start()
    qtbot.waitUntil(lambda: win.sign_in_dialog is not None and win.sign_in_dialog.isVisible(), timeout=30_000)
    yield win
    _guard_active.clear()


def _type_and_submit(qtbot: QtBot, win: MainWindow, username: str, password: str) -> None:
    dialog = win.sign_in_dialog
    assert dialog is not None
    assert unnamed(dialog) == []
    dialog.findChild(QLineEdit, "signInUsername").setText(username)
    dialog.findChild(QLineEdit, "signInPassword").setText(password)
    qtbot.mouseClick(dialog.findChild(QPushButton, "signInButton"), Qt.MouseButton.LeftButton)


def _sign_in(qtbot: QtBot, win: MainWindow, practice: Practice, actor: str) -> None:
    with qtbot.waitSignal(win.databaseReady, timeout=30_000):
        _type_and_submit(qtbot, win, practice.login(actor), practice.passwords[actor])


def test_wrong_password_is_refused_then_the_right_one_shows_only_my_patients(
    qtbot: QtBot, window: MainWindow, practice: Practice
) -> None:
    assert window.statusBar().currentMessage() == ""  # no "Preparing the database…" behind the dialog
    _type_and_submit(qtbot, window, practice.login("colleague"), "not-the-password")
    error = window.sign_in_dialog.findChild(QLabel, "signInError")  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: "wrong username or password" in error.text().lower(), timeout=30_000)
    assert window.identity is None
    _sign_in(qtbot, window, practice, "colleague")
    assert window.identity is not None and window.identity.username == practice.login("colleague")
    names = [p.display_name for p in window.patients.model.patients]
    assert names == ["Patient P1", "Patient P3", "Patient P4"]  # the colleague treats these, nobody else
    assert "Signed in as Staff colleague (therapist)" in window.findChild(QLabel, "signedInAs").text()
    _guard_active.clear()  # the test itself reads the audit log as the owner
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        audited = conn.execute(sa.text("SELECT actor, action FROM audit_log ORDER BY seq")).all()
    owner.dispose()
    assert (practice.login("colleague"), "sign_in") in [tuple(row) for row in audited]


def test_a_login_that_is_no_clinician_is_refused(
    qtbot: QtBot, window: MainWindow, practice: Practice
) -> None:
    _type_and_submit(qtbot, window, "nobody_here", "whatever")
    error = window.sign_in_dialog.findChild(QLabel, "signInError")  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: "wrong username or password" in error.text().lower(), timeout=30_000)


def test_idle_lock_hides_everything_and_asks_for_the_password(
    qtbot: QtBot, window: MainWindow, practice: Practice
) -> None:
    _sign_in(qtbot, window, practice, "author")
    window.idle.timer.setInterval(30)  # idle for 30 ms instead of 15 minutes
    with qtbot.waitSignal(window.locked, timeout=10_000):
        window.idle.start()
    assert window.pages.currentWidget() is window.lock_screen
    assert not window.content.isVisible()
    password = window.lock_screen.findChild(QLineEdit, "unlockPassword")
    button = window.lock_screen.findChild(QPushButton, "unlockButton")
    password.setText("wrong")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    button.setFocus(Qt.FocusReason.MouseFocusReason)  # where a click leaves it
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    # The click's focus is not passed on to "Sign out…", where a Space signed the clinician out.
    sign_out = window.lock_screen.findChild(QPushButton, "lockSignOutButton")
    assert sign_out is not None and not sign_out.hasFocus()
    error = window.lock_screen.findChild(QLabel, "unlockError")
    qtbot.waitUntil(lambda: "not the password" in error.text(), timeout=30_000)
    assert window.pages.currentWidget() is window.lock_screen
    password.setText(practice.passwords["author"])
    with qtbot.waitSignal(window.unlocked, timeout=30_000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.content
    assert [p.display_name for p in window.patients.model.patients] == [
        "Patient P1",
        "Patient P2",
        "Patient PD",
    ]


def test_sign_out_forgets_the_patients_and_asks_again(
    qtbot: QtBot, window: MainWindow, practice: Practice
) -> None:
    _sign_in(qtbot, window, practice, "author")
    first_dialog = window.sign_in_dialog
    window.sign_out_action.trigger()
    assert window.identity is None and window.patients.model.patients == []
    qtbot.waitUntil(lambda: window.sign_in_dialog is not None and window.sign_in_dialog is not first_dialog)
    _sign_in(qtbot, window, practice, "outsider")
    assert window.patients.model.patients == []  # treats nobody: sees nobody


def test_unticking_remember_forgets_the_kept_username(
    qtbot: QtBot, window: MainWindow, practice: Practice, tmp_path: Path
) -> None:
    """Unticked, the box still left the last username for the next person at a shared workstation."""
    dialog = window.sign_in_dialog
    assert dialog is not None
    dialog.findChild(QCheckBox, "signInRemember").setChecked(True)
    _sign_in(qtbot, window, practice, "author")
    kept = tmp_path / LAST_USER_FILE
    assert kept.read_text(encoding="utf-8").strip() == practice.login("author")
    window.sign_out_action.trigger()
    qtbot.waitUntil(lambda: window.sign_in_dialog is not None and window.sign_in_dialog is not dialog)
    again = window.sign_in_dialog
    assert again.findChild(QLineEdit, "signInUsername").text() == practice.login("author")
    again.findChild(QCheckBox, "signInRemember").setChecked(False)
    _sign_in(qtbot, window, practice, "colleague")
    assert not kept.exists()


def test_a_workstation_without_the_clinics_audit_key_cannot_sign_in_and_is_told_how(
    qtbot: QtBot, practice: Practice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its own new key would fork the practice's audit chain, so sign-in stops and says what to copy."""
    monkeypatch.delenv("CASELINE_AUDIT_KEY", raising=False)
    settings = Settings(tmp_path, practice.url.render_as_string(hide_password=False), UrlSource.FLAG)
    win = MainWindow(settings, require_sign_in=True)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.sign_in_dialog is not None and win.sign_in_dialog.isVisible(), timeout=30_000)
    _type_and_submit(qtbot, win, practice.login("colleague"), practice.passwords["colleague"])
    error = win.sign_in_dialog.findChild(QLabel, "signInError")  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: "audit trail" in error.text(), timeout=30_000)
    assert "audit.key" in error.text() and "CASELINE_AUDIT_KEY" in error.text()
    assert win.identity is None and not (tmp_path / "audit.key").exists()
    win.close()


def test_sign_out_forgets_the_search_and_filters_for_the_next_clinician(
    qtbot: QtBot, window: MainWindow, practice: Practice
) -> None:
    """The author's search (its match count counting her private notes) and filters stayed on screen,
    and were applied to the next login's timeline of the same patient."""
    from PySide6.QtWidgets import QComboBox

    from tests.ui.conftest import open_patient

    _sign_in(qtbot, window, practice, "author")
    timeline = open_patient(qtbot, window, "Patient P1")
    bar = timeline.filters
    bar.findChild(QComboBox, "filterPrivate").setCurrentIndex(2)  # only private
    bar.search.setText("e")
    qtbot.waitUntil(lambda: timeline.filter.text_rows is not None, timeout=30_000)
    window.patients.search.setText("P1")
    first_dialog = window.sign_in_dialog
    window.sign_out_action.trigger()
    assert window.patients.search.text() == "" and window.statusBar().currentMessage() == ""
    assert bar.search.text() == "" and bar.match_label.text() == ""
    assert timeline.filter.is_default and bar.summary.text() == "Showing all events"
    qtbot.waitUntil(lambda: window.sign_in_dialog is not None and window.sign_in_dialog is not first_dialog)
    _sign_in(qtbot, window, practice, "colleague")
    timeline = open_patient(qtbot, window, "Patient P1")
    assert timeline.filter.is_default and len(timeline.index) == len(timeline.columns)
    assert timeline.plot.layer.highlight is None  # nothing of the last search haloed


def test_an_administrator_sees_markers_and_is_not_offered_texts(
    qtbot: QtBot, window: MainWindow, practice: Practice
) -> None:
    """Every hover of an administrator's read the text, was refused, and replaced the timeline with an
    error page; the title search was refused by the database and stayed on "searching…"."""
    from tests.ui.conftest import open_patient

    _sign_in(qtbot, window, practice, "admin")
    timeline = open_patient(qtbot, window, "Patient P1")
    assert not timeline.filters.search.isEnabled()
    timeline.show_tooltip(0)
    timeline.select_row(1)
    assert "not the text" in timeline.tooltip_for_row(0)
    assert "not the text" in timeline.detail.hint.text()
    assert timeline.stack.currentIndex() == timeline.PLOT_PAGE
    assert window.statusBar().currentMessage() == "Loaded 3 events"  # no error since
    window.sign_out_action.trigger()
    assert timeline.filters.search.isEnabledTo(timeline.filters)  # the next login is offered the search


def test_sign_out_forgets_the_tooltip_of_the_last_clinicians_private_note(
    qtbot: QtBot, window: MainWindow, practice: Practice
) -> None:
    """The author's tooltip stayed on the plot after sign-out; the next login, resting the pointer on
    the same row number of her own timeline, was shown the author's private title and name."""
    from tests.ui.conftest import open_patient

    _sign_in(qtbot, window, practice, "author")
    timeline = open_patient(qtbot, window, "Patient P1")
    private = practice.events["e2"]
    row = int(np.flatnonzero(timeline.columns.ids == np.bytes_(private.bytes))[0])
    timeline.show_tooltip(row)
    timeline._hover_row = row  # as a pointer resting on the marker leaves it
    qtbot.waitUntil(lambda: "Event e2" in timeline.plot.toolTip(), timeout=10_000)
    first_dialog = window.sign_in_dialog
    window.sign_out_action.trigger()
    assert timeline.plot.toolTip() == "" and timeline._hover_row is None
    qtbot.waitUntil(lambda: window.sign_in_dialog is not None and window.sign_in_dialog is not first_dialog)
    _sign_in(qtbot, window, practice, "colleague")
    timeline = open_patient(qtbot, window, "Patient P1")
    assert timeline._hover_row is None and "Event e2" not in timeline.plot.toolTip()
    own = timeline.columns.event_id(row)
    assert own != private
    timeline._hover_row = row
    timeline.show_tooltip(row)  # what the pointer resting on that row number shows now
    qtbot.waitUntil(lambda: "…" not in timeline.plot.toolTip(), timeout=10_000)
    assert "Event e2" not in timeline.plot.toolTip()


def test_a_late_tooltip_read_does_not_land_on_the_next_patients_row(
    qtbot: QtBot, window: MainWindow, practice: Practice
) -> None:
    from tests.ui.conftest import open_patient

    _sign_in(qtbot, window, practice, "author")
    timeline = open_patient(qtbot, window, "Patient P1")
    columns = timeline.columns
    timeline.show_tooltip(0)  # its read is on its way
    timeline._hover_row = 0
    timeline.set_timeline(timeline.engine, timeline.patient, columns)  # the same history, loaded again
    assert timeline._hover_row is None and timeline.plot.toolTip() == ""


def test_esc_in_the_sign_in_dialog_does_not_quit_and_a_signed_in_dialog_keeps_no_password(
    qtbot: QtBot, window: MainWindow, practice: Practice
) -> None:
    """Esc closed the whole app, a username half typed; and every dialog signed in through stayed
    alive, hidden, its password still in its box."""
    import shiboken6

    dialog = window.sign_in_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.username, "half")
    qtbot.keyClick(dialog.username, Qt.Key.Key_Escape)
    assert dialog.isVisible() and window.isVisible() and dialog.username.text() == "half"
    dialog.username.clear()
    _sign_in(qtbot, window, practice, "author")
    assert window.sign_in_dialog is None
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=10_000)


def test_a_sign_in_that_cannot_reach_the_database_says_so_in_the_dialog_and_can_be_tried_again(
    qtbot: QtBot, window: MainWindow, practice: Practice
) -> None:
    """With the server gone, the dialog sat on "Signing in…", its button off, the reason behind it."""
    base = window._base_url
    assert base is not None
    window._base_url = base.set(host="/nonexistent-socket-dir", port=1)  # nothing listens there
    dialog = window.sign_in_dialog
    assert dialog is not None
    _type_and_submit(qtbot, window, practice.login("author"), practice.passwords["author"])
    error = dialog.findChild(QLabel, "signInError")
    qtbot.waitUntil(lambda: "could not reach the database" in error.text().lower(), timeout=30_000)
    assert dialog.submit.isEnabled() and window.identity is None
    window._base_url = base  # the server is back
    with qtbot.waitSignal(window.databaseReady, timeout=30_000):
        qtbot.mouseClick(dialog.submit, Qt.MouseButton.LeftButton)
    assert window.identity is not None
