"""The read policy asks who I am once per query, not once per row: opening a patient stops costing 40 µs an event.

Revision ID: q7r8s9t0u1v2
Revises: p6q7r8s9t0u1
Create Date: 2026-12-01

``timeline_events_read`` called ``caseline_may_read_event(patient_id,
therapist_id, is_private)`` for every row the query touched.  The function
and the ones it calls are SECURITY DEFINER, so the planner cannot inline
them: each row ran five to eight small queries (my login's user row, my role,
my assignments, my supervisions).  Opening a 2,000-event patient as a
therapist took 84 ms in a table of a million events, against 0.4 ms for the
owner, who bypasses the policy (``main.py bench --table-events``).

The policy now says the same thing in terms a query evaluates once: who I am,
my role and whether I am the owner become uncorrelated sub-selects (init
plans), and the patients whose shared events I may read, and those I am
assigned to, become two sets (hashed sub-plans) that each row is looked up
in.  Row by row it is the same rule as ``caseline_may_read_event``, which
stays for the version-snapshot check; a test asks both, under every login of
the privacy matrix, and they agree.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "q7r8s9t0u1v2"
down_revision: str | None = "p6q7r8s9t0u1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFE = "SET search_path = pg_catalog, pg_temp"

UPGRADE = rf"""
-- The patients I am actively assigned to: caseline_assigned(p) is p IN (this).
CREATE FUNCTION public.caseline_assigned_patients() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} ROWS 50 AS $$
    SELECT ca.patient_id FROM public.care_assignments ca
    WHERE ca.active AND ca.therapist_id = public.caseline_me()
$$;

-- The patients whose shared events I read: on my case as a therapist or supervisor
-- (caseline_on_case), the demo patients for QA.  An admin reads every patient's and is
-- answered in the policy itself.
CREATE FUNCTION public.caseline_shared_patients() RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER {SAFE} ROWS 100 AS $$
DECLARE
    my_role text := public.caseline_my_role();
BEGIN
    IF my_role IN ('therapist', 'supervisor') THEN
        RETURN QUERY SELECT public.caseline_assigned_patients();
        RETURN QUERY SELECT ca.patient_id FROM public.care_assignments ca
            JOIN public.supervisions s ON s.therapist_id = ca.therapist_id
            WHERE ca.active AND s.active AND s.supervisor_id = public.caseline_me();
    ELSIF my_role = 'qa' THEN
        RETURN QUERY SELECT u.id FROM public.users u WHERE u.role = 'patient' AND u.username LIKE 'demo\_%';
    END IF;
END
$$;

DROP POLICY timeline_events_read ON public.timeline_events;
CREATE POLICY timeline_events_read ON public.timeline_events FOR SELECT USING (
    (SELECT public.caseline_is_owner())
    OR (therapist_id IS NOT NULL AND therapist_id = (SELECT public.caseline_me())
        AND patient_id IN (SELECT public.caseline_assigned_patients()))
    OR (NOT is_private AND ((SELECT public.caseline_my_role()) = 'admin'
                            OR patient_id IN (SELECT public.caseline_shared_patients())))
);
"""

DOWNGRADE = r"""
DROP POLICY timeline_events_read ON public.timeline_events;
CREATE POLICY timeline_events_read ON public.timeline_events FOR SELECT
    USING (public.caseline_may_read_event(patient_id, therapist_id, is_private));
DROP FUNCTION public.caseline_shared_patients();
DROP FUNCTION public.caseline_assigned_patients();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
