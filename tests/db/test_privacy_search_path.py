"""Temporary tables that shadow the catalog or the link tables gain nothing.

PostgreSQL searches ``pg_temp`` before everything else unless a function's
``search_path`` names it last, so a SECURITY DEFINER helper that says
``public, pg_catalog`` would read a temp table ``pg_class`` or ``users`` that
the caller just filled with lies.  Two defences, each tested on its own: app
logins may not create temporary tables at all, and (temporarily granting one
login TEMP, as a careless DBA might) every caseline function still reads the
real tables.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import ACTORS, Practice
from viewer.db.engine import make_engine
from viewer.services.demo import GROUP_ROLES


def _owner(practice: Practice) -> sa.Engine:
    return make_engine(practice.url, poolclass=sa.pool.NullPool)


def _grant_temp(practice: Practice, actor: str, *, grant: bool) -> None:
    owner = _owner(practice)
    with owner.begin() as conn:
        database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        verb = "GRANT TEMPORARY ON DATABASE {} TO {}" if grant else "REVOKE TEMPORARY ON DATABASE {} FROM {}"
        conn.execute(sa.text(verb.format(f'"{database}"', f'"{practice.login(actor)}"')))
    owner.dispose()


@pytest.fixture
def temp_allowed(practice: Practice) -> Iterator[None]:
    """Give the attackers TEMP, so the functions' own defence is what is tested."""
    for actor in ("colleague", "outsider", "author"):
        _grant_temp(practice, actor, grant=True)
    yield
    for actor in ("colleague", "outsider", "author"):
        _grant_temp(practice, actor, grant=False)


def _visible(conn: sa.Connection) -> set[uuid.UUID]:
    return set(conn.execute(sa.text("SELECT id FROM timeline_events")).scalars())


@pytest.mark.parametrize("actor", ACTORS)
def test_app_logins_cannot_create_temporary_tables(practice: Practice, actor: str) -> None:
    engine = practice.engine_for(actor)
    with engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"), conn.begin_nested():
            conn.execute(sa.text("CREATE TEMP TABLE scratch (x int)"))
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"), conn.begin_nested():
            conn.execute(sa.text("CREATE TABLE public.planted (x int)"))
        conn.rollback()
    engine.dispose()


# Each attack: the temp table to plant (filled from the attacker's point of view), then what it
# would unlock if a helper read it.
SHADOWS: dict[str, str] = {
    # caseline_is_owner() reads pg_class: claim to own timeline_events.
    "pg_class": "CREATE TEMP TABLE pg_class (oid oid, relowner oid); "
    "INSERT INTO pg_class SELECT 'public.timeline_events'::regclass::oid, "
    "(SELECT oid FROM pg_roles WHERE rolname = session_user)",
    # caseline_me() reads users: become the supervisor.
    "users": "CREATE TEMP TABLE users (id uuid, username text, is_active boolean, role text); "
    "INSERT INTO users VALUES (:supervisor, session_user, true, 'supervisor')",
    # caseline_supervises() reads supervisions: supervise the author.
    "supervisions": "CREATE TEMP TABLE supervisions (supervisor_id uuid, therapist_id uuid, active boolean); "
    "INSERT INTO supervisions VALUES (caseline_me(), :author, true)",
    # caseline_assigned() reads care_assignments: treat P2.
    "care_assignments": "CREATE TEMP TABLE care_assignments (therapist_id uuid, patient_id uuid, active boolean); "
    "INSERT INTO care_assignments VALUES (caseline_me(), :p2, true)",
}


@pytest.mark.parametrize("shadow", sorted(SHADOWS))
def test_a_temp_table_shadowing_what_the_helpers_read_changes_nothing(
    practice: Practice, temp_allowed: None, shadow: str
) -> None:
    params = {
        "supervisor": practice.users["supervisor"],
        "author": practice.users["author"],
        "p2": practice.patients["P2"],
    }
    for actor in ("colleague", "outsider"):
        engine = practice.engine_for(actor)
        with engine.connect() as conn:
            before = _visible(conn)
            me = conn.execute(sa.text("SELECT caseline_me()")).scalar()
            for statement in SHADOWS[shadow].split("; "):
                conn.execute(sa.text(statement), params)
            assert _visible(conn) == before, (actor, shadow)
            assert conn.execute(sa.text("SELECT caseline_me()")).scalar() == me
            assert not conn.execute(sa.text("SELECT caseline_is_owner()")).scalar()
            hidden = practice.events["e2"]  # the author's private note on P1
            changed = conn.execute(
                sa.text("UPDATE public.timeline_events SET title = 'overwritten' WHERE id = :i"),
                {"i": hidden},
            )
            assert changed.rowcount == 0
            private = conn.execute(
                sa.text("SELECT count(*) FILTER (WHERE is_private) FROM public.timeline_events")
            ).scalar_one()
            own_private = 1 if actor == "colleague" else 0  # e8 is the colleague's own
            assert private == own_private
            conn.rollback()
        engine.dispose()


def test_a_temp_version_table_does_not_swallow_history(practice: Practice, temp_allowed: None) -> None:
    engine = practice.engine_for("author")
    event = practice.events["e1"]
    with engine.connect() as conn:
        conn.execute(
            sa.text(
                "CREATE TEMP TABLE timeline_event_versions (event_id uuid, row_version int, snapshot jsonb, "
                "changed_at timestamp, changed_by uuid)"
            )
        )
        conn.execute(
            sa.text("UPDATE public.timeline_events SET title = 'edited' WHERE id = :i"), {"i": event}
        )
        swallowed = conn.execute(sa.text("SELECT count(*) FROM pg_temp.timeline_event_versions")).scalar_one()
        kept = conn.execute(
            sa.text("SELECT count(*) FROM public.timeline_event_versions WHERE event_id = :i"), {"i": event}
        ).scalar_one()
        conn.rollback()
    engine.dispose()
    assert (swallowed, kept) == (0, 1)


def test_a_temp_audit_log_does_not_fake_the_chain_tail(practice: Practice, temp_allowed: None) -> None:
    engine = practice.engine_for("colleague")
    with engine.connect() as conn:
        real = conn.execute(sa.text("SELECT seq, mac FROM caseline_audit_tail()")).first()
        conn.execute(sa.text("CREATE TEMP TABLE audit_log (seq bigint, mac bytea)"))
        conn.execute(sa.text("INSERT INTO audit_log VALUES (424242, '\\x01')"))
        faked = conn.execute(sa.text("SELECT seq, mac FROM caseline_audit_tail()")).first()
        conn.rollback()
    engine.dispose()
    assert faked == real


SAFE_SEARCH_PATH = re.compile(r"^search_path=(\"\"|(pg_catalog, )?pg_temp)$")


def test_catalog_lint_every_function_has_a_safe_search_path(practice: Practice) -> None:
    """Every function of the app's schema (helpers, triggers, SECURITY DEFINER) pins pg_temp last."""
    owner = _owner(practice)
    with owner.connect() as conn:
        functions = conn.execute(
            sa.text(
                "SELECT p.oid::regprocedure::text AS name, p.prosecdef, p.prorettype = 'trigger'::regtype AS "
                "is_trigger, coalesce(p.proconfig, '{}') AS config FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
            )
        ).all()
        temp_grantees = (
            conn.execute(
                sa.text(
                    "SELECT coalesce(r.rolname, 'PUBLIC') FROM pg_database d, aclexplode(d.datacl) a "
                    "LEFT JOIN pg_roles r ON r.oid = a.grantee "
                    "WHERE d.datname = current_database() AND a.privilege_type = 'TEMPORARY'"
                )
            )
            .scalars()
            .all()
        )
        database_acl = conn.execute(
            sa.text("SELECT datacl IS NULL FROM pg_database WHERE datname = current_database()")
        ).scalar_one()
        public_create = conn.execute(
            sa.text("SELECT has_schema_privilege('public', 'public', 'CREATE')")
        ).scalar_one()
    owner.dispose()
    assert functions, "the schema defines its helpers"
    assert {row.name.split("(")[0] for row in functions if row.prosecdef} >= {
        "caseline_me",
        "caseline_is_owner",
    }
    unsafe = [
        row.name
        for row in functions
        if not [setting for setting in row.config if SAFE_SEARCH_PATH.match(setting)]
    ]
    assert unsafe == []
    assert not database_acl, "a NULL acl means the default: TEMP for PUBLIC"
    app_roles = set(GROUP_ROLES.values()) | {"PUBLIC"}
    assert not app_roles & set(temp_grantees)
    assert not public_create
