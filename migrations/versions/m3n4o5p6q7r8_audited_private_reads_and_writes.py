"""The database itself audits: a supervisor reads private text only after a committed purpose, writes need their audit row.

Revision ID: m3n4o5p6q7r8
Revises: l2m3n4o5p6q7
Create Date: 2026-11-26

Until now only the app asked a supervisor why before showing a supervisee's
private event: in psql the row-level security simply returned every private
row of every supervisee, text included, with no purpose and no audit row.
And writes made in psql were not audited at all.

Reads.  The read policy no longer returns another author's private rows to
anyone.  A supervisor gets them through SECURITY DEFINER functions instead:

* ``caseline_private_markers(patient)`` (``NULL``: every patient) and
  ``caseline_private_marker(event)``: the supervisees' private events without
  any text (id, patient, author, type, date, importance, flags, version),
  which is what the timeline, the counts and "read by id" need;
* ``caseline_read_private(event)`` and ``caseline_read_private_versions(event)``:
  the full row and its history, only when this login has a **committed**
  ``event.read_private`` audit row for that event with a non-empty purpose,
  from another transaction (``at`` differs from this transaction's ``now()``)
  and at most ten minutes old.  Committed, because a row written in the same
  transaction would vanish with a ROLLBACK after the text had been read.  The
  database cannot write that row itself (its HMAC key is outside the
  database), so the app appends and commits it on a connection of its own,
  then reads; a psql user must do the same, and their row is then in the
  chain (with a bad mac, ``audit verify`` names it as edited).

Writes.  A deferred constraint trigger on ``timeline_events`` (insert and
update) and ``event_annotations`` (insert) refuses, at commit, a write by any
login but the owner unless the same transaction appended the matching audit
row (``event.create``/``event.update``/``event.delete``/``annotation.create``
for that event, by that login, stamped with this transaction's ``now()``).
The importer and the demo loader run as the owner and keep their own audit
(one row per imported file).  ``ix_audit_log_event_id`` makes those lookups
index scans.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "m3n4o5p6q7r8"
down_revision: str | None = "l2m3n4o5p6q7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFE = "SET search_path = pg_catalog, pg_temp"
PURPOSE_WINDOW = "10 minutes"
MARKER_COLUMNS = (
    "id uuid, patient_id uuid, therapist_id uuid, event_type varchar, event_date timestamp, "
    "importance varchar, is_private boolean, created_at timestamp, row_version integer"
)
MARKER_SELECT = (
    "e.id, e.patient_id, e.therapist_id, e.event_type, e.event_date, e.importance, e.is_private, "
    "e.created_at, e.row_version"
)

READ_RULE_BEFORE = rf"""
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
"""

# Another author's private row reaches nobody through a plain SELECT any more; their shared rows
# still reach their supervisor as before.
READ_RULE = rf"""
CREATE OR REPLACE FUNCTION public.caseline_may_read_event(patient uuid, author uuid, private boolean)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT public.caseline_is_owner()
        OR (author IS NOT NULL AND author = public.caseline_me())
        OR (NOT private AND author IS NOT NULL AND public.caseline_supervises(author))
        OR (NOT private AND public.caseline_my_role() IN ('therapist', 'supervisor')
            AND public.caseline_on_case(patient))
        OR (NOT private AND public.caseline_my_role() = 'admin')
        OR (NOT private AND public.caseline_my_role() = 'qa' AND public.caseline_is_demo_patient(patient))
$$;
"""

FUNCTIONS = rf"""
-- Whether I may open a private event of this author on this patient (after stating a purpose).
CREATE FUNCTION public.caseline_sees_private_of(author uuid, patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT author IS NOT NULL AND author IS DISTINCT FROM public.caseline_me()
        AND public.caseline_supervises(author)
$$;

CREATE FUNCTION public.caseline_private_markers(patient uuid) RETURNS TABLE ({MARKER_COLUMNS})
LANGUAGE plpgsql STABLE SECURITY DEFINER {SAFE} ROWS 100 AS $$
#variable_conflict use_column
DECLARE
    me uuid := public.caseline_me();
    authors uuid[];
BEGIN
    SELECT array_agg(s.therapist_id) INTO authors FROM public.supervisions s
    WHERE s.supervisor_id = me AND s.active AND s.therapist_id <> me;
    IF authors IS NULL THEN
        RETURN;  -- not a supervisor: nothing to look at, and no scan
    END IF;
    IF patient IS NULL THEN
        RETURN QUERY SELECT {MARKER_SELECT} FROM public.timeline_events e
            WHERE e.therapist_id = ANY (authors) AND e.is_private AND e.deleted_at IS NULL
              AND public.caseline_sees_private_of(e.therapist_id, e.patient_id);
    ELSE
        RETURN QUERY SELECT {MARKER_SELECT} FROM public.timeline_events e
            WHERE e.patient_id = patient AND e.therapist_id = ANY (authors) AND e.is_private
              AND e.deleted_at IS NULL AND public.caseline_sees_private_of(e.therapist_id, e.patient_id);
    END IF;
END
$$;

CREATE FUNCTION public.caseline_private_marker(event uuid) RETURNS TABLE ({MARKER_COLUMNS})
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT {MARKER_SELECT} FROM public.timeline_events e
    WHERE e.id = event AND e.is_private AND e.deleted_at IS NULL
      AND public.caseline_sees_private_of(e.therapist_id, e.patient_id)
$$;

-- A committed "why I read it" for this event by this login, from another transaction, recent.
CREATE FUNCTION public.caseline_purpose_stated(event uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.audit_log a
        WHERE a.event_id = event AND a.action = 'event.read_private' AND a.actor = session_user
          AND a.at <> (now() AT TIME ZONE 'utc')
          AND a.at >= (now() AT TIME ZONE 'utc') - interval '{PURPOSE_WINDOW}'
          AND btrim(coalesce(a.detail ->> 'purpose', '')) <> ''
    )
$$;

CREATE FUNCTION public.caseline_check_private_read(event uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER {SAFE} AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.caseline_private_marker(event)) THEN
        RETURN false;  -- unknown, or not mine to open: answer as for a missing event
    END IF;
    IF NOT public.caseline_purpose_stated(event) THEN
        RAISE EXCEPTION 'reading another author''s private event needs a stated purpose: commit an '
            'event.read_private audit row with a purpose for it first (valid {PURPOSE_WINDOW})'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN true;
END
$$;

CREATE FUNCTION public.caseline_read_private(event uuid) RETURNS SETOF public.timeline_events
LANGUAGE plpgsql STABLE SECURITY DEFINER {SAFE} AS $$
BEGIN
    IF public.caseline_check_private_read(event) THEN
        RETURN QUERY SELECT e.* FROM public.timeline_events e WHERE e.id = event;
    END IF;
END
$$;

-- Its history: each snapshot by its own rule, or private by an author I may open.
CREATE FUNCTION public.caseline_read_private_versions(event uuid) RETURNS SETOF public.timeline_event_versions
LANGUAGE plpgsql STABLE SECURITY DEFINER {SAFE} AS $$
BEGIN
    IF public.caseline_check_private_read(event) THEN
        RETURN QUERY SELECT v.* FROM public.timeline_event_versions v
            WHERE v.event_id = event
              AND (public.caseline_may_read_snapshot(v.snapshot)
                   OR public.caseline_sees_private_of((v.snapshot ->> 'therapist_id')::uuid,
                                                      (v.snapshot ->> 'patient_id')::uuid));
    END IF;
END
$$;

-- Review notes: the author's supervisor, on any of the author's events (private ones too).
CREATE FUNCTION public.caseline_may_annotate(event uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.timeline_events e
        WHERE e.id = event AND e.therapist_id IS NOT NULL
          AND e.therapist_id IS DISTINCT FROM public.caseline_me()
          AND public.caseline_supervises(e.therapist_id)
    )
$$;

-- At commit: an app login's write carries its audit row, appended in the same transaction.
CREATE FUNCTION public.caseline_require_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER {SAFE} AS $$
DECLARE
    target uuid;
    wanted text;
BEGIN
    IF public.caseline_is_owner() THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'event_annotations' THEN
        target := NEW.event_id;
        wanted := 'annotation.create';
    ELSIF TG_OP = 'INSERT' THEN
        target := NEW.id;
        wanted := 'event.create';
    ELSIF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
        target := NEW.id;
        wanted := 'event.delete';
    ELSE
        target := NEW.id;
        wanted := 'event.update';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM public.audit_log a
        WHERE a.event_id = target AND a.action = wanted AND a.actor = session_user
          AND a.at = (now() AT TIME ZONE 'utc')
    ) THEN
        RAISE EXCEPTION 'a write to % must be audited in its transaction: append an % row for event %',
            TG_TABLE_NAME, wanted, target USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER timeline_events_audited AFTER INSERT OR UPDATE ON public.timeline_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.caseline_require_audit();
CREATE CONSTRAINT TRIGGER event_annotations_audited AFTER INSERT ON public.event_annotations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.caseline_require_audit();

DROP POLICY event_annotations_insert ON public.event_annotations;
CREATE POLICY event_annotations_insert ON public.event_annotations FOR INSERT WITH CHECK (
    public.caseline_is_owner()
    OR (author_id = public.caseline_me() AND public.caseline_may_annotate(event_id))
);
"""

DOWNGRADE = r"""
DROP POLICY event_annotations_insert ON public.event_annotations;
CREATE POLICY event_annotations_insert ON public.event_annotations FOR INSERT WITH CHECK (
    caseline_is_owner()
    OR (author_id = caseline_me() AND EXISTS (
        SELECT 1 FROM timeline_events e WHERE e.id = event_id AND caseline_supervises(e.therapist_id)
    ))
);
DROP TRIGGER event_annotations_audited ON public.event_annotations;
DROP TRIGGER timeline_events_audited ON public.timeline_events;
DROP FUNCTION public.caseline_require_audit();
DROP FUNCTION public.caseline_may_annotate(uuid);
DROP FUNCTION public.caseline_read_private_versions(uuid);
DROP FUNCTION public.caseline_read_private(uuid);
DROP FUNCTION public.caseline_check_private_read(uuid);
DROP FUNCTION public.caseline_purpose_stated(uuid);
DROP FUNCTION public.caseline_private_marker(uuid);
DROP FUNCTION public.caseline_private_markers(uuid);
DROP FUNCTION public.caseline_sees_private_of(uuid, uuid);
"""


def upgrade() -> None:
    op.create_index(op.f("ix_audit_log_event_id"), "audit_log", ["event_id"])
    op.execute(READ_RULE)
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute(DOWNGRADE)
    op.execute(READ_RULE_BEFORE)
    op.drop_index(op.f("ix_audit_log_event_id"), table_name="audit_log")
