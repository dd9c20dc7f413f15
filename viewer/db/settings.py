"""Where Caseline keeps its files and which database it talks to.

The database URL is resolved in one place so that the GUI, the CLI, Alembic and
the tests agree: ``--database-url``, then ``CASELINE_DATABASE_URL``, then
``database_url`` in ``CASELINE_HOME/config.toml``, else the embedded server
under the Caseline home.  The home is ``CASELINE_HOME`` when set, otherwise the
platform's user data directory; tests always set ``CASELINE_HOME`` to a
temporary directory so they never touch a real home.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import platformdirs
import sqlalchemy as sa

ENV_HOME = "CASELINE_HOME"
ENV_DATABASE_URL = "CASELINE_DATABASE_URL"
CONFIG_FILE_NAME = "config.toml"


class UrlSource(Enum):
    """Where the database URL came from, shown by ``main.py db url`` and in logs."""

    FLAG = "command-line flag"
    ENVIRONMENT = ENV_DATABASE_URL
    CONFIG_FILE = CONFIG_FILE_NAME
    EMBEDDED = "embedded default"


class ConfigError(Exception):
    """The configuration file exists but cannot be used; the message says why."""


def caseline_home() -> Path:
    """Return the Caseline home directory, creating it (mode 0700) if missing.

    A home that is a file, cannot be created or cannot be written is a
    :class:`ConfigError` naming it: it used to surface as a traceback, or as a
    window waiting for ever on "Preparing the database…".
    """
    raw = os.environ.get(ENV_HOME)
    home = Path(raw).expanduser() if raw else Path(platformdirs.user_data_dir("caseline"))
    if home.exists() and not home.is_dir():
        raise ConfigError(f"the Caseline home {home} is not a folder; set {ENV_HOME} to a folder")
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"cannot create the Caseline home {home}: {exc.strerror or exc}") from None
    if not os.access(home, os.R_OK | os.W_OK | os.X_OK):
        raise ConfigError(
            f"the Caseline home {home} cannot be written by this user; set {ENV_HOME} to one that can"
        )
    return home.resolve()


def _read_config(home: Path) -> dict[str, object]:
    path = home / CONFIG_FILE_NAME
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one Caseline process.

    ``database_url`` is ``None`` when the embedded server is to be used; the
    caller then asks :mod:`viewer.db.embedded` for its URL.
    """

    home: Path
    database_url: str | None
    url_source: UrlSource
    idle_lock_minutes: int = 15

    @property
    def uses_embedded(self) -> bool:
        return self.database_url is None


def _checked_url(url: str, source: UrlSource) -> str:
    """Refuse a URL that is not PostgreSQL before anything tries to connect with it.

    The message names where the URL came from but never repeats it: it may hold a password.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(
            f"the database URL from the {source.value} is not a URL "
            "(expected postgresql://user@host/database)"
        ) from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ConfigError(
            f"the database URL from the {source.value} is for {parsed.get_backend_name()!r}; "
            "Caseline needs PostgreSQL (postgresql://user@host/database)"
        )
    if "+" in parsed.drivername and parsed.get_driver_name() != "psycopg":
        raise ConfigError(
            f"the database URL from the {source.value} names the driver {parsed.get_driver_name()!r}; "
            "use postgresql:// or postgresql+psycopg://"
        )
    return url


KNOWN_SETTINGS = ("database_url", "idle_lock_minutes")


def resolve_settings(flag_url: str | None = None) -> Settings:
    """Resolve the settings in the documented order of precedence."""
    home = caseline_home()
    config = _read_config(home)
    # A misspelt key ("idle_lock_minuts = 5") was ignored in silence: the lock kept its 15 minutes.
    unknown = sorted(key for key in config if key not in KNOWN_SETTINGS)
    if unknown:
        raise ConfigError(
            f"unknown setting {', '.join(unknown)} in {home / CONFIG_FILE_NAME} "
            f"(the settings are {', '.join(KNOWN_SETTINGS)})"
        )
    idle = config.get("idle_lock_minutes", 15)
    if not isinstance(idle, int) or idle < 1:
        raise ConfigError(f"idle_lock_minutes in {home / CONFIG_FILE_NAME} must be a whole number >= 1")
    if flag_url:
        return Settings(home, _checked_url(flag_url, UrlSource.FLAG), UrlSource.FLAG, idle)
    env_url = os.environ.get(ENV_DATABASE_URL)
    if env_url:
        return Settings(home, _checked_url(env_url, UrlSource.ENVIRONMENT), UrlSource.ENVIRONMENT, idle)
    file_url = config.get("database_url")
    if file_url is not None:
        if not isinstance(file_url, str) or not file_url:
            raise ConfigError(f"database_url in {home / CONFIG_FILE_NAME} must be a non-empty string")
        return Settings(home, _checked_url(file_url, UrlSource.CONFIG_FILE), UrlSource.CONFIG_FILE, idle)
    return Settings(home, None, UrlSource.EMBEDDED, idle)
