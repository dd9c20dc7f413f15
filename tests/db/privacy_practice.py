"""A small practice for the privacy tests: seven staff logins, five patients, twelve events.

Everything is committed in a database of its own, and each staff member is
a real LOGIN role (named per test run, so parallel clusters never clash), so
the tests can connect exactly as a clinician would.

    author      therapist: treats P1, P2 and the demo patient PD; writes e1-e6;
                treated P4 once (inactive assignment) and wrote e11, e12 there
    colleague   therapist: treats P1, P3 and P4; writes e7-e9
    outsider    therapist: treats nobody
    supervisor  supervises the author
    former      supervisor whose links have all ended: supervised the colleague, treated P1
    admin       admin
    qa          qa
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from psycopg import sql

from viewer.db import migrate
from viewer.db.engine import make_engine
from viewer.services.demo import GROUP_ROLES, scram_verifier

ACTORS = ("author", "colleague", "outsider", "supervisor", "former", "admin", "qa")
ROLE_OF = {
    "author": "therapist",
    "colleague": "therapist",
    "outsider": "therapist",
    "supervisor": "supervisor",
    "former": "supervisor",
    "admin": "admin",
    "qa": "qa",
}
# event: (author, patient, private); "none" author = imported without a therapist.
EVENTS: dict[str, tuple[str | None, str, bool]] = {
    "e1": ("author", "P1", False),
    "e2": ("author", "P1", True),
    "e3": ("author", "P2", False),
    "e4": ("author", "P2", True),
    "e5": ("author", "PD", False),
    "e6": ("author", "PD", True),
    "e7": ("colleague", "P1", False),
    "e8": ("colleague", "P1", True),
    "e9": ("colleague", "P3", False),
    "e10": (None, "P1", False),
    "e11": ("author", "P4", False),
    "e12": ("author", "P4", True),
}
ASSIGNMENTS = {"author": ("P1", "P2", "PD"), "colleague": ("P1", "P3", "P4")}
ENDED_ASSIGNMENTS = {"author": ("P4",), "former": ("P1",)}
SUPERVISIONS = {("supervisor", "author"): True, ("former", "colleague"): False}  # (who, whom): active


@dataclass
class Practice:
    url: sa.URL
    prefix: str
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    patients: dict[str, uuid.UUID] = field(default_factory=dict)
    events: dict[str, uuid.UUID] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)

    def login(self, actor: str) -> str:
        return f"{self.prefix}{actor}"

    def engine_for(self, actor: str) -> sa.Engine:
        """An engine that signs in as ``actor`` with their own password (no owner rights)."""
        return make_engine(self.url.set(username=self.login(actor), password=self.passwords[actor]))


def build_practice(url: sa.URL) -> Practice:
    prefix = f"px{os.getpid()}_{secrets.token_hex(2)}_"
    practice = Practice(url, prefix)
    owner = make_engine(url, poolclass=sa.pool.NullPool)
    with owner.begin() as conn:
        migrate.upgrade(conn)
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            for actor in ACTORS:
                password = secrets.token_urlsafe(12)
                practice.passwords[actor] = password
                cursor.execute(
                    sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD {}").format(
                        sql.Identifier(practice.login(actor)), sql.Literal(scram_verifier(password))
                    )
                )
                cursor.execute(
                    sql.SQL("GRANT {} TO {}").format(
                        sql.Identifier(GROUP_ROLES[ROLE_OF[actor]]), sql.Identifier(practice.login(actor))
                    )
                )
        for actor in ACTORS:
            practice.users[actor] = conn.execute(
                sa.text("INSERT INTO users (username, display_name, role) VALUES (:u, :d, :r) RETURNING id"),
                {"u": practice.login(actor), "d": f"Staff {actor}", "r": ROLE_OF[actor]},
            ).scalar_one()
        for patient in ("P1", "P2", "P3", "P4", "PD"):
            username = f"demo_{prefix}{patient}" if patient == "PD" else f"{prefix}{patient}"
            practice.patients[patient] = conn.execute(
                sa.text(
                    "INSERT INTO users (username, display_name, role) VALUES (:u, :d, 'patient') RETURNING id"
                ),
                {"u": username, "d": f"Patient {patient}"},
            ).scalar_one()
        for links, active in ((ASSIGNMENTS, True), (ENDED_ASSIGNMENTS, False)):
            for actor, patients in links.items():
                for patient in patients:
                    conn.execute(
                        sa.text(
                            "INSERT INTO care_assignments (therapist_id, patient_id, active) VALUES (:t, :p, :a)"
                        ),
                        {"t": practice.users[actor], "p": practice.patients[patient], "a": active},
                    )
        for (supervisor, supervisee), active in SUPERVISIONS.items():
            conn.execute(
                sa.text("INSERT INTO supervisions (supervisor_id, therapist_id, active) VALUES (:s, :t, :a)"),
                {"s": practice.users[supervisor], "t": practice.users[supervisee], "a": active},
            )
        start = datetime(2025, 1, 6, 10)
        for n, (name, (author, patient, private)) in enumerate(EVENTS.items()):
            practice.events[name] = conn.execute(
                sa.text(
                    "INSERT INTO timeline_events (patient_id, therapist_id, event_type, event_date, title, "
                    "description, is_private) VALUES (:p, :t, 'note', :d, :title, 'details', :private) RETURNING id"
                ),
                {
                    "p": practice.patients[patient],
                    "t": practice.users[author] if author else None,
                    "d": start + timedelta(days=n),
                    "title": f"Event {name}",
                    "private": private,
                },
            ).scalar_one()
    owner.dispose()
    return practice


def drop_logins(practice: Practice) -> None:
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.begin() as conn:
        for actor in ACTORS:
            role = practice.login(actor)
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
    owner.dispose()
