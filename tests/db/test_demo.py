"""The demo practice: deterministic, complete enough to show everything, real logins, reloadable."""

from __future__ import annotations

import json
import stat
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from viewer.db.embedded import EmbeddedServer
from viewer.db.engine import make_engine
from viewer.db.settings import Settings, UrlSource
from viewer.domain import EventType, Importance
from viewer.services.demo import (
    CREDENTIALS_FILE_NAME,
    DEFAULT_ANCHOR,
    generate_demo,
    load_demo,
    read_credentials,
)

pytestmark = pytest.mark.db


def test_same_seed_same_practice_other_seed_other_practice() -> None:
    first, again, other = generate_demo(7), generate_demo(7), generate_demo(8)
    assert first.events == again.events and first.users == again.users
    assert [e.id for e in first.events] != [e.id for e in other.events]


def test_practice_covers_what_the_product_shows() -> None:
    practice = generate_demo()
    roles = Counter(user.role for user in practice.users)
    assert roles["therapist"] >= 3 and roles["supervisor"] >= 1
    assert roles["admin"] >= 1 and roles["qa"] >= 1 and roles["patient"] >= 12
    assert all(user.username.startswith("demo_") for user in practice.users)
    supervised = Counter(supervisor for supervisor, _ in practice.supervisions)
    assert max(supervised.values()) >= 2

    combos = {(event.event_type, event.importance) for event in practice.events}
    assert combos == {(t, i) for t in EventType for i in Importance}, "every type at every importance"
    assert any(event.is_private for event in practice.events)

    by_patient: dict[object, list[object]] = {}
    for event in practice.events:
        by_patient.setdefault(event.patient_id, []).append(event.event_date)
        assert event.event_date < DEFAULT_ANCHOR
        assert 1 <= len(event.title) <= 200
    assert len(by_patient) == roles["patient"], "every patient has a history"
    for dates in by_patient.values():
        span = max(dates) - min(dates)  # type: ignore[operator]
        assert timedelta(days=365 * 2 - 60) <= span <= timedelta(days=365 * 3 + 30)
    sizes = sorted(len(dates) for dates in by_patient.values())
    assert 1200 <= sizes[-1] <= 2000, "one dense patient shows the level of detail"


def _counts(engine: sa.Engine) -> tuple[int, int, int, int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                """SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM timeline_events),
                          (SELECT count(*) FROM timeline_events WHERE is_private),
                          (SELECT count(*) FROM care_assignments), (SELECT count(*) FROM supervisions)"""
            )
        ).one()
    return tuple(row)  # type: ignore[return-value]


def test_load_writes_the_practice_and_reloading_replaces_only_demo_rows(
    fresh_engine: sa.Engine, tmp_path: Path
) -> None:
    settings = Settings(tmp_path, None, UrlSource.EMBEDDED)
    with fresh_engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO users (username, display_name, role) VALUES ('clinic_x', 'X', 'patient')")
        )
    summary = load_demo(fresh_engine, settings, patients=12)
    users, events, private, links, supervisions = _counts(fresh_engine)
    assert events == summary.events and private == summary.private_events > 0
    assert users == summary.patients + summary.clinicians + 1
    assert supervisions >= 2 and links >= 12
    with fresh_engine.connect() as conn:
        per_type = dict(
            conn.execute(sa.text("SELECT event_type, count(*) FROM timeline_events GROUP BY 1")).all()
        )
    assert per_type == summary.events_per_type

    again = load_demo(fresh_engine, settings, patients=12)
    assert again == summary, "same seed, same summary"
    assert _counts(fresh_engine) == (users, events, private, links, supervisions), (
        "reload replaces, never adds"
    )
    with fresh_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users WHERE username = 'clinic_x'")).scalar() == 1
    assert "fictional" in summary.describe() and str(summary.events) in summary.describe()


def test_each_clinician_is_a_real_login_with_a_private_credentials_file(
    fresh_engine: sa.Engine, pg_server: EmbeddedServer, tmp_path: Path
) -> None:
    settings = Settings(tmp_path, None, UrlSource.EMBEDDED)
    load_demo(fresh_engine, settings, patients=12)
    path = tmp_path / CREDENTIALS_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entries = json.loads(path.read_text())["users"]
    assert {entry["role"] for entry in entries} == {"therapist", "supervisor", "admin", "qa"}
    credentials = read_credentials(tmp_path)
    database = fresh_engine.url.database
    assert database is not None
    with fresh_engine.connect() as conn:
        groups = dict(
            conn.execute(
                sa.text(
                    """SELECT m.rolname, g.rolname FROM pg_auth_members a
                       JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid
                       WHERE m.rolname LIKE 'demo\\_%'"""
                )
            ).all()
        )
        flags = conn.execute(
            sa.text(
                "SELECT bool_or(rolsuper OR rolbypassrls OR rolcreaterole) FROM pg_roles WHERE rolname LIKE 'demo\\_%'"
            )
        ).scalar()
    assert flags is False
    for entry in entries:
        assert groups[entry["username"]] == f"caseline_{entry['role']}"
        user_engine = make_engine(
            pg_server.user_url(entry["username"], credentials[entry["username"]], database)
        )
        try:
            with user_engine.connect() as conn:
                assert conn.execute(sa.text("SELECT session_user")).scalar() == entry["username"]
        finally:
            user_engine.dispose()
    wrong = make_engine(pg_server.user_url(entries[0]["username"], "not-the-password", database))
    try:
        with pytest.raises(sa.exc.OperationalError):
            wrong.connect()
    finally:
        wrong.dispose()
