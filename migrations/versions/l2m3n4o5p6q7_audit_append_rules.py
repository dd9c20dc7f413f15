"""The audit log accepts only the next link of its chain, stamped by the server; admins read less.

Revision ID: l2m3n4o5p6q7
Revises: k1l2m3n4o5p6
Create Date: 2026-11-26

Any app login could insert any row: ``seq`` 9000000000 made ``audit verify``
report a giant gap and every later append continue after it, and ``at`` was
whatever the client said.  A BEFORE INSERT trigger (for every role, the owner
included) now takes the appenders' advisory lock itself, so appends are
serialised whoever makes them, and accepts a row only when ``seq`` is the
tail's plus one, ``prev_mac`` is the tail's ``mac`` (32 zero bytes for the
first row) and ``at`` is the server's ``now()`` in UTC (the start of the
appending transaction, which the app reads back before computing the row's
HMAC, so the mac covers exactly what is stored); ``actor`` is set to
``session_user`` as before.  The mac itself cannot be checked here (the key
is outside the database): a row with a wrong one is accepted and then named
by ``audit verify`` as edited.

What an admin may read: the matrix gives admins nothing of private events,
and a ``read_private`` row tells who read which private event and why.  So an
admin reads only rows that are about no event or about an event the admin can
see (a shared one), and never ``event.read_private`` rows.  The owner reads
everything (``audit verify`` runs as the owner).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "l2m3n4o5p6q7"
down_revision: str | None = "k1l2m3n4o5p6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFE = "SET search_path = pg_catalog, pg_temp"
LOCK_ID = 0x0CA5E11E  # viewer/services/audit.py takes the same advisory lock before reading the tail

UPGRADE = rf"""
CREATE FUNCTION public.caseline_audit_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER {SAFE} AS $$
DECLARE
    tail_seq bigint;
    tail_mac bytea;
    stamp timestamp := now() AT TIME ZONE 'utc';
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK_ID});
    SELECT a.seq, a.mac INTO tail_seq, tail_mac FROM public.audit_log a ORDER BY a.seq DESC LIMIT 1;
    IF NEW.seq IS DISTINCT FROM coalesce(tail_seq, 0) + 1 THEN
        RAISE EXCEPTION 'audit_log: seq must be % (the next link of the chain), not %',
            coalesce(tail_seq, 0) + 1, NEW.seq USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.prev_mac IS DISTINCT FROM coalesce(tail_mac, decode(repeat('00', 32), 'hex')) THEN
        RAISE EXCEPTION 'audit_log: prev_mac must be the mac of row %', coalesce(tail_seq, 0)
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.at IS DISTINCT FROM stamp THEN
        RAISE EXCEPTION 'audit_log: at must be the server''s now() AT TIME ZONE ''utc'' (%)', stamp
            USING ERRCODE = 'check_violation';
    END IF;
    NEW.actor := session_user;
    RETURN NEW;
END
$$;

DROP TRIGGER audit_log_stamp ON public.audit_log;
CREATE TRIGGER audit_log_append BEFORE INSERT ON public.audit_log
    FOR EACH ROW EXECUTE FUNCTION public.caseline_audit_append();

DROP POLICY audit_log_read ON public.audit_log;
CREATE POLICY audit_log_read ON public.audit_log FOR SELECT USING (
    public.caseline_is_owner()
    OR (public.caseline_my_role() = 'admin'
        AND action <> 'event.read_private'
        AND (event_id IS NULL
             OR EXISTS (SELECT 1 FROM public.timeline_events e WHERE e.id = audit_log.event_id)))
);
"""

DOWNGRADE = r"""
DROP POLICY audit_log_read ON public.audit_log;
CREATE POLICY audit_log_read ON public.audit_log FOR SELECT
    USING (public.caseline_is_owner() OR public.caseline_my_role() = 'admin');
DROP TRIGGER audit_log_append ON public.audit_log;
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON public.audit_log
    FOR EACH ROW EXECUTE FUNCTION public.caseline_audit_stamp();
DROP FUNCTION public.caseline_audit_append();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
