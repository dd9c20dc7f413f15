"""The audit trail: who did what, in a chain nobody can quietly rewrite.

Each row's ``mac`` is HMAC-SHA256 over the previous row's ``mac`` and this
row's content, keyed with a secret that lives outside the database: a 0600
file ``audit.key`` in the Caseline home, or ``CASELINE_AUDIT_KEY`` (hex) on a
server where every workstation must share it.  Editing a row breaks its mac,
deleting one leaves a gap in ``seq`` and breaks the next row's link,
swapping two breaks both links; :func:`verify` names the first row of each.
Cutting rows off the end leaves a shorter valid chain: a key loaded from the
Caseline home also keeps a checkpoint of the furthest row this machine saw
(:mod:`viewer.services.audit_tail`), and verify reports a chain that no
longer reaches it.

The database accepts only the next link (migration ``l2m3n4o5p6q7``): ``seq``
one past the tail, ``prev_mac`` the tail's mac, ``at`` the server's
``now()`` in UTC (the start of the transaction), ``actor`` the login.  So
the row's ``at`` is read from the server before its mac is computed.

A lost or leaked key is replaced with :func:`rekey` (migration
``r8s9t0u1v2w3``): an ``audit.rekey`` row, signed by the new key and linked to
the old tail, names the new key by fingerprint.  From it on the new key signs
and :func:`verify` checks everything; before it, numbering and links only.

Rows carry ids and the action, never clinical text; a supervisor's stated
purpose for reading a private note and an owner's reason for a new key
(:func:`rekey`) are the free texts, and they are their authors' own.
An append happens in the caller's transaction, so an audited write and its
audit row commit or vanish together.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from viewer.db.models import AUDIT_ACTIONS
from viewer.services.audit_tail import (
    CHECKPOINT_FILE_NAME,
    CheckpointError,
    database_identity,
    read_checkpoint,
    remember,
)

KEY_FILE_NAME = "audit.key"
PENDING_KEY_FILE_NAME = ".audit.key.pending"  # a new key between its re-key row and its file
REKEY_LOCK_FILE_NAME = ".audit.rekey.lock"
REKEY = "audit.rekey"
MAX_REASON_CHARS = 500
KEY_ENV = "CASELINE_AUDIT_KEY"
GENESIS = bytes(32)
_LOCK_ID = 0x0CA5E11E  # pg_advisory_xact_lock id serialising appends (the insert trigger takes it too)
_STARTED_HERE: set[bytes] = set()  # new keys (AuditKey.created) that started their database's chain
_APPENDED_IN = "caseline_audit_appended_in"  # conn.info: the transaction of this connection's last append


class AuditKeyError(Exception):
    """The audit key is missing or malformed (a configuration problem the user can fix)."""


@dataclass(frozen=True)
class AuditKey:
    """The chain's secret, and where this machine keeps its checkpoint of the chain's end (if anywhere).

    ``created`` is where a key this load just made will be kept: a new key may
    start a chain, never join one.  :func:`append` writes its file when it
    signs a chain's first row and refuses it on a chain that has rows.
    """

    secret: bytes
    checkpoint: Path | None = None
    created: Path | None = field(default=None, compare=False)

    @classmethod
    def load(cls, home: Path, *, create: bool = True) -> AuditKey:
        """The key from ``CASELINE_AUDIT_KEY``, else ``home/audit.key`` (created 0600 on first use)."""
        from_env = os.environ.get(KEY_ENV)
        if from_env:
            try:
                secret = bytes.fromhex(from_env.strip())
            except ValueError:
                raise AuditKeyError(f"{KEY_ENV} must be hex") from None
            if len(secret) < 32:
                raise AuditKeyError(f"{KEY_ENV} must hold at least 32 bytes")
            return cls(secret, home / CHECKPOINT_FILE_NAME)
        path = home / KEY_FILE_NAME
        if not path.exists():
            if not create:
                raise AuditKeyError(f"no audit key at {path}")
            # A new key, written only when it starts a chain (``append``): a workstation that never
            # reaches the database, or finds a chain signed by another key, keeps no key file.
            return cls(secrets.token_bytes(32), home / CHECKPOINT_FILE_NAME, path)
        return cls(_read_secret(path), home / CHECKPOINT_FILE_NAME)

    def keep(self) -> None:
        """Write a new key to its file (0600), now that it starts its chain; a no-op for any other key."""
        path = self.created
        if path is None or self.secret in _STARTED_HERE:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}")
        _write_private(temporary, self.secret)
        try:
            os.link(temporary, path)  # fails if another process wrote a key meanwhile: never replace one
        except FileExistsError:
            raise AuditKeyError(f"{path} appeared while this key was being made; try again") from None
        finally:
            os.unlink(temporary)
        _STARTED_HERE.add(self.secret)


def _read_secret(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        raise AuditKeyError(f"{path} must be readable by its owner only (chmod 600)")
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except ValueError:
        raise AuditKeyError(f"{path} does not hold a hex key") from None


def _write_private(path: Path, secret: bytes) -> None:
    """A new 0600 file holding ``secret`` in hex; never replaces one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret.hex())


def key_id(key: AuditKey) -> str:
    """A fingerprint naming the key in the log (an HMAC of a constant: it reveals nothing of the key)."""
    return hmac.new(key.secret, b"caseline audit key id", hashlib.sha256).hexdigest()[:16]


def _canonical(
    seq: int, at: datetime, actor: str, action: str, event_id: Any, patient_id: Any, detail: Any
) -> bytes:
    body = {
        "seq": seq,
        "at": at.replace(tzinfo=None).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "event_id": str(event_id) if event_id else None,
        "patient_id": str(patient_id) if patient_id else None,
        "detail": detail,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _mac(key: AuditKey, prev_mac: bytes, content: bytes) -> bytes:
    return hmac.new(key.secret, prev_mac + content, hashlib.sha256).digest()


def append(
    conn: sa.Connection,
    key: AuditKey,
    action: str,
    *,
    event_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Add one row to the chain in the caller's transaction; returns its ``seq``."""
    if action not in AUDIT_ACTIONS or action == REKEY:
        raise ValueError(f"unknown audit action {action!r}")  # a new key goes through rekey()
    return _append(conn, key, action, event_id=event_id, patient_id=patient_id, detail=detail)


def _append(
    conn: sa.Connection,
    key: AuditKey,
    action: str,
    *,
    event_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    tail = conn.execute(
        sa.text(
            "SELECT t.seq, t.mac, now() AT TIME ZONE 'utc' AS at, session_user AS actor, "
            "pg_current_xact_id()::text AS xact, caseline_audit_key_id() AS key_id FROM caseline_audit_tail() t"
        )
    ).one()
    if action != REKEY and key.created is not None and key.secret not in _STARTED_HERE:
        if tail.seq is not None:
            # A workstation without the clinic's key just made one: its rows would fork the chain
            # (verify would call every one of them edited).  Refuse; no key file was written.
            raise AuditKeyError(
                f"this database already keeps an audit trail, signed with another machine's key; "
                f"copy that machine's {KEY_FILE_NAME} into {key.created.parent} (chmod 600) "
                f"or set {KEY_ENV} (hex) to the clinic's key; if that key is lost for good, the database owner "
                "starts a new one with `python main.py audit rekey --reason TEXT` (the log records it)"
            )
        key.keep()  # the chain's first row: this key is the chain's from now on
    if action != REKEY and tail.key_id is not None and tail.key_id != key_id(key):
        # The owner started a new key (audit rekey): rows signed with this one could not be checked.
        raise AuditKeyError(
            f"the clinic's audit key was replaced (audit rekey); copy the new {KEY_FILE_NAME} from the "
            f"machine that made it into this Caseline home (chmod 600), or set {KEY_ENV} (hex) to it"
        )
    seq = tail.seq + 1 if tail.seq is not None else 1
    prev_mac = bytes(tail.mac) if tail.mac is not None else GENESIS
    if key.checkpoint is not None and tail.seq is not None and conn.info.get(_APPENDED_IN) != tail.xact:
        # Under the lock the tail is committed, unless this very transaction appended it.
        remember(key.checkpoint, database_identity(conn), tail.seq, prev_mac)
    actor, at = tail.actor, tail.at
    mac = _mac(key, prev_mac, _canonical(seq, at, actor, action, event_id, patient_id, detail))
    conn.execute(
        sa.text(
            "INSERT INTO audit_log (seq, at, actor, action, event_id, patient_id, detail, prev_mac, mac) "
            "VALUES (:seq, :at, :actor, :action, :event_id, :patient_id, CAST(:detail AS jsonb), :prev, :mac)"
        ),
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "event_id": event_id,
            "patient_id": patient_id,
            "detail": json.dumps(detail) if detail is not None else None,
            "prev": prev_mac,
            "mac": mac,
        },
    )
    conn.info[_APPENDED_IN] = tail.xact
    return seq


@dataclass(frozen=True)
class Rekeyed:
    """A new key signs the chain from row ``seq``; the old key file (if this home had one) was kept aside."""

    seq: int
    key_file: Path
    retired_file: Path | None


def rekey(engine: sa.Engine, home: Path, reason: str) -> Rekeyed:
    """Sign the chain with a new key from now on, kept in ``home/audit.key``.

    For a clinic whose key is lost (every audited write is refused) or leaked.
    The re-key row records who, when and why, and the new key's fingerprint;
    it links to the old tail like any row, so no earlier row can be removed or
    reordered unseen, but what those rows say can be checked only with the
    retired key.  The new key goes to a pending file first and into place only
    once its row has committed: a failure in between leaves the old state, or
    a pending key that the next run recognises as the chain's and installs.
    """
    if os.environ.get(KEY_ENV):
        raise AuditKeyError(
            f"{KEY_ENV} is set: unset it to re-key into {home / KEY_FILE_NAME}, then give every machine the new key"
        )
    reason = reason.strip()
    if not reason:
        raise AuditKeyError("say why the key is replaced (--reason): the log keeps it")
    if len(reason) > MAX_REASON_CHARS:
        raise AuditKeyError(f"the reason is longer than {MAX_REASON_CHARS} characters")
    home.mkdir(parents=True, exist_ok=True)
    # One re-key at a time per home: a second would take the first's pending key for a dead run's.
    with (home / REKEY_LOCK_FILE_NAME).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _rekey(engine, home, reason)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _rekey(engine: sa.Engine, home: Path, reason: str) -> Rekeyed:
    path, pending = home / KEY_FILE_NAME, home / PENDING_KEY_FILE_NAME
    if pending.exists():
        with engine.connect() as conn:
            newest = conn.execute(
                sa.text(
                    "SELECT seq, detail ->> 'key_id' FROM audit_log WHERE action = :a ORDER BY seq DESC LIMIT 1"
                ),
                {"a": REKEY},
            ).one_or_none()
        if newest is not None and newest[1] == key_id(AuditKey(_read_secret(pending))):
            return _install(pending, path, int(newest[0]))  # the last run committed its row, then stopped
        pending.unlink()  # its row never committed: that key signs nothing
    new = AuditKey(secrets.token_bytes(32), home / CHECKPOINT_FILE_NAME)
    _write_private(pending, new.secret)
    try:
        with engine.begin() as conn:
            seq = _append(conn, new, REKEY, detail={"reason": reason, "key_id": key_id(new)})
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    return _install(pending, path, seq)


def _install(pending: Path, path: Path, seq: int) -> Rekeyed:
    retired = None
    if path.exists():
        retired = path.with_name(f"{KEY_FILE_NAME}.retired-{seq}")
        os.replace(path, retired)
    os.replace(pending, path)
    return Rekeyed(seq, path, retired)


def holds_append_lock(conn: sa.Connection) -> bool:
    """Whether this connection's transaction holds the appenders' lock (it appended, uncommitted)."""
    held = conn.execute(
        sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
            "AND classid = 0 AND objid = :id AND objsubid = 1 AND granted)"
        ),
        {"id": _LOCK_ID},
    ).scalar_one()
    return bool(held)


@dataclass(frozen=True)
class AuditReport:
    rows: int
    problems: tuple[str, ...]
    key_since: int = 1  # the first row this key signs (a re-key row, or the chain's first)
    rekeyed: str = ""  # when, by whom and why this key replaced another (when key_since > 1)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        retired = (
            f"\nRows 1..{self.key_since - 1} were signed with a retired key: their numbering and links are "
            f"verified, their contents can be checked only with that key. This key signs from row "
            f"{self.key_since} ({self.rekeyed})."
            if self.key_since > 1
            else ""
        )
        if self.ok:
            return f"Audit log intact: {_count(self.rows, 'row')}, every link verified.{retired}"
        return (
            "\n".join(
                [
                    f"Audit log damaged ({_count(len(self.problems), 'problem')} in {_count(self.rows, 'row')}):",
                    *self.problems,
                ]
            )
            + retired
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def verify(conn: sa.Connection, key: AuditKey) -> AuditReport:
    """Walk the chain in ``seq`` order and name every row that was edited, removed or moved.

    With a checkpoint, also name a chain cut short of (or re-grown over) the
    furthest row this machine saw; a clean report moves the checkpoint to the
    chain's end, when the transaction has written nothing (so all it read is committed).
    """
    problems: list[str] = []
    database = database_identity(conn) if key.checkpoint is not None else ""
    checkpoint = None
    if key.checkpoint is not None:
        try:
            checkpoint = read_checkpoint(key.checkpoint, database)
        except CheckpointError as exc:
            problems.append(f"checkpoint: {exc}")
    seen_at_checkpoint: bytes | None = None
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    columns = "seq, at, actor, action, event_id, patient_id, detail, prev_mac, mac"
    # This key signs from its own re-key row (the chain's first row if it never replaced one) up to
    # the next re-key row it did not sign; outside that, only numbering and links can be checked.
    rekeys = conn.execute(
        sa.text(f"SELECT {columns} FROM audit_log WHERE action = :a ORDER BY seq"), {"a": REKEY}
    ).all()
    # A re-key row names its key by fingerprint; its mac is then checked like any row's, so an edited
    # re-key row is named, not taken for another key's.
    ours = key_id(key)
    mine = [r for r in rekeys if (r.detail or {}).get("key_id") == ours]
    since = mine[-1].seq if mine else 1
    newer = next((r.seq for r in rekeys if r.seq > since and (r.detail or {}).get("key_id") != ours), None)
    if rekeys and not mine:
        first = conn.execute(sa.text(f"SELECT {columns} FROM audit_log ORDER BY seq LIMIT 1")).one()
        if not _signed(key, first):  # not the first key either: no row is this key's to check
            problems.append(
                "no re-key row names this key and it did not sign the chain's first row: "
                "a re-key row was edited, or this is not the clinic's key (only links are checked)"
            )
            since, newer = first.seq, first.seq
    rows = conn.execute(sa.text(f"SELECT {columns} FROM audit_log ORDER BY seq"))
    for row in rows:
        count += 1
        prev_mac, mac = bytes(row.prev_mac), bytes(row.mac)
        if row.seq != expected_seq:
            problems.append(f"row {row.seq}: rows {expected_seq}..{row.seq - 1} are missing (deleted)")
        if row.seq < since or (newer is not None and row.seq >= newer):
            if not hmac.compare_digest(prev_mac, expected_prev):
                problems.append(
                    f"row {row.seq}: it does not follow the row before it (removed or reordered rows)"
                )
        elif not _signed(key, row):
            problems.append(f"row {row.seq}: its content does not match its HMAC (edited)")
        elif not hmac.compare_digest(prev_mac, expected_prev):
            problems.append(
                f"row {row.seq}: it does not follow the row before it (removed or reordered rows)"
            )
        if checkpoint is not None and row.seq == checkpoint.seq:
            seen_at_checkpoint = mac
        expected_prev = mac
        expected_seq = row.seq + 1
    last_seq = expected_seq - 1
    if newer is not None and newer != since:
        problems.append(
            f"rows {newer}..{last_seq}: signed with a newer key (re-keyed at row {newer}); "
            "verify with the key in use now"
        )
    if checkpoint is not None:
        if seen_at_checkpoint is None and last_seq < checkpoint.seq:
            problems.append(
                f"row {checkpoint.seq}: missing, with every row after {last_seq}: this machine saw the "
                "chain reach it (rows cut off the end)"
            )
        elif seen_at_checkpoint is not None and not hmac.compare_digest(seen_at_checkpoint, checkpoint.mac):
            problems.append(
                f"row {checkpoint.seq}: not the row this machine saw there (rows removed and the chain re-grown)"
            )
    clean = conn.execute(sa.text("SELECT pg_current_xact_id_if_assigned() IS NULL")).scalar_one()
    if key.checkpoint is not None and not problems and count and clean:
        remember(key.checkpoint, database, last_seq, expected_prev)
    rekeyed = ""
    if mine:
        row = mine[-1]
        reason = (row.detail or {}).get("reason", "")
        rekeyed = f"re-keyed {row.at:%Y-%m-%d %H:%M} UTC by {row.actor}: {reason}"
    return AuditReport(count, tuple(problems), since, rekeyed)


def _signed(key: AuditKey, row: Any) -> bool:
    """Whether ``key`` made this row's mac (over its own ``prev_mac`` and content)."""
    content = _canonical(row.seq, row.at, row.actor, row.action, row.event_id, row.patient_id, row.detail)
    return hmac.compare_digest(bytes(row.mac), _mac(key, bytes(row.prev_mac), content))
