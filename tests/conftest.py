"""Shared fixtures: a real PostgreSQL for the session, each test in a rolled-back transaction.

The Caseline home is pointed at a fresh temporary directory before anything
imports the app, so no test ever reads or writes a developer's real home.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Must happen before Qt or the app's settings are imported anywhere.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["CASELINE_HOME"] = tempfile.mkdtemp(prefix="caseline-test-home-")
os.environ.pop("CASELINE_DATABASE_URL", None)

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from tests.db.privacy_practice import Practice, build_practice, drop_logins
from viewer.db import migrate
from viewer.db.embedded import EmbeddedServer
from viewer.db.engine import make_engine

atexit.register(shutil.rmtree, os.environ["CASELINE_HOME"], ignore_errors=True)  # after the server stops
# One audit key for the whole session, the one the database tests construct, given as a clinic
# gives it to every workstation: tests in fresh homes sign the shared chains with it, since a key a
# home makes for itself may start a chain but never join one.  Tests of key files unset it.
os.environ["CASELINE_AUDIT_KEY"] = bytes(range(32)).hex()

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def caseline_home() -> Path:
    return Path(os.environ["CASELINE_HOME"])


@pytest.fixture(scope="session")
def pg_server(caseline_home: Path) -> Iterator[EmbeddedServer]:
    """The session's embedded PostgreSQL (started once, about a second)."""
    server = EmbeddedServer(caseline_home)
    server.acquire()
    yield server
    server.release()


@pytest.fixture(scope="session")
def engine(pg_server: EmbeddedServer) -> Iterator[sa.Engine]:
    """Owner engine on the session database, migrated to head once."""
    eng = make_engine(pg_server.owner_url())
    with eng.begin() as conn:
        migrate.upgrade(conn)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection inside a transaction that is rolled back after the test.

    Services use SAVEPOINTs on it (``begin_nested``), so a refused write inside
    a test rolls back alone, exactly as it would in the app.
    """
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@contextmanager
def _scratch(pg_server: EmbeddedServer) -> Iterator[sa.URL]:
    name = f"scratch_{os.getpid()}_{next(_scratch_counter)}"
    admin = make_engine(
        pg_server.owner_url(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_server.owner_url(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def scratch_database(pg_server: EmbeddedServer) -> Iterator[sa.URL]:
    """An empty database of its own, for tests that migrate up and down."""
    with _scratch(pg_server) as url:
        yield url


@pytest.fixture(scope="module")
def module_scratch_database(pg_server: EmbeddedServer) -> Iterator[sa.URL]:
    """An empty database shared by one test module (committed fixtures, several logins)."""
    with _scratch(pg_server) as url:
        yield url


@pytest.fixture(scope="module")
def practice(module_scratch_database: sa.URL) -> Iterator[Practice]:
    """The privacy practice (every role, with real logins) in this module's own database."""
    built = build_practice(module_scratch_database)
    yield built
    drop_logins(built)


@pytest.fixture
def fresh_engine(scratch_database: sa.URL) -> Iterator[sa.Engine]:
    """An owner engine on a database of its own, migrated to head (for state that must start empty)."""
    engine = make_engine(scratch_database, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        migrate.upgrade(conn)
    yield engine
    engine.dispose()


def _counter() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


_scratch_counter = _counter()
