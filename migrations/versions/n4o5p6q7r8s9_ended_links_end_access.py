"""Ended links end access: an author's events follow her active care assignment, a supervisor's follow the supervisee's.

Revision ID: n4o5p6q7r8s9
Revises: m3n4o5p6q7r8
Create Date: 2026-11-26

``privacy.md``'s third row: of a patient not assigned to me, I see nothing,
not even what I wrote there once; my supervisor sees it "as above, via the
supervisee", so only while I treat that patient.  The SQL let an author read
(and the app offered to delete) her events on a patient whose assignment had
ended, and let a supervisor read every event a supervisee ever wrote.  Now:

* an author reads, edits and tombstones her events only on patients she is
  actively assigned to (``timeline_events_update`` checks the assignment in
  USING as well as WITH CHECK);
* a supervisor sees a supervisee's private events (markers, and their text
  after a purpose) and may annotate the supervisee's events only on the
  patients the supervisee actively treats; shared events still reach them
  through ``caseline_on_case`` as before.

``viewer/services/access.py`` says the same.  A leaver's private events
handed over to a colleague come with the colleague's assignment to those
patients (``viewer/services/staff.py``), or they would be unreadable.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "n4o5p6q7r8s9"
down_revision: str | None = "m3n4o5p6q7r8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFE = "SET search_path = pg_catalog, pg_temp"

# The previous revision's definitions, restored on downgrade.
BEFORE = rf"""
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

CREATE OR REPLACE FUNCTION public.caseline_sees_private_of(author uuid, patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT author IS NOT NULL AND author IS DISTINCT FROM public.caseline_me()
        AND public.caseline_supervises(author)
$$;

CREATE OR REPLACE FUNCTION public.caseline_may_annotate(event uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.timeline_events e
        WHERE e.id = event AND e.therapist_id IS NOT NULL
          AND e.therapist_id IS DISTINCT FROM public.caseline_me()
          AND public.caseline_supervises(e.therapist_id)
    )
$$;

DROP POLICY timeline_events_update ON public.timeline_events;
CREATE POLICY timeline_events_update ON public.timeline_events FOR UPDATE
    USING (public.caseline_is_owner() OR (therapist_id IS NOT NULL AND therapist_id = public.caseline_me()))
    WITH CHECK (public.caseline_is_owner()
                OR (therapist_id = public.caseline_me() AND public.caseline_assigned(patient_id)));
"""

AFTER = rf"""
CREATE OR REPLACE FUNCTION public.caseline_may_read_event(patient uuid, author uuid, private boolean)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT public.caseline_is_owner()
        OR (author IS NOT NULL AND author = public.caseline_me() AND public.caseline_assigned(patient))
        OR (NOT private AND public.caseline_my_role() IN ('therapist', 'supervisor')
            AND public.caseline_on_case(patient))
        OR (NOT private AND public.caseline_my_role() = 'admin')
        OR (NOT private AND public.caseline_my_role() = 'qa' AND public.caseline_is_demo_patient(patient))
$$;

-- A supervisee's work on a patient, through an active supervision and the supervisee's active assignment.
CREATE FUNCTION public.caseline_supervises_on(author uuid, patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT author IS NOT NULL AND author IS DISTINCT FROM public.caseline_me()
        AND public.caseline_supervises(author)
        AND EXISTS (
            SELECT 1 FROM public.care_assignments ca
            WHERE ca.therapist_id = author AND ca.patient_id = patient AND ca.active
        )
$$;

CREATE OR REPLACE FUNCTION public.caseline_sees_private_of(author uuid, patient uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT public.caseline_supervises_on(author, patient)
$$;

CREATE OR REPLACE FUNCTION public.caseline_may_annotate(event uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.timeline_events e
        WHERE e.id = event AND public.caseline_supervises_on(e.therapist_id, e.patient_id)
    )
$$;

DROP POLICY timeline_events_update ON public.timeline_events;
CREATE POLICY timeline_events_update ON public.timeline_events FOR UPDATE
    USING (public.caseline_is_owner()
           OR (therapist_id IS NOT NULL AND therapist_id = public.caseline_me()
               AND public.caseline_assigned(patient_id)))
    WITH CHECK (public.caseline_is_owner()
                OR (therapist_id = public.caseline_me() AND public.caseline_assigned(patient_id)));
"""


def upgrade() -> None:
    op.execute(AFTER)


def downgrade() -> None:
    op.execute(BEFORE)
    op.execute("DROP FUNCTION public.caseline_supervises_on(uuid, uuid)")
