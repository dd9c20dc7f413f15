"""A supervisor's private markers of one patient ask the rule once per supervisee, not once per row.

Revision ID: s9t0u1v2w3x4
Revises: r8s9t0u1v2w3
Create Date: 2026-12-01

``caseline_private_markers(patient)`` called
``caseline_sees_private_of(author, patient)`` for every private row of the
patient.  The function is SECURITY DEFINER, so the planner cannot inline it:
each row ran its own look-ups of my login, my supervisions and the author's
care assignments.  A supervisor opening a patient with 34,000 private
markers waited half a second for them, longer than the COPY of the other
466,000 events.

For one patient the rule depends on the author alone, so it is now asked
once per supervisee, and the rows are those of the supervisees it allows.
The same rows for every login: the privacy matrix asks through it, and a
test compares it with the rule asked row by row.  The every-patient form
(``patient`` NULL) keeps the per-row check, since there the patient varies.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "s9t0u1v2w3x4"
down_revision: str | None = "r8s9t0u1v2w3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFE = "SET search_path = pg_catalog, pg_temp"
MARKER_COLUMNS = (
    "id uuid, patient_id uuid, therapist_id uuid, event_type varchar, event_date timestamp, "
    "importance varchar, is_private boolean, created_at timestamp, row_version integer"
)
MARKER_SELECT = (
    "e.id, e.patient_id, e.therapist_id, e.event_type, e.event_date, e.importance, e.is_private, "
    "e.created_at, e.row_version"
)

# Every patient (the counts): the patient varies by row, so the rule is asked row by row, as before.
EVERY_PATIENT = f"""
        RETURN QUERY SELECT {MARKER_SELECT} FROM public.timeline_events e
            WHERE e.therapist_id = ANY (authors) AND e.is_private AND e.deleted_at IS NULL
              AND public.caseline_sees_private_of(e.therapist_id, e.patient_id);"""

HEAD = rf"""
CREATE OR REPLACE FUNCTION public.caseline_private_markers(patient uuid) RETURNS TABLE ({MARKER_COLUMNS})
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
"""

UPGRADE = (
    HEAD
    + rf"""
    IF patient IS NULL THEN{EVERY_PATIENT}
        RETURN;
    END IF;
    -- One patient: the supervisees whose private events on it I may see, asked once each.
    SELECT array_agg(supervisee) INTO authors FROM unnest(authors) AS supervisee
    WHERE public.caseline_sees_private_of(supervisee, patient);
    IF authors IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT {MARKER_SELECT} FROM public.timeline_events e
        WHERE e.patient_id = patient AND e.therapist_id = ANY (authors) AND e.is_private
          AND e.deleted_at IS NULL;
END
$$;
"""
)

DOWNGRADE = (
    HEAD
    + rf"""
    IF patient IS NULL THEN{EVERY_PATIENT}
    ELSE
        RETURN QUERY SELECT {MARKER_SELECT} FROM public.timeline_events e
            WHERE e.patient_id = patient AND e.therapist_id = ANY (authors) AND e.is_private
              AND e.deleted_at IS NULL AND public.caseline_sees_private_of(e.therapist_id, e.patient_id);
    END IF;
END
$$;
"""
)


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
