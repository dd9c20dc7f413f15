"""Each version of an event keeps its own privacy: a snapshot that was private stays private.

Revision ID: j0k1l2m3n4o5
Revises: i9j0k1l2m3n4
Create Date: 2026-11-26

Until now a row of ``timeline_event_versions`` was readable by whoever may
read the event *now*: when an author unmarked a private note, every colleague
on the patient could read what it said while it was private
(``SELECT snapshot->>'title' ...``), and the History dialog showed it.  The
policy now also judges each snapshot by its own ``is_private``,
``therapist_id`` and ``patient_id`` with the same rule as a live event
(``caseline_may_read_event``), so a snapshot taken while the event was
private is readable only by those who may read a private event of that
author, and only while the event itself is still visible to them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "j0k1l2m3n4o5"
down_revision: str | None = "i9j0k1l2m3n4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = r"""
-- The read rule applied to a snapshot: what the event was, not what it is.  A snapshot without
-- the fields (never written by our trigger) counts as private and authorless: nobody but the owner.
CREATE FUNCTION public.caseline_may_read_snapshot(snapshot jsonb) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(public.caseline_may_read_event(
        (snapshot ->> 'patient_id')::uuid,
        (snapshot ->> 'therapist_id')::uuid,
        coalesce((snapshot ->> 'is_private')::boolean, true)
    ), false)
$$;

DROP POLICY timeline_event_versions_read ON public.timeline_event_versions;
CREATE POLICY timeline_event_versions_read ON public.timeline_event_versions FOR SELECT USING (
    EXISTS (SELECT 1 FROM public.timeline_events e WHERE e.id = timeline_event_versions.event_id)
    AND public.caseline_may_read_snapshot(snapshot)
);
"""

DOWNGRADE = r"""
DROP POLICY timeline_event_versions_read ON public.timeline_event_versions;
CREATE POLICY timeline_event_versions_read ON public.timeline_event_versions FOR SELECT USING (
    EXISTS (SELECT 1 FROM public.timeline_events e WHERE e.id = event_id)
);
DROP FUNCTION public.caseline_may_read_snapshot(jsonb);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
