"""The audit chain's far end, remembered outside the database, so a cut-off tail is noticed.

The HMAC chain catches an edited, deleted or reordered row, but deleting the
*last* rows leaves a shorter chain that verifies perfectly.  So each machine
keeps, next to its audit key, the highest ``seq`` it has seen committed and
that row's ``mac`` (``audit.tail``, 0600, one entry per database).  Each
append and each clean ``audit verify`` moves it forward, never back; verify
then demands that the chain still reaches that row and that the row there is
the one that was seen.

Limits, by design: a machine notices only what it saw (rows appended by other
workstations after this one's last append or verify are protected by theirs);
anyone who can write this file (the user's own account) can reset it, as they
can read the key.  Two processes updating it at the same instant may leave the
lower of their two values: less protection for a moment, never a false alarm.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

CHECKPOINT_FILE_NAME = "audit.tail"
_IDENTITY_KEY = "caseline_database_identity"

# A cluster's system identifier (when the login may read it) and the database's oid: the same
# database every time, a different one after it is dropped and created again.
_IDENTITY_SQL = sa.text(
    "SELECT CASE WHEN has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE') "
    "THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) ELSE '' END "
    "|| '/' || (SELECT oid::text FROM pg_catalog.pg_database WHERE datname = current_database()) "
    "|| '/' || current_database()"
)


class CheckpointError(Exception):
    """The checkpoint file exists but cannot be read as one (damaged or replaced)."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    mac: bytes


def database_identity(conn: sa.Connection) -> str:
    """Which database this connection is on (cached per DBAPI connection: it never changes)."""
    cached = conn.info.get(_IDENTITY_KEY)
    if isinstance(cached, str):
        return cached
    identity = str(conn.execute(_IDENTITY_SQL).scalar_one())
    conn.info[_IDENTITY_KEY] = identity
    return identity


def _load(path: Path) -> dict[str, dict[str, object]]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="ascii"))
        databases = data["databases"]
        if not isinstance(databases, dict):
            raise TypeError("databases")
        return databases
    except (OSError, ValueError, KeyError, TypeError):
        raise CheckpointError(f"{path} is not an audit checkpoint") from None


def read_checkpoint(path: Path, database: str) -> Checkpoint | None:
    """The furthest row this machine saw committed in ``database``, if any."""
    entry = _load(path).get(database)
    if entry is None:
        return None
    try:
        seq, mac = entry["seq"], entry["mac"]
        if not isinstance(seq, int) or not isinstance(mac, str):
            raise TypeError("entry")
        return Checkpoint(seq, bytes.fromhex(mac))
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path} has a damaged entry for this database") from None


def remember(path: Path, database: str, seq: int, mac: bytes) -> None:
    """Move the checkpoint forward to (``seq``, ``mac``); a lower ``seq`` than stored is ignored.

    A damaged file is left alone for ``audit verify`` to report, never silently reset.
    """
    try:
        databases = _load(path)
        current = read_checkpoint(path, database)
    except CheckpointError:
        return
    if current is not None and current.seq >= seq:
        return
    databases[database] = {"seq": seq, "mac": mac.hex()}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        json.dump({"databases": databases}, handle, sort_keys=True)
    os.replace(temporary, path)
