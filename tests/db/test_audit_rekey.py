"""A lost audit key is replaced with a recorded re-key: audited writes work again and nothing is hidden."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import Practice
from viewer.cli import main as cli_main
from viewer.cli import unreachable
from viewer.db import migrate
from viewer.services import audit
from viewer.services.audit import AuditKey, AuditKeyError, append, key_id, rekey, verify
from viewer.services.bench_data import drop_bench_patients, seed_bench_patient, synthetic_history


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CASELINE_AUDIT_KEY", raising=False)
    return tmp_path / "home"


def _appends(engine: sa.Engine, key: AuditKey, times: int) -> None:
    for n in range(times):
        with engine.begin() as conn:
            append(conn, key, "event.update", event_id=uuid.uuid4(), detail={"n": n})


def test_a_lost_key_is_replaced_and_verify_says_where_the_new_one_starts(
    fresh_engine: sa.Engine, home: Path
) -> None:
    first = AuditKey.load(home)
    _appends(fresh_engine, first, 3)
    (home / "audit.key").unlink()  # the laptop holding it is gone
    with fresh_engine.begin() as conn, pytest.raises(AuditKeyError, match="audit rekey"):
        append(conn, AuditKey.load(home), "sign_in")  # a made-up key may not join: every write refused

    done = rekey(fresh_engine, home, "  workstation stolen  ")
    assert done.seq == 4 and done.retired_file is None
    assert stat.S_IMODE(done.key_file.stat().st_mode) == 0o600
    assert not (home / audit.PENDING_KEY_FILE_NAME).exists()
    new = AuditKey.load(home)
    _appends(fresh_engine, new, 2)  # audited writes work again, signed with the new key

    with fresh_engine.connect() as conn:
        report = verify(conn, new)
        row = conn.execute(sa.text("SELECT actor, detail FROM audit_log WHERE seq = 4")).one()
    assert report.ok and report.rows == 6 and report.key_since == 4, report.render()
    assert row.detail == {"reason": "workstation stolen", "key_id": key_id(new)}
    assert "Rows 1..3 were signed with a retired key" in report.render()
    assert f"by {row.actor}: workstation stolen" in report.render()

    # The retired key proves nothing past the re-key, and says why instead of calling every row edited.
    with fresh_engine.connect() as conn:
        old = verify(conn, AuditKey(first.secret))
    assert old.problems == (
        "rows 4..6: signed with a newer key (re-keyed at row 4); verify with the key in use now",
    )
    # A machine still holding the retired key is refused before it signs anything.
    with fresh_engine.begin() as conn, pytest.raises(AuditKeyError, match="was replaced"):
        append(conn, AuditKey(first.secret), "sign_in")


def _rekeyed(engine: sa.Engine, home: Path, before: int, after: int) -> AuditKey:
    """``before`` rows under a first key, that key lost and replaced, ``after`` rows under the new one."""
    _appends(engine, AuditKey.load(home), before)
    (home / "audit.key").unlink()
    rekey(engine, home, "key lost")
    new = AuditKey.load(home)
    _appends(engine, new, after)
    return new


def test_tampering_on_either_side_of_a_re_key_is_still_named(fresh_engine: sa.Engine, home: Path) -> None:
    new = _rekeyed(fresh_engine, home, 4, 3)  # the re-key is row 5, the new key's rows 6..8
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET detail = '{\"n\": 99}' WHERE seq = 7"))
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 2"))
        # The reason rewritten, the fingerprint kept: the re-key row is named as edited.
        conn.execute(
            sa.text(
                "UPDATE audit_log SET detail = jsonb_set(detail, '{reason}', '\"routine\"') WHERE seq = 5"
            )
        )
    with fresh_engine.connect() as conn:
        report = verify(conn, new)
    assert report.problems == (
        "row 3: rows 2..2 are missing (deleted)",
        "row 3: it does not follow the row before it (removed or reordered rows)",
        "row 5: its content does not match its HMAC (edited)",
        "row 7: its content does not match its HMAC (edited)",
    ), report.render()
    # With its fingerprint rewritten too, no row is this key's to check, and the report says so.
    with fresh_engine.begin() as conn:
        conn.execute(sa.text('UPDATE audit_log SET detail = \'{"reason": "routine"}\' WHERE seq = 5'))
    with fresh_engine.connect() as conn:
        report = verify(conn, new)
    assert report.problems[0].startswith("no re-key row names this key"), report.render()
    assert "row 3: rows 2..2 are missing (deleted)" in report.problems


def test_edits_after_the_re_key_are_named_by_row(fresh_engine: sa.Engine, home: Path) -> None:
    new = _rekeyed(fresh_engine, home, 2, 3)  # the re-key is row 3, the new key's rows 4..6
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET detail = '{\"n\": 99}' WHERE seq = 5"))
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 1"))
    with fresh_engine.connect() as conn:
        report = verify(conn, new)
    assert report.problems == (
        "row 2: rows 1..1 are missing (deleted)",
        "row 2: it does not follow the row before it (removed or reordered rows)",
        "row 5: its content does not match its HMAC (edited)",
    ), report.render()
    assert report.key_since == 3


def test_a_rotation_keeps_the_old_key_file_and_refuses_what_it_cannot_record(
    fresh_engine: sa.Engine, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = AuditKey.load(home)
    _appends(fresh_engine, first, 1)
    for reason, message in (("   ", "say why"), ("x" * 501, "longer than 500")):
        with pytest.raises(AuditKeyError, match=message):
            rekey(fresh_engine, home, reason)
    monkeypatch.setenv("CASELINE_AUDIT_KEY", "ab" * 32)
    with pytest.raises(AuditKeyError, match="CASELINE_AUDIT_KEY is set"):
        rekey(fresh_engine, home, "rotation")
    monkeypatch.delenv("CASELINE_AUDIT_KEY")
    with fresh_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() == 1  # nothing written
    done = rekey(fresh_engine, home, "yearly rotation")
    assert done.retired_file == home / "audit.key.retired-2"
    assert AuditKey.load(home).secret != first.secret
    assert bytes.fromhex(done.retired_file.read_text(encoding="ascii")) == first.secret
    assert stat.S_IMODE(done.retired_file.stat().st_mode) == 0o600


def test_an_interrupted_re_key_is_finished_or_forgotten_by_the_next_run(
    fresh_engine: sa.Engine, home: Path
) -> None:
    _appends(fresh_engine, AuditKey.load(home), 1)
    pending = home / audit.PENDING_KEY_FILE_NAME
    # Stopped after its row committed, before the key file moved into place: the next run installs it.
    committed = AuditKey(bytes(range(32)))
    audit._write_private(pending, committed.secret)
    with fresh_engine.begin() as conn:
        audit._append(
            conn, committed, audit.REKEY, detail={"reason": "first try", "key_id": key_id(committed)}
        )
    done = rekey(fresh_engine, home, "second try")
    assert done.seq == 2 and AuditKey.load(home).secret == committed.secret
    with fresh_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() == 2  # no second row
    # Stopped before its row committed: that key signs nothing, so a fresh key is made.
    audit._write_private(pending, bytes(range(1, 33)))
    again = rekey(fresh_engine, home, "third try")
    assert again.seq == 3 and AuditKey.load(home).secret not in (committed.secret, bytes(range(1, 33)))
    with fresh_engine.connect() as conn:
        assert verify(conn, AuditKey.load(home)).ok


def test_only_the_owner_may_start_a_new_key(practice: Practice) -> None:
    engine = practice.engine_for("colleague")
    forged = AuditKey(bytes(32))
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="only the owner"):
            audit._append(conn, forged, audit.REKEY, detail={"reason": "mine now", "key_id": key_id(forged)})
    finally:
        engine.dispose()
    with pytest.raises(ValueError, match="unknown audit action"):
        append(sa.Connection.__new__(sa.Connection), forged, audit.REKEY)  # never through append()


def test_downgrade_refuses_to_drop_re_key_rows(fresh_engine: sa.Engine, home: Path) -> None:
    _appends(fresh_engine, AuditKey.load(home), 1)
    rekey(fresh_engine, home, "key lost")
    with fresh_engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="re-key rows") as refused:
        migrate.downgrade(conn, "q7r8s9t0u1v2")
    # The command line says the refusal as it is: it used to begin "cannot reach the database".
    assert isinstance(refused.value, sa.exc.OperationalError)
    assert (
        str(unreachable(refused.value)) == "the audit log holds re-key rows; an older schema cannot keep them"
    )


def test_cli_audit_rekey(
    engine: sa.Engine,
    caseline_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CASELINE_AUDIT_KEY", raising=False)
    key_file = caseline_home / "audit.key"
    saved = key_file.read_bytes() if key_file.exists() else None
    saved_key = AuditKey.load(caseline_home).secret
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log"))
        append(conn, AuditKey.load(caseline_home), "sign_in")
    (caseline_home / "audit.tail").unlink(missing_ok=True)
    try:
        assert cli_main(["audit", "rekey", "--reason", "   "]) == 2
        assert "say why" in capsys.readouterr().err
        assert cli_main(["audit", "rekey", "--reason", "test rotation"]) == 0
        out = capsys.readouterr().out
        assert "signs the log from row 2" in out and "audit.key.retired-2" in out
        assert cli_main(["audit", "verify"]) == 0
        assert "This key signs from row 2" in capsys.readouterr().out
        # An audited command on a machine with the retired key: a message and exit 2, not a traceback.
        with engine.begin() as conn:
            patient = seed_bench_patient(conn, synthetic_history(20, seed=5))
        monkeypatch.setenv("CASELINE_AUDIT_KEY", saved_key.hex())
        out_file = caseline_home / "refused.json"
        assert cli_main(["export-fhir", "--patient", str(patient), "--out", str(out_file)]) == 2
        assert "audit key was replaced" in capsys.readouterr().err
        assert not out_file.exists()
        monkeypatch.delenv("CASELINE_AUDIT_KEY")
    finally:
        with engine.begin() as conn:
            drop_bench_patients(conn)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_log"))
        (caseline_home / "audit.tail").unlink(missing_ok=True)
        for retired in caseline_home.glob("audit.key.retired-*"):
            retired.unlink()
        if saved is not None:
            key_file.write_bytes(saved)
            key_file.chmod(0o600)
        else:
            key_file.unlink(missing_ok=True)
