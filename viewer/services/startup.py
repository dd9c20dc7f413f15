"""What the app does before its first window has data: find, start and prepare the database.

Runs off the GUI thread (it may start the embedded server and load the demo,
a few seconds on a fresh home).  On the embedded default it migrates to head
and loads the demo practice into an empty database; on a clinic's server it
only checks the schema revision, because migrating a shared server is an
administrator's decision (``main.py db upgrade``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from viewer.db import migrate
from viewer.db.embedded import EmbeddedServerError
from viewer.db.engine import embedded_server, make_engine, owner_url
from viewer.db.settings import Settings
from viewer.services.errors import ServiceError


class DatabaseUnavailable(ServiceError):
    """The database cannot be reached or is not at the schema this version needs."""


@dataclass(frozen=True)
class StartupResult:
    engine: sa.Engine
    demo_loaded_now: bool
    has_demo_data: bool
    source: str


def has_demo_data(conn: sa.Connection) -> bool:
    return bool(
        conn.execute(sa.text(r"SELECT EXISTS (SELECT 1 FROM users WHERE username LIKE 'demo\_%')")).scalar()
    )


def _is_empty(conn: sa.Connection) -> bool:
    return not conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM users)")).scalar()


def prepare_database(settings: Settings) -> StartupResult:
    """Connect, migrate or check, and load the demo on a fresh embedded home."""
    try:
        engine = make_engine(owner_url(settings))
    except EmbeddedServerError as exc:
        raise DatabaseUnavailable(f"the embedded database could not start: {exc}") from exc
    except OSError as exc:  # a file of the home that cannot be read or written: say which, do not hang
        where = f" ({exc.filename})" if exc.filename else ""
        raise DatabaseUnavailable(
            f"the embedded database could not start: {exc.strerror or exc}{where}"
        ) from exc
    demo_loaded_now = False
    try:
        if settings.uses_embedded:
            # One setup at a time: two first starts on one home both migrated, and one failed for good.
            with embedded_server(settings).exclusive():
                with engine.begin() as conn:
                    migrate.upgrade(conn)
                    empty = _is_empty(conn)
                if empty:
                    from viewer.services.demo import load_demo

                    load_demo(engine, settings)
                    demo_loaded_now = True
        else:
            with engine.connect() as conn:
                current = migrate.current_revision(conn)
            head = migrate.head_revision()
            if current != head:
                raise DatabaseUnavailable(
                    f"the database schema is at {current or 'no revision'}, this Caseline needs {head}: "
                    "ask your administrator to run 'main.py db upgrade'"
                )
        with engine.connect() as conn:
            demo = has_demo_data(conn)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot reach the database ({type(exc.orig).__name__})") from exc
    return StartupResult(engine, demo_loaded_now, demo, settings.url_source.value)
