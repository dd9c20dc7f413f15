"""The embedded server is hardened: scram for every role, no TCP, private socket and password file."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from viewer.db.embedded import OWNER_ROLE, EmbeddedServer, EmbeddedServerError, _split_pgpass, pgpass_line

ROOT = Path(__file__).resolve().parents[2]


def test_no_tcp_listener_and_scram_only(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW listen_addresses")).scalar() == ""
        assert conn.execute(sa.text("SHOW password_encryption")).scalar() == "scram-sha-256"
        rules = conn.execute(
            sa.text("SELECT type, auth_method FROM pg_hba_file_rules WHERE error IS NULL")
        ).all()
        assert rules == [("local", "scram-sha-256")]
        assert conn.execute(
            sa.text("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = :r"),
            {"r": OWNER_ROLE},
        ).scalar()


def test_files_are_private(pg_server: EmbeddedServer) -> None:
    assert stat.S_IMODE(pg_server.paths.pgpass.stat().st_mode) == 0o600
    assert stat.S_IMODE(pg_server.paths.socket_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(pg_server.paths.pgdata.stat().st_mode) == 0o700


def test_wrong_or_missing_password_is_refused(pg_server: EmbeddedServer) -> None:
    host = str(pg_server.paths.socket_dir)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=host, user=OWNER_ROLE, dbname="caseline", password="wrong")
    env_without_pgpass = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import psycopg; psycopg.connect(host={host!r}, user='caseline', dbname='caseline')",
        ],
        env=env_without_pgpass | {"PGPASSFILE": os.devnull},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "password" in result.stderr


def test_pgpass_file_opens_an_owner_session(pg_server: EmbeddedServer) -> None:
    """What the README promises: PGPASSFILE=$CASELINE_HOME/pgpass psql "$(main.py db url)"."""
    url = pg_server.libpq_owner_url()
    assert ":" not in url.split("@")[0].removeprefix("postgresql://")  # no password in the URL
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {
        "PGPASSFILE": str(pg_server.paths.pgpass)
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import psycopg; print(psycopg.connect({url!r}).execute('select current_user').fetchone()[0])",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == OWNER_ROLE, result.stderr


@pytest.mark.parametrize("password", ["plain", "with:colon", "back\\slash", "both\\:mixed"])
def test_pgpass_escaping_round_trips(password: str) -> None:
    fields = _split_pgpass(pgpass_line("/tmp/so:ck", OWNER_ROLE, password).rstrip("\n"))
    assert fields == ["/tmp/so:ck", "*", "*", OWNER_ROLE, password]


_CLIENT = """
import sys
from pathlib import Path
from viewer.db.embedded import EmbeddedServer
server = EmbeddedServer(Path(sys.argv[1]))
server.acquire()
print("up", flush=True)
sys.stdin.readline()
server.release()
print("running" if server.is_running() else "stopped", flush=True)
"""


@pytest.mark.slow
def test_two_processes_share_one_server_and_the_last_stops_it() -> None:
    home = Path(tempfile.mkdtemp(prefix="caseline-share-"))
    env = os.environ | {"PYTHONPATH": str(ROOT)}

    def spawn() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CLIENT, str(home)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        return proc

    first, second = spawn(), spawn()
    try:
        first_out, _ = first.communicate("\n", timeout=60)
        assert first_out.strip() == "running"  # the second client still uses it
        second_out, _ = second.communicate("\n", timeout=60)
        assert second_out.strip() == "stopped"
        assert not EmbeddedServer(home).is_running()
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
        EmbeddedServer(home).stop()


def test_crashed_client_does_not_keep_the_server_alive() -> None:
    home = Path(tempfile.mkdtemp(prefix="caseline-crash-"))
    server = EmbeddedServer(home)
    server.acquire()
    try:
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        server.paths.clients_file.write_text(f"[{dead}, {os.getpid()}]")
        server.release()
        assert not server.is_running()
    finally:
        server.stop()


def test_a_planted_socket_directory_is_refused(tmp_path: Path) -> None:
    """A symlink where the server's directory should be is never followed or chmod-ed."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    server = EmbeddedServer(tmp_path / "home")
    server.paths.home.mkdir()
    server.paths.socket_dir.symlink_to(elsewhere)
    with pytest.raises(EmbeddedServerError, match="not a directory of Caseline's own"):
        server._prepare_dir(server.paths.socket_dir)
    assert elsewhere.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize("name", ["O'Brien", "Smith, John", "h$(id)", 'say "hi"', "back`tick`"])
def test_a_home_path_the_server_cannot_take_is_refused_by_name(tmp_path: Path, name: str) -> None:
    """pg_ctl starts the server through /bin/sh: such a path broke the start or ran a command."""
    with pytest.raises(EmbeddedServerError, match="set CASELINE_HOME to a folder without them"):
        EmbeddedServer(tmp_path / name)
    assert not (tmp_path / name).exists()


def test_an_interrupted_first_start_is_built_again_and_an_old_one_gets_its_password_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    server = EmbeddedServer(home)
    home.mkdir()
    (home / "pgdata.initialising").mkdir()  # a first start killed while initdb ran
    (home / "pgdata.initialising" / "PG_VERSION").write_text("17\n")
    for name in ("PGPORT", "PGHOST"):
        monkeypatch.setenv(name, "5999" if name == "PGPORT" else "/nowhere")  # someone's shell: ignored
    server.acquire()
    try:
        assert not (home / "pgdata.initialising").exists() and server.paths.pgpass.exists()
        password = server.owner_password()
        engine = sa.create_engine(server.owner_url(), poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW port")).scalar() == "5432"
        engine.dispose()
    finally:
        server.stop()
    # What an older version's kill left: a cluster, its initdb password file, no pgpass.
    server.paths.pgpass.unlink()
    (home / ".initdb-pw").write_text(password + "\n")
    server.acquire()
    try:
        assert server.owner_password() == password and not (home / ".initdb-pw").exists()
    finally:
        server.stop()
    server.paths.pgpass.unlink()  # and with nothing to recover it from, a message that says so
    with pytest.raises(EmbeddedServerError, match=r"password file .* is missing"):
        server.acquire()


@pytest.mark.slow
def test_sigterm_quits_the_app_and_releases_its_server(tmp_path: Path) -> None:
    """A logout or shutdown sends SIGTERM: the app used to die at once and leave its server running."""
    home = tmp_path / "home"
    env = os.environ | {"CASELINE_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    app = subprocess.Popen([sys.executable, str(ROOT / "main.py")], env=env, stderr=subprocess.DEVNULL)
    server = EmbeddedServer(home)
    try:
        deadline = time.monotonic() + 90
        while not (home / "demo-credentials.json").exists() or not server.is_running():
            assert time.monotonic() < deadline, "the app did not start its server"
            with contextlib.suppress(subprocess.TimeoutExpired):  # waits on the app, a fifth of a second
                app.wait(timeout=0.2)
            assert app.poll() is None, "the app quit before its server was up"
        app.send_signal(signal.SIGTERM)
        assert app.wait(timeout=60) == 0
        assert not server.is_running()
    finally:
        if app.poll() is None:
            app.kill()
        server.stop()


def test_a_server_that_will_not_start_names_its_log(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "home")
    server.acquire()
    server.stop()
    with (server.paths.pgdata / "postgresql.conf").open("a") as conf:
        conf.write("\nshared_buffers = 'plenty'\n")  # the server refuses a value it cannot read
    with pytest.raises(EmbeddedServerError) as raised:
        server.acquire()
    assert str(server.paths.log_file) in str(raised.value)
    assert "plenty" not in str(raised.value)  # the log's lines are named, never quoted
