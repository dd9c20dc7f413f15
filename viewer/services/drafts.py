"""Unsaved editor drafts, kept encrypted on disk so a crash loses nothing and leaks nothing.

A draft holds clinical text, so it is never written in the clear: each file is
AES-256-GCM sealed with a key derived (Argon2id) from the clinician's own
password and a per-user salt.  The key exists only in memory while they are
signed in; after a crash, signing in again derives the same key and the
drafts are offered back.  Without the password a draft file is noise, and a
file that fails authentication (tampered, or another user's) is set aside,
never half-read.  File names are random ids; nothing about the patient shows
on disk.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

DRAFTS_DIR = "drafts"
SALT_FILE = "salt"
_MAGIC = b"CLD1"
_NONCE = 12
# Argon2id at 64 MiB and 3 passes (RFC 9106's second recommendation): ~0.1-0.3 s once per sign-in.
_KDF_MEMORY_KIB = 64 * 1024
_KDF_ITERATIONS = 3


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def _write_private(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600: a crash mid-write leaves the old file or none."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


@dataclass(frozen=True)
class Draft:
    """One recovered draft: its id and the editor's payload."""

    id: uuid.UUID
    payload: dict[str, Any]


class DraftStore:
    """The signed-in user's drafts folder, sealed with a key only their password yields."""

    def __init__(self, folder: Path, key: bytes, username: str) -> None:
        self._folder = folder
        self._aead = AESGCM(key)
        self._aad = username.encode("utf-8")

    @classmethod
    def open(cls, home: Path, username: str, password: str) -> DraftStore:
        """Derive the key for ``username`` (slow on purpose: run it off the GUI thread)."""
        # The folder of folders too: 0755, it let any local user list who keeps drafts here.
        folder = _private_dir(_private_dir(home / DRAFTS_DIR) / username)
        salt_path = folder / SALT_FILE
        if not salt_path.exists():
            _write_private(salt_path, secrets.token_bytes(16))
        salt = salt_path.read_bytes()
        kdf = Argon2id(salt=salt, length=32, iterations=_KDF_ITERATIONS, lanes=1, memory_cost=_KDF_MEMORY_KIB)
        return cls(folder, kdf.derive(password.encode("utf-8")), username)

    def _path(self, draft_id: uuid.UUID) -> Path:
        return self._folder / f"{draft_id}.draft"

    def save(self, draft_id: uuid.UUID, payload: dict[str, Any]) -> None:
        nonce = secrets.token_bytes(_NONCE)
        plain = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        _write_private(self._path(draft_id), _MAGIC + nonce + self._aead.encrypt(nonce, plain, self._aad))

    def discard(self, draft_id: uuid.UUID) -> None:
        self._path(draft_id).unlink(missing_ok=True)

    def load_all(self) -> tuple[list[Draft], int]:
        """Every draft this key opens, oldest first, and how many files could not be opened.

        Files that do not open (another password, tampering) are left where they are:
        deleting them could lose the only copy of someone's work.
        """
        drafts: list[tuple[float, Draft]] = []
        unreadable = 0
        for path in self._folder.glob("*.draft"):
            try:
                draft_id = uuid.UUID(path.stem)
                blob = path.read_bytes()
                if not blob.startswith(_MAGIC):
                    raise ValueError("not a draft")
                nonce, sealed = blob[len(_MAGIC) : len(_MAGIC) + _NONCE], blob[len(_MAGIC) + _NONCE :]
                payload = json.loads(self._aead.decrypt(nonce, sealed, self._aad))
                if not isinstance(payload, dict):
                    raise ValueError("not a draft")
            except (ValueError, InvalidTag, OSError):
                unreadable += 1
                continue
            drafts.append((path.stat().st_mtime, Draft(draft_id, payload)))
        drafts.sort(key=lambda item: item[0])
        return [draft for _, draft in drafts], unreadable
