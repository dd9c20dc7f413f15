"""``main.py`` subcommands in a fresh home: messages and exit codes as a user sees them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]


def run(home: Path, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELINE_")}
    env |= {"CASELINE_HOME": str(home), **(extra_env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
        cwd=ROOT,
    )


@pytest.fixture
def fresh_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="caseline-cli-"))
    yield home
    run(home, "db", "stop")
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.slow
def test_upgrade_verify_current_on_a_fresh_home(fresh_home: Path) -> None:
    up = run(fresh_home, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert "d4e5f6g7h8i9" in up.stdout or "at revision" in up.stdout
    verify = run(fresh_home, "db", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "[FAIL]" not in verify.stdout and "checks passed" in verify.stdout
    current = run(fresh_home, "db", "current")
    assert current.returncode == 0 and "(head)" in current.stdout
    # Nothing audited yet, so no key yet: an empty log verifies (it was "error: no audit key", exit 2).
    audited = run(fresh_home, "audit", "verify")
    assert audited.returncode == 0, audited.stderr
    assert "nothing to verify" in audited.stdout


@pytest.mark.slow
def test_verify_exits_1_naming_the_damage(fresh_home: Path) -> None:
    assert run(fresh_home, "db", "upgrade").returncode == 0
    url = run(fresh_home, "db", "url")
    assert url.returncode == 0 and url.stdout.startswith("postgresql://caseline@/caseline?host=")
    import psycopg

    with psycopg.connect(url.stdout.strip(), password=_owner_password(fresh_home), autocommit=True) as conn:
        conn.execute("ALTER TABLE timeline_events DROP CONSTRAINT ck_timeline_events_importance")
    verify = run(fresh_home, "db", "verify")
    assert verify.returncode == 1
    assert "[FAIL] ck_timeline_events_importance" in verify.stdout
    assert "- Check constraints ck_timeline_events_importance" in verify.stdout


def _owner_password(home: Path) -> str:
    line = (home / "pgpass").read_text().strip()
    return line.rsplit(":", 1)[1]


def test_bad_config_is_exit_2_with_a_message(fresh_home: Path) -> None:
    (fresh_home / "config.toml").write_text("database_url = [")
    result = run(fresh_home, "db", "current")
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "config.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_server_is_exit_2(fresh_home: Path) -> None:
    result = run(
        fresh_home,
        "--database-url",
        f"postgresql://nobody@/nowhere?host={fresh_home}/nosocket",
        "db",
        "current",
    )
    assert result.returncode == 2
    assert "cannot reach the database" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [("db", "current"), ("demo",), ("--screenshot", "shot.png")])
def test_a_bad_url_is_exit_2_with_one_line(fresh_home: Path, command: tuple[str, ...]) -> None:
    result = run(fresh_home, "--database-url", "nonsense", *command)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error:") and "not a URL" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_demo_against_an_unreachable_server_is_exit_2(fresh_home: Path) -> None:
    result = run(
        fresh_home, "--database-url", f"postgresql://nobody@/nowhere?host={fresh_home}/nosocket", "demo"
    )
    assert result.returncode == 2, result.stderr
    assert "cannot reach the database" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # libpq's hint lines are not repeated


@pytest.mark.slow
def test_db_start_keeps_the_server_up_for_psql_until_db_stop(fresh_home: Path) -> None:
    """A psql session opened from ``db url`` must survive the next command's exit."""
    import psycopg

    url = run(fresh_home, "db", "url")
    assert url.returncode == 0, url.stderr
    with psycopg.connect(url.stdout.strip(), password=_owner_password(fresh_home), autocommit=True) as conn:
        assert run(fresh_home, "db", "current").returncode == 0  # registers, releases, exits
        assert conn.execute("SELECT 1").fetchone() == (1,)  # still connected
    stopped = run(fresh_home, "db", "stop")
    assert stopped.returncode == 0 and stopped.stdout.strip() == "embedded server stopped"


def test_help_lists_the_commands(fresh_home: Path) -> None:
    result = run(fresh_home, "--help")
    assert result.returncode == 0
    for command in ("db", "demo", "--screenshot"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["db", "upgrade", "--revision", "nonsense"], "Can't locate revision"),
        (["db", "downgrade", "zzz"], "Can't locate revision"),
        (["demo", "--patients", "0"], "0 is less than 1"),
        (
            ["staff", "deactivate", "someone", "--keep-private", "--hand-over-to", "another"],
            "not allowed with argument",
        ),
    ],
)
def test_user_errors_are_one_message_and_exit_2(
    engine: sa.Engine, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    """These crashed with a traceback (an unknown revision, no patients) or, worse, handed events over."""
    from viewer.cli import main as cli_main

    try:
        code = cli_main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


def test_a_screenshot_into_a_missing_folder_is_exit_2(fresh_home: Path) -> None:
    result = run(fresh_home, "--screenshot", str(fresh_home / "no" / "such" / "shot.png"))
    assert result.returncode == 2 and "no folder" in result.stderr and "Traceback" not in result.stderr


def test_a_demo_user_in_a_home_without_the_demo_says_how_to_make_it(fresh_home: Path) -> None:
    result = run(fresh_home, "--screenshot", str(fresh_home / "shot.png"), "--user", "demo_ada_morrow")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no demo accounts yet" in result.stderr and "main.py demo" in result.stderr
    assert not (fresh_home / "shot.png").exists()


def test_an_unknown_demo_user_is_told_the_accounts_there_are(fresh_home: Path) -> None:
    (fresh_home / "demo-credentials.json").write_text(
        '{"users": [{"username": "demo_b", "password": "x"}, {"username": "demo_a", "password": "y"}]}'
    )
    result = run(fresh_home, "--screenshot", str(fresh_home / "shot.png"), "--user", "demo_zed")
    assert result.returncode == 2 and "there are: demo_a, demo_b" in result.stderr


@pytest.mark.parametrize("command", [("db", "start"), ("db", "stop"), ("db", "url"), ("db", "current")])
def test_a_home_path_the_server_cannot_take_is_one_line_and_exit_2(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = run(tmp_path / "h$(id)", *command)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert "set CASELINE_HOME to a folder without them" in result.stderr


def test_a_damaged_demo_accounts_file_is_no_traceback(tmp_path: Path) -> None:
    from viewer.services.demo import read_credentials

    (tmp_path / "demo-credentials.json").write_text("{\n")
    assert read_credentials(tmp_path) == {}


def test_the_socket_folder_of_a_long_home_does_not_follow_tmpdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from viewer.db.embedded import EmbeddedPaths

    home = tmp_path / ("x" * 120)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None  # forget the cached temp folder, as a new process would
    try:
        first = EmbeddedPaths(home).socket_dir
        monkeypatch.setenv("TMPDIR", "/var/tmp")
        tempfile.tempdir = None
        assert EmbeddedPaths(home).socket_dir == first and first.parent == Path("/tmp")
    finally:
        tempfile.tempdir = None
    # A home whose socket path fits in characters but not in bytes (each 患 is three).
    room = 100 - len(str(tmp_path / "run" / ".s.PGSQL.5432")) - 1
    assert room >= 10
    unicode_home = tmp_path / ("患" * room)
    assert len(str(unicode_home / "run" / ".s.PGSQL.5432")) <= 100
    assert EmbeddedPaths(unicode_home).socket_dir.parent == Path("/tmp")


def test_audit_and_staff_on_a_database_never_migrated_say_to_upgrade(fresh_home: Path) -> None:
    """Both printed a 50-line traceback ending in 'relation "audit_log" does not exist', exit 1."""
    for command in (("audit", "verify"), ("staff", "deactivate", "someone", "--keep-private")):
        result = run(fresh_home, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert "run 'main.py db upgrade' first" in result.stderr


def test_a_screenshot_not_named_png_is_told_so(fresh_home: Path) -> None:
    """Without .png Qt knew no format: "could not write", exit 1 (the code for a failed check)."""
    result = run(fresh_home, "--screenshot", str(fresh_home / "shot"))
    assert result.returncode == 2 and "must end in .png" in result.stderr and "Traceback" not in result.stderr
