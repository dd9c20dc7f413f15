"""The audit trail: who did what, in a chain nobody can quietly rewrite.

Each row's ``mac`` is HMAC-SHA256 over the previous row's ``mac`` and this
row's content, keyed with a secret that lives outside the database: a 0600
file ``audit.key`` in the Caseline home, or ``CASELINE_AUDIT_KEY`` (hex) on a
server where every workstation must share it.  Editing a row breaks its mac,
deleting one leaves a gap in ``seq`` and breaks the next row's link,
swapping two breaks both links; :func:`verify` names the first row of each.
(Cutting rows off the end leaves a shorter valid chain; compare the tail with
a copy kept elsewhere to catch that.)

Rows carry ids and the action, never clinical text; a supervisor's stated
purpose for reading a private note is the one free text, and it is theirs.
An append happens in the caller's transaction, so an audited write and its
audit row commit or vanish together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from viewer.db.models import AUDIT_ACTIONS

KEY_FILE_NAME = "audit.key"
KEY_ENV = "CASELINE_AUDIT_KEY"
GENESIS = bytes(32)
_LOCK_ID = 0x0CA5E11E  # pg_advisory_xact_lock id serialising appends


class AuditKeyError(Exception):
    """The audit key is missing or malformed (a configuration problem the user can fix)."""


@dataclass(frozen=True)
class AuditKey:
    secret: bytes

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
            return cls(secret)
        path = home / KEY_FILE_NAME
        if not path.exists():
            if not create:
                raise AuditKeyError(f"no audit key at {path}")
            home.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32))
            os.replace(temporary, path)
        if path.stat().st_mode & 0o077:
            raise AuditKeyError(f"{path} must be readable by its owner only (chmod 600)")
        try:
            secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
        except ValueError:
            raise AuditKeyError(f"{path} does not hold a hex key") from None
        return cls(secret)


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
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    tail = conn.execute(sa.text("SELECT seq, mac FROM caseline_audit_tail()")).first()
    seq = (tail.seq or 0) + 1 if tail is not None and tail.seq is not None else 1
    prev_mac = bytes(tail.mac) if tail is not None and tail.mac is not None else GENESIS
    actor = conn.execute(sa.text("SELECT session_user")).scalar_one()
    at = datetime.now(UTC).replace(tzinfo=None)
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
    return seq


@dataclass(frozen=True)
class AuditReport:
    rows: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        if self.ok:
            return f"Audit log intact: {self.rows} rows, every link verified."
        return "\n".join(
            [f"Audit log damaged ({len(self.problems)} problems in {self.rows} rows):", *self.problems]
        )


def verify(conn: sa.Connection, key: AuditKey) -> AuditReport:
    """Walk the chain in ``seq`` order and name every row that was edited, removed or moved."""
    problems: list[str] = []
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    rows = conn.execute(
        sa.text(
            "SELECT seq, at, actor, action, event_id, patient_id, detail, prev_mac, mac FROM audit_log ORDER BY seq"
        )
    )
    for row in rows:
        count += 1
        prev_mac, mac = bytes(row.prev_mac), bytes(row.mac)
        if row.seq != expected_seq:
            problems.append(f"row {row.seq}: rows {expected_seq}..{row.seq - 1} are missing (deleted)")
        content = _canonical(row.seq, row.at, row.actor, row.action, row.event_id, row.patient_id, row.detail)
        if not hmac.compare_digest(mac, _mac(key, prev_mac, content)):
            problems.append(f"row {row.seq}: its content does not match its HMAC (edited)")
        elif not hmac.compare_digest(prev_mac, expected_prev):
            problems.append(
                f"row {row.seq}: it does not follow the row before it (removed or reordered rows)"
            )
        expected_prev = mac
        expected_seq = row.seq + 1
    return AuditReport(count, tuple(problems))
