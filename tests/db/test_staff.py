"""A clinician leaves: deactivated (never deleted), private events handed over only by decision."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import Practice
from viewer.cli import main as cli_main
from viewer.db.engine import make_engine
from viewer.services.audit import AuditKey
from viewer.services.sign_in import SignInFailed, sign_in
from viewer.services.staff import StaffError, deactivate


def _private_titles(practice: Practice, actor: str) -> list[str]:
    engine = practice.engine_for(actor)
    with engine.connect() as conn:
        titles = conn.execute(
            sa.text("SELECT title FROM timeline_events WHERE is_private ORDER BY title")
        ).scalars()
        result = list(titles)
    engine.dispose()
    return result


def test_leaving_needs_a_decision_then_hands_private_events_over_and_closes_the_login(
    practice: Practice, capsys: pytest.CaptureFixture[str]
) -> None:
    key = AuditKey(bytes(range(32)))
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    author = practice.login("author")
    url = practice.url.render_as_string(hide_password=False)
    # The CLI refuses without a decision, names the way forward, and changes nothing.
    assert cli_main(["--database-url", url, "staff", "deactivate", author]) == 2
    assert "4 private events" in capsys.readouterr().err
    with pytest.raises(StaffError, match="no staff user"), owner.begin() as conn:
        deactivate(conn, key, "nobody", hand_over_to=None)
    assert _private_titles(practice, "colleague") == ["Event e8"]  # only the colleague's own
    with owner.begin() as conn:
        done = deactivate(conn, key, author, hand_over_to=practice.login("colleague"))
    assert (done.handed_over, done.kept_private) == (4, 0)
    # With the notes comes the care of those patients (P2, PD), or the colleague could not read them.
    assert _private_titles(practice, "colleague") == [
        "Event e12",
        "Event e2",
        "Event e4",
        "Event e6",
        "Event e8",
    ]
    with owner.connect() as conn:
        user = conn.execute(
            sa.text("SELECT is_active FROM users WHERE username = :u"), {"u": author}
        ).scalar_one()
        links = conn.execute(
            sa.text("SELECT count(*) FROM care_assignments WHERE therapist_id = :t AND active"),
            {"t": practice.users["author"]},
        ).scalar_one()
        audited = conn.execute(
            sa.text("SELECT count(*) FROM audit_log WHERE detail ? 'handed_over_from'")
        ).scalar_one()
        still_there = conn.execute(
            sa.text("SELECT count(*) FROM users WHERE username = :u"), {"u": author}
        ).scalar_one()
    owner.dispose()
    assert (user, links, audited, still_there) == (False, 0, 4, 1)
    gone = practice.engine_for("author")
    with pytest.raises(sa.exc.OperationalError, match="not permitted to log in"):
        gone.connect()
    gone.dispose()
    # Signing in says the login is closed; it used to read as "could not reach the database".
    with pytest.raises(SignInFailed, match=f"the login {author} is not an active Caseline clinician"):
        sign_in(practice.url.set(username=None, password=None), author, practice.passwords["author"])
    with pytest.raises(SignInFailed, match="wrong username or password"):
        sign_in(practice.url.set(username=None, password=None), author, "not the password")
    again = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with pytest.raises(StaffError, match="already deactivated"), again.begin() as conn:
        deactivate(conn, key, author, hand_over_to=None)
    again.dispose()
