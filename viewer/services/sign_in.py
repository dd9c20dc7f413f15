"""Signing in: each clinician connects with their own database login.

The app never holds a shared account: after sign-in every query runs as the
clinician's LOGIN role, so PostgreSQL's row-level security decides what they
see.  Passwords are used to open the connection pool and kept in memory only
as long as the pool needs them; the username may be remembered in the
Caseline home (``last-user``), the password never is.  On the embedded demo
the sign-in dialog offers the demo accounts from ``demo-credentials.json``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from viewer.db.engine import make_engine
from viewer.services.errors import ServiceError

log = logging.getLogger(__name__)
LAST_USER_FILE = "last-user"
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")


class SignInFailed(ServiceError):
    """The username or password is wrong, or the login is not an active Caseline user."""


@dataclass(frozen=True)
class Identity:
    """The signed-in clinician."""

    user_id: uuid.UUID
    username: str
    display_name: str
    role: str

    def describe(self) -> str:
        """ "Ada Morrow (therapist)"; a name that already says its role ("Noor Castell (admin)") once."""
        role = f"({self.role})"
        return self.display_name if self.display_name.endswith(role) else f"{self.display_name} {role}"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    password: str


def demo_accounts(home: Path) -> list[DemoAccount]:
    """The demo practice's logins (fictional people), or none when the demo is not loaded here."""
    path = home / "demo-credentials.json"
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [
            DemoAccount(entry["username"], entry["display_name"], entry["role"], entry["password"])
            for entry in data.get("users", [])
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        # Damaged, it hid the sign-in dialog; without it one signs in by typing, as on any server.
        log.warning("the demo accounts file cannot be read; signing in without the demo list")
        return []


def remembered_username(home: Path) -> str | None:
    path = home / LAST_USER_FILE
    if not path.exists():
        return None
    name = path.read_text(encoding="utf-8").strip()
    return name if _USERNAME.match(name) else None


def remember_username(home: Path, username: str) -> None:
    """Keep the username (never the password) for the next sign-in."""
    path = home / LAST_USER_FILE
    temporary = path.with_name(f".{LAST_USER_FILE}.{os.getpid()}")
    temporary.write_text(username + "\n", encoding="utf-8")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def forget_username(home: Path) -> None:
    """Unticked "Remember my username": the next person at a shared workstation sees an empty box."""
    (home / LAST_USER_FILE).unlink(missing_ok=True)


def sign_in(base_url: sa.URL, username: str, password: str) -> tuple[sa.Engine, Identity]:
    """Open a pool as ``username`` and check it belongs to an active clinician; returns both."""
    if not _USERNAME.match(username):
        raise SignInFailed("a username has 1 to 63 letters, digits, dots, dashes or underscores")
    if not password:
        raise SignInFailed("enter your password")
    engine = make_engine(base_url.set(username=username, password=password))
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT id, username, display_name, role FROM users "
                    "WHERE username = session_user AND is_active AND role <> 'patient'"
                )
            ).first()
    except sa.exc.OperationalError as exc:
        engine.dispose()
        message = str(exc.orig)
        if "password authentication failed" in message or "does not exist" in message:
            raise SignInFailed("wrong username or password") from None
        if "is not permitted to log in" in message:  # the password was right: a leaver's closed login
            raise SignInFailed(f"the login {username} is not an active Caseline clinician") from None
        raise
    if row is None:
        engine.dispose()
        raise SignInFailed(f"the login {username} is not an active Caseline clinician")
    return engine, Identity(row.id, row.username, row.display_name, row.role)


def check_password(base_url: sa.URL, username: str, password: str) -> bool:
    """Whether ``password`` still opens ``username``'s login (unlocking after idle time)."""
    try:
        engine, _identity = sign_in(base_url, username, password)
    except SignInFailed:
        return False
    engine.dispose()
    return True
