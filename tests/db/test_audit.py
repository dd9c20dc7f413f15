"""The audit chain: intact logs verify, every kind of tampering is named, app roles can only append."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import Practice, build_practice, drop_logins
from viewer.cli import main as cli_main
from viewer.db.engine import make_engine
from viewer.services.audit import AuditKey, AuditKeyError, append, verify


@pytest.fixture
def key() -> AuditKey:
    return AuditKey(bytes(range(32)))


def _fill(conn: sa.Connection, key: AuditKey, rows: int = 6) -> None:
    for n in range(rows):
        append(conn, key, "event.update", event_id=uuid.uuid4(), patient_id=uuid.uuid4(), detail={"n": n})


def test_an_intact_chain_verifies(db: sa.Connection, key: AuditKey) -> None:
    _fill(db, key)
    report = verify(db, key)
    assert report.ok and report.rows == 6, report.render()
    assert verify(db, AuditKey(bytes(32))).problems  # and the wrong key proves nothing


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE audit_log SET detail = '{\"n\": 99}' WHERE seq = 3", "row 3: its content does not match"),
        ("UPDATE audit_log SET actor = 'someone_else' WHERE seq = 2", "row 2: its content does not match"),
        ("DELETE FROM audit_log WHERE seq = 4", "row 5: rows 4..4 are missing"),
        (
            "UPDATE audit_log SET seq = 100 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 5; "
            "UPDATE audit_log SET seq = 5 WHERE seq = 100",
            "row 2: its content does not match",
        ),
    ],
    ids=["edited-detail", "edited-actor", "deleted", "reordered"],
)
def test_tampering_is_named(db: sa.Connection, key: AuditKey, tamper: str, named: str) -> None:
    _fill(db, key)
    for statement in tamper.split("; "):
        db.execute(sa.text(statement))
    report = verify(db, key)
    assert not report.ok
    assert any(problem.startswith(named) for problem in report.problems), report.render()


def test_a_reordered_but_reseated_row_breaks_the_link(db: sa.Connection, key: AuditKey) -> None:
    """Even a row re-MACed with the key (an insider) cannot be moved without breaking its neighbour."""
    _fill(db, key)
    db.execute(sa.text("DELETE FROM audit_log WHERE seq = 6"))
    db.execute(
        sa.text("UPDATE audit_log SET prev_mac = (SELECT mac FROM audit_log WHERE seq = 1) WHERE seq = 3")
    )
    report = verify(db, key)
    assert any(problem.startswith("row 3:") for problem in report.problems), report.render()


@pytest.fixture(scope="module")
def practice(module_scratch_database: sa.URL) -> Iterator[Practice]:
    built = build_practice(module_scratch_database)
    yield built
    drop_logins(built)


def test_app_roles_append_in_their_own_name_only(practice: Practice, key: AuditKey) -> None:
    engine = practice.engine_for("colleague")
    with engine.begin() as conn:
        append(conn, key, "sign_in")
    with engine.connect() as conn:
        for statement in (
            "UPDATE audit_log SET action = 'sync'",
            "DELETE FROM audit_log",
            "SELECT * FROM audit_log",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="permission denied"), conn.begin_nested():
                conn.execute(sa.text(statement))
        conn.rollback()
        # A forged actor is overwritten with the real login, which then fails the chain's HMAC:
        # the forgery is stored as what it is.
        with conn.begin():
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (seq, at, actor, action, prev_mac, mac) "
                    "VALUES (999, now(), 'someone_else', 'export', '\\x00', '\\x00')"
                )
            )
    engine.dispose()
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        actors = conn.execute(sa.text("SELECT seq, actor FROM audit_log ORDER BY seq")).all()
        report = verify(conn, key)
    owner.dispose()
    assert [a for _, a in actors] == [practice.login("colleague")] * 2
    assert report.rows == 2 and any(p.startswith("row 999:") for p in report.problems)


def test_key_file_is_created_private_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASELINE_AUDIT_KEY", raising=False)
    with pytest.raises(AuditKeyError):
        AuditKey.load(tmp_path, create=False)
    first = AuditKey.load(tmp_path)
    path = tmp_path / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert AuditKey.load(tmp_path) == first and len(first.secret) == 32
    os.chmod(path, 0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        AuditKey.load(tmp_path)
    monkeypatch.setenv("CASELINE_AUDIT_KEY", "ab" * 32)
    assert AuditKey.load(tmp_path).secret == bytes([0xAB]) * 32
    monkeypatch.setenv("CASELINE_AUDIT_KEY", "not hex")
    with pytest.raises(AuditKeyError):
        AuditKey.load(tmp_path)


def test_cli_audit_verify_exit_codes(
    engine: sa.Engine,
    caseline_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CASELINE_AUDIT_KEY", raising=False)
    key = AuditKey.load(caseline_home)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log"))
        _fill(conn, key, 3)
    try:
        assert cli_main(["audit", "verify"]) == 0
        assert "intact: 3 rows" in capsys.readouterr().out
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_log SET action = 'export' WHERE seq = 2"))
        assert cli_main(["audit", "verify"]) == 1
        assert "row 2: its content does not match its HMAC (edited)" in capsys.readouterr().out
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_log"))
