"""The audit chain: intact logs verify, every kind of tampering is named, app roles can only append."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import Practice
from viewer.cli import main as cli_main
from viewer.db.engine import make_engine
from viewer.services.audit import AuditKey, AuditKeyError, AuditReport, append, verify


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


def test_the_report_counts_in_words() -> None:
    assert AuditReport(1, ()).render() == "Audit log intact: 1 row, every link verified."
    assert AuditReport(3, ("row 2: x",)).render().startswith("Audit log damaged (1 problem in 3 rows):")


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
        # A row that is the right next link but claims another actor and carries a made-up mac is
        # stored as what it is: under the real login, named by verify as not matching its HMAC.
        with conn.begin():
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (seq, at, actor, action, prev_mac, mac) "
                    "SELECT t.seq + 1, now() AT TIME ZONE 'utc', 'someone_else', 'export', t.mac, '\\x00' "
                    "FROM caseline_audit_tail() t"
                )
            )
    engine.dispose()
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        actors = conn.execute(sa.text("SELECT seq, actor FROM audit_log ORDER BY seq")).all()
        report = verify(conn, key)
    owner.dispose()
    assert [a for _, a in actors][-2:] == [practice.login("colleague")] * 2
    forged = actors[-1][0]
    assert report.problems == (f"row {forged}: its content does not match its HMAC (edited)",), (
        report.render()
    )


JUNK = {
    # A giant seq: verify would report a huge gap and the next real append would continue after it.
    "far seq": "SELECT 9000000000, now() AT TIME ZONE 'utc', t.mac FROM caseline_audit_tail() t",
    "repeated seq": "SELECT t.seq, now() AT TIME ZONE 'utc', t.mac FROM caseline_audit_tail() t",
    "forked chain": "SELECT t.seq + 1, now() AT TIME ZONE 'utc', '\\x00'::bytea FROM caseline_audit_tail() t",
    "back-dated": "SELECT t.seq + 1, TIMESTAMP '2001-01-01', t.mac FROM caseline_audit_tail() t",
    "local time": "SELECT t.seq + 1, localtimestamp + interval '1 hour', t.mac FROM caseline_audit_tail() t",
}


@pytest.mark.parametrize("junk", sorted(JUNK))
def test_only_the_next_link_stamped_now_is_accepted(practice: Practice, key: AuditKey, junk: str) -> None:
    engine = practice.engine_for("colleague")
    with engine.begin() as conn:
        append(conn, key, "sign_in")  # the chain has a tail whatever ran before
    with engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match=r"audit_log: (seq|prev_mac|at) must be"), conn.begin():
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (seq, at, actor, action, prev_mac, mac) "
                    f"SELECT seq, at, 'x', 'sign_in', prev, '\\x00' FROM ({JUNK[junk]}) AS junk(seq, at, prev)"
                )
            )
        with conn.begin():  # and the next honest append carries on from the real tail
            seq = append(conn, key, "sign_out")
    engine.dispose()
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        tail = conn.execute(sa.text("SELECT max(seq), count(*) FROM audit_log")).one()
    owner.dispose()
    assert tail == (seq, seq)


def test_appends_from_two_sessions_never_fork_the_chain(practice: Practice, key: AuditKey) -> None:
    first, second = practice.engine_for("colleague"), practice.engine_for("author")
    with first.connect() as one, second.connect() as two:
        one.begin()
        a = append(one, key, "sign_in")
        two.begin()
        # Even a raw insert (not through append(), with a seq that collides with nothing) waits for
        # the first session's lock; here it cannot (the same thread), so it times out instead of
        # slipping a row in beside the first session's.
        two.execute(sa.text("SET LOCAL lock_timeout = '50ms'"))
        with pytest.raises(sa.exc.DBAPIError, match="lock timeout"):
            two.execute(
                sa.text(
                    "INSERT INTO audit_log (seq, at, actor, action, prev_mac, mac) "
                    "SELECT t.seq + 2, now() AT TIME ZONE 'utc', '', 'sign_in', t.mac, '\\x00' "
                    "FROM caseline_audit_tail() t"
                )
            )
        two.rollback()
        one.commit()
        with two.begin():
            b = append(two, key, "sign_in")
    first.dispose()
    second.dispose()
    assert b == a + 1


def test_admins_read_no_row_about_private_events(practice: Practice, key: AuditKey) -> None:
    """Who read which private note, and why, is not an admin's business; nor are writes to one."""
    author = practice.engine_for("author")
    with author.begin() as conn:
        append(conn, key, "event.update", event_id=practice.events["e2"], patient_id=practice.patients["P1"])
        append(conn, key, "event.update", event_id=practice.events["e1"], patient_id=practice.patients["P1"])
    author.dispose()
    supervisor = practice.engine_for("supervisor")
    with supervisor.begin() as conn:
        append(
            conn,
            key,
            "event.read_private",
            event_id=practice.events["e2"],
            patient_id=practice.patients["P1"],
            detail={"purpose": "Weekly review"},
        )
    supervisor.dispose()
    admin = practice.engine_for("admin")
    with admin.connect() as conn:
        rows = conn.execute(sa.text("SELECT action, event_id, detail FROM audit_log")).all()
    admin.dispose()
    seen = {row.event_id for row in rows}
    assert practice.events["e1"] in seen
    assert practice.events["e2"] not in seen
    assert not [row for row in rows if row.action == "event.read_private"]
    assert any(row.action == "sign_in" for row in rows)


def _checkpointed(home: Path) -> AuditKey:
    return AuditKey(bytes(range(32)), home / "audit.tail")


def _append_committed(engine: sa.Engine, key: AuditKey, times: int) -> None:
    for _ in range(times):
        with engine.begin() as conn:
            append(conn, key, "sign_in")


def test_cutting_rows_off_the_end_is_reported_after_a_verify(fresh_engine: sa.Engine, tmp_path: Path) -> None:
    key = _checkpointed(tmp_path)
    _append_committed(fresh_engine, key, 4)
    with fresh_engine.connect() as conn:
        assert verify(conn, key).ok  # remembers row 4
    assert stat.S_IMODE((tmp_path / "audit.tail").stat().st_mode) == 0o600
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq >= 3"))
    with fresh_engine.connect() as conn:
        report = verify(conn, key)
        assert verify(conn, AuditKey(key.secret)).ok  # without the checkpoint the short chain looks fine
    assert report.problems == (
        "row 4: missing, with every row after 2: this machine saw the chain reach it (rows cut off the end)",
    ), report.render()
    # Growing the chain again over the cut does not hide it either.
    _append_committed(fresh_engine, AuditKey(key.secret), 3)
    with fresh_engine.connect() as conn:
        report = verify(conn, key)
    assert report.problems == (
        "row 4: not the row this machine saw there (rows removed and the chain re-grown)",
    ), report.render()


def test_each_append_moves_the_checkpoint_to_the_committed_tail(
    fresh_engine: sa.Engine, tmp_path: Path
) -> None:
    key = _checkpointed(tmp_path)
    _append_committed(fresh_engine, key, 3)  # the third append saw row 2 committed
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq >= 2"))
    with fresh_engine.connect() as conn:
        report = verify(conn, key)
    assert [p.split(":")[0] for p in report.problems] == ["row 2"], report.render()


def test_a_rolled_back_append_never_moves_the_checkpoint(fresh_engine: sa.Engine, tmp_path: Path) -> None:
    key = _checkpointed(tmp_path)
    _append_committed(fresh_engine, key, 2)
    with fresh_engine.connect() as conn:
        append(conn, key, "sign_in")
        append(conn, key, "sign_out")  # its own first row is not committed: not remembered
        assert verify(conn, key).ok  # reads its own rows, but remembers nothing from a writing transaction
        conn.rollback()
    with fresh_engine.connect() as conn:
        assert verify(conn, key).ok, verify(conn, key).render()


def test_a_damaged_checkpoint_is_reported_not_reset(fresh_engine: sa.Engine, tmp_path: Path) -> None:
    key = _checkpointed(tmp_path)
    (tmp_path / "audit.tail").write_text("{not json", encoding="ascii")
    _append_committed(fresh_engine, key, 2)
    with fresh_engine.connect() as conn:
        report = verify(conn, key)
    assert [p.split(":")[0] for p in report.problems] == ["checkpoint"]
    assert (tmp_path / "audit.tail").read_text(encoding="ascii") == "{not json"


def test_key_file_is_created_private_and_checked(
    fresh_engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASELINE_AUDIT_KEY", raising=False)
    with pytest.raises(AuditKeyError):
        AuditKey.load(tmp_path, create=False)
    first = AuditKey.load(tmp_path)
    path = tmp_path / "audit.key"
    assert not path.exists()  # kept only once it signs a chain's first row
    _append_committed(fresh_engine, first, 1)
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
    (caseline_home / "audit.tail").unlink(missing_ok=True)
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
        (caseline_home / "audit.tail").unlink(missing_ok=True)


def test_a_new_workstation_key_may_start_a_chain_but_never_join_one(
    fresh_engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine without the clinic's key makes its own: on an empty chain that key is the chain's."""
    monkeypatch.delenv("CASELINE_AUDIT_KEY", raising=False)
    first_home, second_home = tmp_path / "first", tmp_path / "second"
    starter = AuditKey.load(first_home)
    assert starter.created == first_home / "audit.key" and not starter.created.exists()
    _append_committed(fresh_engine, starter, 2)  # the same new key goes on signing the chain it started
    _append_committed(fresh_engine, AuditKey.load(first_home), 1)  # and so does the file, loaded again
    newcomer = AuditKey.load(second_home)
    assert not (second_home / "audit.key").exists()  # a machine that never reaches the chain keeps no key
    with (
        fresh_engine.begin() as conn,
        pytest.raises(AuditKeyError, match="already keeps an audit trail") as err,
    ):
        append(conn, newcomer, "sign_in")
    assert "audit.key" in str(err.value) and "CASELINE_AUDIT_KEY" in str(err.value)
    assert not (second_home / "audit.key").exists()  # nothing left behind to fork the chain later
    with fresh_engine.begin() as conn, pytest.raises(AuditKeyError):  # and asking again changes nothing
        append(conn, AuditKey.load(second_home), "sign_in")
    with fresh_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() == 3
        assert verify(conn, starter).ok
    # Given the clinic's key, the second machine signs the same chain.
    second_home.mkdir()
    (second_home / "audit.key").write_text(starter.secret.hex(), encoding="ascii")
    (second_home / "audit.key").chmod(0o600)
    _append_committed(fresh_engine, AuditKey.load(second_home), 1)
    with fresh_engine.connect() as conn:
        assert verify(conn, starter).ok and verify(conn, starter).rows == 4
