"""The big-table benchmark: a therapist opens a 2,000-event patient in a table of 10 million events.

A clinic's server holds every patient's history in one ``timeline_events``
table, and opening a patient must not slow down as the table grows
(performance.md: <= 50 ms at 10M rows).  The figure is measured where it
would be felt: in a throwaway database of its own (so the clinic's data and
the main benchmark are untouched, and dropping it is instant), filled on the
server with ``generate_series``, and read through the app's own binary COPY
as a therapist's own login, so row-level security's policies are in the plan.
The owner's read of the same patient, which bypasses them, is reported
beside it.
"""

from __future__ import annotations

import re
import secrets
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from viewer.db import migrate
from viewer.db.engine import make_engine
from viewer.domain import EventType, Importance
from viewer.services.purge import purge_user
from viewer.services.timeline_copy import copy_timeline

PER_PATIENT = 2_000
SAMPLES = 25
_DATABASE_PREFIX = "caseline_bench_table_"
_THERAPIST_GROUP = "caseline_therapist"
_ROLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def _seed(conn: sa.Connection, rows: int, per_patient: int) -> uuid.UUID:
    """``rows`` events over ``rows / per_patient`` patients, written by the server; returns one patient's id.

    Events are two hours apart per patient, patients interleaved in time as a
    clinic's are, a twentieth of them private; importance and type cycle.
    """
    patients = max(rows // per_patient, 1)
    types = ", ".join(f"'{t.value}'" for t in sorted(EventType, key=lambda t: t.lane))
    levels = ", ".join(f"'{i.db_value}'" for i in Importance)
    conn.execute(
        sa.text(
            "INSERT INTO users (id, username, display_name, role)"
            " SELECT gen_random_uuid(), 'bench_table_patient_' || n, 'Benchmark patient ' || n, 'patient'"
            " FROM generate_series(1, :patients) AS n"
        ),
        {"patients": patients},
    )
    conn.execute(
        sa.text(
            f"""
            INSERT INTO timeline_events (patient_id, event_type, event_date, title, importance, is_private)
            SELECT p.id,
                   (ARRAY[{types}])[1 + (i + p.n) % 8],
                   timestamp '2021-01-01' + (i * 2 + p.n % 2) * interval '1 hour',
                   'Synthetic check-in',
                   (ARRAY[{levels}])[1 + (i * 7 + p.n) % 4],
                   (i + p.n) % 20 = 0
            FROM (SELECT id, row_number() OVER (ORDER BY username) AS n FROM users WHERE role = 'patient') AS p
            CROSS JOIN generate_series(1, :per_patient) AS i
            """
        ),
        {"per_patient": per_patient},
    )
    middle = conn.execute(
        sa.text("SELECT id FROM users WHERE username = :name"),
        {"name": f"bench_table_patient_{patients // 2 + 1}"},
    ).scalar_one()
    assert isinstance(middle, uuid.UUID)
    return middle


def therapist_login(
    conn: sa.Connection, patient_id: uuid.UUID, prefix: str = "bench_table_"
) -> tuple[str, str]:
    """A throwaway therapist login assigned to ``patient_id``; returns (role, password).

    The role doubles as the user's username, so :func:`drop_therapist_login`
    can find both from it.
    """
    role = f"{prefix}{secrets.token_hex(6)}"
    password = secrets.token_urlsafe(24)
    # Identifiers and the password are generated here, never from input: safe to inline.
    conn.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' IN ROLE {_THERAPIST_GROUP}"))
    therapist_id = uuid.uuid4()
    conn.execute(
        sa.text(
            "INSERT INTO users (id, username, display_name, role) VALUES (:id, :u, 'Benchmark therapist', 'therapist')"
        ),
        {"id": therapist_id, "u": role},
    )
    conn.execute(
        sa.text("INSERT INTO care_assignments (therapist_id, patient_id) VALUES (:t, :p)"),
        {"t": therapist_id, "p": patient_id},
    )
    return role, password


def drop_therapist_login(conn: sa.Connection, role: str) -> None:
    """Remove a :func:`therapist_login`: its user row (through the purge) and its database role.

    The role must have no open connections left (dispose its engine first).
    """
    if not _ROLE_NAME.fullmatch(role):  # inlined below: only names shaped like ours
        raise ValueError(f"not a benchmark login name: {role!r}")
    user_id = conn.execute(
        sa.text("SELECT id FROM users WHERE username = :u"), {"u": role}
    ).scalar_one_or_none()
    if user_id is not None:
        purge_user(conn, user_id)
    conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))


def drop_stale_therapist_logins(conn: sa.Connection, prefix: str) -> int:
    """Remove every :func:`therapist_login` made with ``prefix`` (a run that died left them); returns how many."""
    pattern = prefix.replace("_", r"\_") + "%"
    roles = set(
        conn.execute(sa.text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"), {"p": pattern}).scalars()
    )
    roles |= set(
        conn.execute(
            sa.text("SELECT username FROM users WHERE username LIKE :p AND role = 'therapist'"),
            {"p": pattern},
        ).scalars()
    )
    for role in sorted(roles):
        drop_therapist_login(conn, role)
    return len(roles)


def _median_open_ms(engine: sa.Engine, patient_id: uuid.UUID, samples: int) -> tuple[float, int]:
    """Median milliseconds of the app's columnar load of one patient, and how many events it returned."""
    times: list[float] = []
    events = 0
    with engine.connect() as conn:
        for _ in range(samples + 1):  # the first read warms the connection's plan and the cache
            start = time.perf_counter()
            columns = copy_timeline(conn, patient_id)
            times.append(time.perf_counter() - start)
            conn.rollback()
            assert columns is not None
            events = len(columns)
    return round(statistics.median(times[1:]) * 1000, 2), events


def bench_big_table(
    owner: sa.Engine,
    rows: int,
    *,
    per_patient: int = PER_PATIENT,
    samples: int = SAMPLES,
    say: Callable[[str], None] = lambda _text: None,
) -> dict[str, Any]:
    """Fill a throwaway database with ``rows`` events and time a therapist opening one patient in it."""
    database = f"{_DATABASE_PREFIX}{secrets.token_hex(4)}"
    url = owner.url.set(database=database)
    admin = make_engine(
        owner.url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    role: str | None = None
    engines: list[sa.Engine] = []
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    try:
        table = make_engine(url, poolclass=sa.pool.NullPool)
        engines.append(table)
        with table.begin() as conn:
            migrate.upgrade(conn)
        say(f"filling a table of {rows} events ({rows // per_patient} patients of {per_patient})…")
        start = time.perf_counter()
        with table.begin() as conn:
            patient_id = _seed(conn, rows, per_patient)
        seed_s = time.perf_counter() - start
        with table.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
            total = conn.execute(sa.text("SELECT count(*) FROM timeline_events")).scalar_one()
            visible = conn.execute(
                sa.text("SELECT count(*) FROM timeline_events WHERE patient_id = :p AND NOT is_private"),
                {"p": patient_id},
            ).scalar_one()
        with table.begin() as conn:
            role, password = therapist_login(conn, patient_id)
        therapist = make_engine(url.set(username=role, password=password), poolclass=sa.pool.NullPool)
        engines.append(therapist)
        say("opening one patient in it, as a therapist and as the owner…")
        open_ms, seen = _median_open_ms(therapist, patient_id, samples)
        owner_ms, all_events = _median_open_ms(table, patient_id, samples)
        if seen != visible or all_events != per_patient:
            raise RuntimeError(
                f"the big-table read returned {seen} and {all_events} events, expected {visible} and {per_patient}"
            )
        return {
            "table_events": int(total),
            "table_patient_events": all_events,
            "table_patient_visible_events": seen,
            "table_open_ms": open_ms,
            "table_open_owner_ms": owner_ms,
            "table_seed_s": round(seed_s, 1),
        }
    finally:
        for engine in engines:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            if role is not None:
                conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()
