"""Engines for the configured database, with the connection options we always want.

``prepare_threshold=None`` turns off psycopg's automatic server-side prepared
statements: after five executions they switch the timeline query to a generic
plan that ignores the patient's selectivity and runs about 100x slower.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

import sqlalchemy as sa

from viewer.db.embedded import EmbeddedServer
from viewer.db.settings import Settings

_embedded_lock = threading.Lock()
_embedded: dict[str, EmbeddedServer] = {}


def embedded_server(settings: Settings) -> EmbeddedServer:
    """The running embedded server of this home; started (and registered) on first use.

    The process releases it at exit, so the server stops with the last client.
    """
    key = str(settings.home)
    with _embedded_lock:
        server = _embedded.get(key)
        if server is None:
            server = EmbeddedServer(settings.home)
            server.acquire()
            atexit.register(server.release)
            _embedded[key] = server
        return server


def owner_url(settings: Settings) -> sa.URL:
    """URL of the schema owner: the configured URL, or the embedded server's owner."""
    if settings.database_url is not None:
        return sa.make_url(normalise_url(settings.database_url))
    return embedded_server(settings).owner_url()


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` URLs (libpq style) and use psycopg 3 with them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: sa.URL | str, **kwargs: Any) -> sa.Engine:
    """An engine with our psycopg options; extra keyword arguments go to ``create_engine``."""
    connect_args = {"prepare_threshold": None, "application_name": "caseline"}
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True, **kwargs)
