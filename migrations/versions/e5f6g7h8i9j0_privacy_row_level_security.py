"""Privacy in the database: group roles, row-level security, insert-only annotations, guarded user deletes.

Revision ID: e5f6g7h8i9j0
Revises: d4e5f6g7h8i9
Create Date: 2026-11-24

``../shared/design/privacy.md`` is the specification.  Every table holding
patient data gets ``ENABLE`` and ``FORCE ROW LEVEL SECURITY``; the policies
identify the caller by ``session_user`` (the clinician's own login, mapped to
``users.username``), never by a variable a client could set.  Group roles
(``caseline_therapist``, ``caseline_supervisor``, ``caseline_admin``,
``caseline_qa``) receive table privileges; they own nothing and cannot bypass
RLS.  Admins get column privileges without the clinical text (title,
description, metadata): "metadata only".

The policy helpers are ``SECURITY DEFINER`` functions owned by the schema
owner, so they read the link tables whatever the caller may see.  The owner
must therefore be a superuser or have BYPASSRLS (the embedded server's owner
is); ``tests/db/test_privacy_catalog.py`` checks it.

The seed's cascades stay; deleting a user row is refused by a trigger unless
the owner runs ``caseline_purge_user(id)`` (a retention request), so the app
can only deactivate users.

Roles are cluster-wide and may serve several databases, so the downgrade
revokes what this revision granted but keeps the roles.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "e5f6g7h8i9j0"
down_revision: str | None = "d4e5f6g7h8i9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GROUPS = ("caseline_therapist", "caseline_supervisor", "caseline_admin", "caseline_qa")
PROTECTED_TABLES = ("users", "care_assignments", "supervisions", "timeline_events", "event_annotations")
# What an admin may read of an event: everything but the clinical text.
ADMIN_EVENT_COLUMNS = (
    "id",
    "patient_id",
    "therapist_id",
    "event_type",
    "event_subtype",
    "event_date",
    "related_entity_type",
    "related_entity_id",
    "importance",
    "is_private",
    "created_at",
)

_HELPERS = r"""
CREATE FUNCTION caseline_is_owner() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT session_user = pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.timeline_events'::regclass
$$;

CREATE FUNCTION caseline_me() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT id FROM users WHERE username = session_user AND is_active AND role <> 'patient'
$$;

CREATE FUNCTION caseline_my_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT role FROM users WHERE username = session_user AND is_active AND role <> 'patient'
$$;

-- I treat the patient myself (an active care assignment).
CREATE FUNCTION caseline_assigned(patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT EXISTS (
        SELECT 1 FROM care_assignments
        WHERE patient_id = patient AND active AND therapist_id = caseline_me()
    )
$$;

-- I treat the patient, or a therapist I actively supervise does.
CREATE FUNCTION caseline_on_case(patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT caseline_assigned(patient) OR EXISTS (
        SELECT 1 FROM care_assignments ca JOIN supervisions s ON s.therapist_id = ca.therapist_id
        WHERE ca.patient_id = patient AND ca.active AND s.active AND s.supervisor_id = caseline_me()
    )
$$;

-- I actively supervise the author.
CREATE FUNCTION caseline_supervises(author uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT EXISTS (
        SELECT 1 FROM supervisions WHERE therapist_id = author AND active AND supervisor_id = caseline_me()
    )
$$;

CREATE FUNCTION caseline_is_demo_patient(patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT EXISTS (SELECT 1 FROM users WHERE id = patient AND role = 'patient' AND username LIKE 'demo\_%')
$$;

-- The read rule of the privacy matrix, in one place for every policy that needs it.
CREATE FUNCTION caseline_may_read_event(patient uuid, author uuid, private boolean) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
    SELECT caseline_is_owner()
        OR (author IS NOT NULL AND author = caseline_me())
        OR (author IS NOT NULL AND caseline_supervises(author))
        OR (NOT private AND caseline_my_role() IN ('therapist', 'supervisor') AND caseline_on_case(patient))
        OR (NOT private AND caseline_my_role() = 'admin')
        OR (NOT private AND caseline_my_role() = 'qa' AND caseline_is_demo_patient(patient))
$$;

CREATE FUNCTION caseline_refuse_user_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_catalog AS $$
BEGIN
    IF caseline_is_owner() AND current_setting('caseline.purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'users are deactivated, not deleted (user %); the owner purges with caseline_purge_user()', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- The documented purge, for a retention request: the owner only; cascades as the seed specifies.
CREATE FUNCTION caseline_purge_user(target uuid) RETURNS boolean
LANGUAGE plpgsql SET search_path = public, pg_catalog AS $$
DECLARE
    gone integer;
BEGIN
    PERFORM set_config('caseline.purge', 'on', true);
    DELETE FROM users WHERE id = target;
    GET DIAGNOSTICS gone = ROW_COUNT;
    PERFORM set_config('caseline.purge', 'off', true);
    RETURN gone = 1;
END
$$;
"""

_POLICIES = r"""
CREATE TRIGGER users_refuse_delete BEFORE DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION caseline_refuse_user_delete();

-- users: yourself, your colleagues (staff), and the patients you may see.
CREATE POLICY users_read ON users FOR SELECT USING (
    caseline_is_owner()
    OR username = session_user
    OR (role <> 'patient' AND caseline_me() IS NOT NULL)
    OR (role = 'patient' AND caseline_my_role() IN ('therapist', 'supervisor') AND caseline_on_case(id))
    OR (role = 'patient' AND caseline_my_role() = 'admin')
    OR (role = 'patient' AND caseline_my_role() = 'qa' AND username LIKE 'demo\_%')
);
CREATE POLICY users_owner_writes ON users FOR ALL USING (caseline_is_owner()) WITH CHECK (caseline_is_owner());

CREATE POLICY care_assignments_read ON care_assignments FOR SELECT USING (
    caseline_is_owner() OR therapist_id = caseline_me() OR caseline_supervises(therapist_id)
    OR caseline_my_role() = 'admin'
);
CREATE POLICY care_assignments_owner_writes ON care_assignments FOR ALL
    USING (caseline_is_owner()) WITH CHECK (caseline_is_owner());

CREATE POLICY supervisions_read ON supervisions FOR SELECT USING (
    caseline_is_owner() OR therapist_id = caseline_me() OR supervisor_id = caseline_me()
    OR caseline_my_role() = 'admin'
);
CREATE POLICY supervisions_owner_writes ON supervisions FOR ALL
    USING (caseline_is_owner()) WITH CHECK (caseline_is_owner());

-- timeline_events: the matrix.  Reads (and so counts and markers) follow caseline_may_read_event;
-- edits and deletes are the author's; a new event is the signed-in author's, on a patient they treat.
CREATE POLICY timeline_events_read ON timeline_events FOR SELECT
    USING (caseline_may_read_event(patient_id, therapist_id, is_private));
CREATE POLICY timeline_events_insert ON timeline_events FOR INSERT WITH CHECK (
    caseline_is_owner()
    OR (therapist_id = caseline_me() AND caseline_my_role() IN ('therapist', 'supervisor')
        AND caseline_assigned(patient_id))
);
CREATE POLICY timeline_events_update ON timeline_events FOR UPDATE
    USING (caseline_is_owner() OR (therapist_id IS NOT NULL AND therapist_id = caseline_me()))
    WITH CHECK (caseline_is_owner() OR (therapist_id = caseline_me() AND caseline_assigned(patient_id)));
CREATE POLICY timeline_events_delete ON timeline_events FOR DELETE
    USING (caseline_is_owner() OR (therapist_id IS NOT NULL AND therapist_id = caseline_me()));

-- event_annotations: insert-only; written by a supervisor of the event's author, read by the
-- annotation's author and the event's author.
CREATE POLICY event_annotations_read ON event_annotations FOR SELECT USING (
    caseline_is_owner()
    OR author_id = caseline_me()
    OR EXISTS (SELECT 1 FROM timeline_events e WHERE e.id = event_id AND e.therapist_id = caseline_me())
);
CREATE POLICY event_annotations_insert ON event_annotations FOR INSERT WITH CHECK (
    caseline_is_owner()
    OR (author_id = caseline_me() AND EXISTS (
        SELECT 1 FROM timeline_events e WHERE e.id = event_id AND caseline_supervises(e.therapist_id)
    ))
);
"""


def _grants() -> list[str]:
    admin_columns = ", ".join(ADMIN_EVENT_COLUMNS)
    return [
        "GRANT caseline_therapist TO caseline_supervisor",  # a supervisor is a therapist who supervises
        "GRANT USAGE ON SCHEMA public TO caseline_therapist, caseline_admin, caseline_qa",
        "GRANT SELECT ON users, care_assignments, supervisions TO caseline_therapist, caseline_admin, caseline_qa",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON timeline_events TO caseline_therapist",
        f"GRANT SELECT ({admin_columns}) ON timeline_events TO caseline_admin",
        "GRANT SELECT ON timeline_events TO caseline_qa",
        "GRANT SELECT ON event_annotations TO caseline_therapist",
        "GRANT INSERT ON event_annotations TO caseline_supervisor",
        "GRANT SELECT ON alembic_version TO caseline_therapist, caseline_admin, caseline_qa",
    ]


def upgrade() -> None:
    bind = op.get_bind()
    for group in GROUPS:
        exists = bind.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": group}).first()
        if not exists:
            op.execute(f"CREATE ROLE {group} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")
    op.create_table(
        "event_annotations",
        sa.Column("id", UUID(as_uuid=True), server_default=sa.text("uuidv7()"), nullable=False),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("author_id", UUID(as_uuid=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("(now() AT TIME ZONE 'utc')"), nullable=False
        ),
        sa.CheckConstraint("length(body) BETWEEN 1 AND 10000", name=op.f("ck_event_annotations_body")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["timeline_events.id"],
            name=op.f("fk_event_annotations_event_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_event_annotations_author_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("event_annotations_pkey")),
    )
    op.create_index(op.f("ix_event_annotations_event_id"), "event_annotations", ["event_id"])
    op.execute(_HELPERS)
    for table in PROTECTED_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(_POLICIES)
    for statement in _grants():
        op.execute(statement)


def downgrade() -> None:
    for group in GROUPS:
        op.execute(
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{group}') THEN "
            f"EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {group}'; "
            f"EXECUTE 'REVOKE USAGE ON SCHEMA public FROM {group}'; END IF; END $$"
        )
    op.execute("DROP TRIGGER IF EXISTS users_refuse_delete ON users")
    for table in PROTECTED_TABLES:
        if table == "event_annotations":
            continue
        op.execute(
            f"DO $$ DECLARE p record; BEGIN FOR p IN SELECT policyname FROM pg_policies WHERE tablename = '{table}' "
            f"LOOP EXECUTE format('DROP POLICY %I ON {table}', p.policyname); END LOOP; END $$"
        )
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.drop_index(op.f("ix_event_annotations_event_id"), table_name="event_annotations")
    op.drop_table("event_annotations")
    for function in (
        "caseline_purge_user(uuid)",
        "caseline_refuse_user_delete()",
        "caseline_may_read_event(uuid, uuid, boolean)",
        "caseline_is_demo_patient(uuid)",
        "caseline_supervises(uuid)",
        "caseline_on_case(uuid)",
        "caseline_assigned(uuid)",
        "caseline_my_role()",
        "caseline_me()",
        "caseline_is_owner()",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
