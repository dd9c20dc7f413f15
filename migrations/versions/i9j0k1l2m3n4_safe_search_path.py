"""Helpers and triggers that a temporary table cannot fool: pg_temp last, every name qualified.

Revision ID: i9j0k1l2m3n4
Revises: h8i9j0k1l2m3
Create Date: 2026-11-26

PostgreSQL searches the session's temporary schema *first* unless the
search_path names it, so a function declared ``SET search_path = public,
pg_catalog`` reads a temp table called ``pg_class``, ``users`` or
``supervisions`` when the caller has created one.  The policy helpers are
SECURITY DEFINER: a plain login could make ``caseline_is_owner()`` answer
true, ``caseline_me()`` return a supervisor's id, or the versioning trigger
write history into a temp table.

Two defences, either of which closes it:

* every function in the schema is re-created with ``SET search_path =
  pg_catalog, pg_temp`` (pg_temp explicitly last, public not searched) and
  every table it touches written ``public.name``, so an unqualified name
  would fail loudly rather than resolve to something planted;
* nobody but the owner may create temporary tables in the database
  (``REVOKE TEMPORARY ... FROM PUBLIC``; the app never uses them: the import
  and the demo loader run as the owner) or objects in ``public``.

Downgrade gives TEMPORARY back to PUBLIC (the default) but keeps the safe
function definitions: they behave exactly like the earlier ones, and going
back a revision should not reopen the hole.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "i9j0k1l2m3n4"
down_revision: str | None = "h8i9j0k1l2m3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GROUPS = ("caseline_therapist", "caseline_supervisor", "caseline_admin", "caseline_qa")
SAFE = "SET search_path = pg_catalog, pg_temp"

FUNCTIONS = rf"""
CREATE OR REPLACE FUNCTION public.caseline_is_owner() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT session_user = pg_catalog.pg_get_userbyid(c.relowner)
    FROM pg_catalog.pg_class c WHERE c.oid = 'public.timeline_events'::pg_catalog.regclass
$$;

CREATE OR REPLACE FUNCTION public.caseline_me() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT u.id FROM public.users u
    WHERE u.username = session_user AND u.is_active AND u.role <> 'patient'
$$;

CREATE OR REPLACE FUNCTION public.caseline_my_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT u.role FROM public.users u
    WHERE u.username = session_user AND u.is_active AND u.role <> 'patient'
$$;

CREATE OR REPLACE FUNCTION public.caseline_assigned(patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.care_assignments ca
        WHERE ca.patient_id = patient AND ca.active AND ca.therapist_id = public.caseline_me()
    )
$$;

CREATE OR REPLACE FUNCTION public.caseline_on_case(patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT public.caseline_assigned(patient) OR EXISTS (
        SELECT 1 FROM public.care_assignments ca
        JOIN public.supervisions s ON s.therapist_id = ca.therapist_id
        WHERE ca.patient_id = patient AND ca.active AND s.active AND s.supervisor_id = public.caseline_me()
    )
$$;

CREATE OR REPLACE FUNCTION public.caseline_supervises(author uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.supervisions s
        WHERE s.therapist_id = author AND s.active AND s.supervisor_id = public.caseline_me()
    )
$$;

CREATE OR REPLACE FUNCTION public.caseline_is_demo_patient(patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.users u WHERE u.id = patient AND u.role = 'patient' AND u.username LIKE 'demo\_%'
    )
$$;

CREATE OR REPLACE FUNCTION public.caseline_may_read_event(patient uuid, author uuid, private boolean)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT public.caseline_is_owner()
        OR (author IS NOT NULL AND author = public.caseline_me())
        OR (author IS NOT NULL AND public.caseline_supervises(author))
        OR (NOT private AND public.caseline_my_role() IN ('therapist', 'supervisor')
            AND public.caseline_on_case(patient))
        OR (NOT private AND public.caseline_my_role() = 'admin')
        OR (NOT private AND public.caseline_my_role() = 'qa' AND public.caseline_is_demo_patient(patient))
$$;

CREATE OR REPLACE FUNCTION public.caseline_refuse_user_delete() RETURNS trigger
LANGUAGE plpgsql {SAFE} AS $$
BEGIN
    IF public.caseline_is_owner() AND current_setting('caseline.purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'users are deactivated, not deleted (user %); the owner purges with caseline_purge_user()', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE FUNCTION public.caseline_purge_user(target uuid) RETURNS boolean
LANGUAGE plpgsql {SAFE} AS $$
DECLARE
    gone integer;
BEGIN
    PERFORM set_config('caseline.purge', 'on', true);
    DELETE FROM public.users WHERE id = target;
    GET DIAGNOSTICS gone = ROW_COUNT;
    PERFORM set_config('caseline.purge', 'off', true);
    RETURN gone = 1;
END
$$;

CREATE OR REPLACE FUNCTION public.caseline_audit_stamp() RETURNS trigger
LANGUAGE plpgsql {SAFE} AS $$
BEGIN
    NEW.actor := session_user;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION public.caseline_audit_tail(OUT seq bigint, OUT mac bytea)
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT a.seq, a.mac FROM public.audit_log a ORDER BY a.seq DESC LIMIT 1
$$;

CREATE OR REPLACE FUNCTION public.caseline_event_versioned() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER {SAFE} AS $$
BEGIN
    INSERT INTO public.timeline_event_versions (event_id, row_version, snapshot, changed_at, changed_by)
    VALUES (OLD.id, OLD.row_version, to_jsonb(OLD) - 'row_version', now() AT TIME ZONE 'utc',
            public.caseline_me());
    NEW.row_version := OLD.row_version + 1;
    NEW.updated_at := now() AT TIME ZONE 'utc';
    NEW.updated_by := public.caseline_me();
    RETURN NEW;
END
$$;
"""

# Only the owner creates anything: no temporary tables (they would shadow names), nothing in public.
LOCKDOWN = """
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM {groups}', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)
    op.execute(LOCKDOWN.replace("{groups}", ", ".join(GROUPS)))


def downgrade() -> None:
    op.execute(
        "DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO PUBLIC', current_database()); END $$"
    )
