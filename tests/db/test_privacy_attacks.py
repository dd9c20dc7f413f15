"""Trying to get around the policies: guessing ids, spoofing identity, and the catalog itself."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import ACTORS, Practice
from viewer.db.engine import make_engine
from viewer.services.demo import GROUP_ROLES
from viewer.services.errors import EventNotFound
from viewer.services.events import EventService
from viewer.services.timeline_query import fetch_event

PATIENT_DATA_TABLES = {
    "users",
    "care_assignments",
    "supervisions",
    "timeline_events",
    "event_annotations",
    "audit_log",
    "timeline_event_versions",
}


def _visible(conn: sa.Connection) -> set[uuid.UUID]:
    return set(conn.execute(sa.text("SELECT id FROM timeline_events")).scalars())


def test_a_private_event_answers_like_a_missing_one(practice: Practice) -> None:
    private = practice.events["e2"]  # the author's private note on P1, which the colleague also treats
    missing = uuid.uuid4()
    engine = practice.engine_for("colleague")
    with engine.connect() as conn:
        answers = []
        for event_id in (private, missing):
            with pytest.raises(EventNotFound) as raised:
                fetch_event(conn, event_id)
            answers.append(str(raised.value).replace(str(event_id), "<id>"))
            with pytest.raises(EventNotFound) as raised:
                EventService(conn).delete(event_id)
            answers.append(str(raised.value).replace(str(event_id), "<id>"))
            rows = conn.execute(
                sa.text("SELECT count(*) FROM timeline_events WHERE id = :i"), {"i": event_id}
            )
            answers.append(str(rows.scalar_one()))
            updated = conn.execute(
                sa.text("UPDATE timeline_events SET title = 'x' WHERE id = :i"), {"i": event_id}
            )
            answers.append(str(updated.rowcount))
        conn.rollback()
    assert answers[:4] == answers[4:]
    engine.dispose()


def test_spoofing_identity_gains_nothing(practice: Practice) -> None:
    engine = practice.engine_for("colleague")
    with engine.connect() as conn:
        before = _visible(conn)
        # Client-set variables are never consulted by the policies.
        for name in ("app.user_id", "caseline.user_id", "caseline.user", "request.jwt.claim.sub"):
            conn.execute(
                sa.text("SELECT set_config(:n, :v, false)"), {"n": name, "v": str(practice.users["author"])}
            )
        conn.execute(sa.text("SELECT set_config('caseline.purge', 'on', false)"))
        assert _visible(conn) == before
        assert practice.events["e2"] not in _visible(conn)
        # Becoming someone else is refused outright.
        for statement in (
            f'SET ROLE "{practice.login("author")}"',
            f'SET SESSION AUTHORIZATION "{practice.login("author")}"',
            f'SET ROLE "{practice.login("supervisor")}"',
        ):
            with pytest.raises(sa.exc.DBAPIError, match="permission denied"), conn.begin_nested():
                conn.execute(sa.text(statement))
        # A group role one belongs to changes nothing either: policies look at session_user.
        conn.execute(sa.text(f'SET ROLE "{GROUP_ROLES["therapist"]}"'))
        assert _visible(conn) == before
        conn.execute(sa.text("RESET ROLE"))
        # The purge flag does not make a user deletable by a non-owner.
        with pytest.raises(sa.exc.DBAPIError), conn.begin_nested():
            conn.execute(sa.text("DELETE FROM users WHERE id = :i"), {"i": practice.users["author"]})
        with pytest.raises(sa.exc.DBAPIError), conn.begin_nested():
            conn.execute(sa.text("SELECT caseline_purge_user(:i)"), {"i": practice.users["author"]})
        conn.rollback()
    engine.dispose()


def test_even_the_owner_cannot_delete_a_user_without_the_purge(practice: Practice) -> None:
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="deactivated, not deleted"), conn.begin_nested():
            conn.execute(sa.text("DELETE FROM users WHERE id = :i"), {"i": practice.users["outsider"]})
        assert conn.execute(
            sa.text("SELECT caseline_purge_user(:i)"), {"i": practice.users["outsider"]}
        ).scalar()
        conn.rollback()
    owner.dispose()


def test_catalog_lint(practice: Practice) -> None:
    """Every patient-data table forces RLS; app roles own nothing, bypass nothing; helpers' owner can read links."""
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        tables = {
            row.relname: (row.relrowsecurity, row.relforcerowsecurity, row.owner)
            for row in conn.execute(
                sa.text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')"
                )
            )
        }
        with_patient_columns = set(
            conn.execute(
                sa.text(
                    "SELECT DISTINCT table_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND column_name IN ('patient_id', 'event_id', 'display_name')"
                )
            ).scalars()
        )
        app_roles = set(GROUP_ROLES.values()) | {practice.login(actor) for actor in ACTORS}
        role_flags = conn.execute(
            sa.text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY(:r)"),
            {"r": list(app_roles)},
        ).all()
        helper_owners = (
            conn.execute(
                sa.text(
                    "SELECT DISTINCT r.rolsuper OR r.rolbypassrls FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner "
                    "WHERE p.proname LIKE 'caseline\\_%' AND p.prosecdef"
                )
            )
            .scalars()
            .all()
        )
        views = conn.execute(
            sa.text(
                "SELECT c.relname, coalesce(c.reloptions::text, '') AS options FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'v'"
            )
        ).all()
    owner.dispose()
    assert with_patient_columns <= PATIENT_DATA_TABLES
    for table in PATIENT_DATA_TABLES:
        enabled, forced, table_owner = tables[table]
        assert enabled and forced, table
        assert table_owner not in app_roles, table
    assert len(role_flags) == len(app_roles)
    assert not any(row.rolsuper or row.rolbypassrls for row in role_flags)
    assert helper_owners == [True]  # SECURITY DEFINER helpers are owned by a role RLS does not filter
    for view in views:  # any view over patient data runs with the caller's rights
        assert "security_invoker=true" in view.options, view.relname
