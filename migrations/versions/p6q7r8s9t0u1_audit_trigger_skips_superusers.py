"""The audited-write trigger is not queued for a superuser session: bulk imports stop paying for it.

Revision ID: p6q7r8s9t0u1
Revises: o5p6q7r8s9t0
Create Date: 2026-11-27

``timeline_events_audited`` (migration m3n4o5p6q7r8) is a deferred constraint
trigger: every inserted or updated row queues an event, and at commit
``caseline_require_audit()`` runs once per row and returns at once for the
owner.  A 100,000-event FHIR import, written by the owner, spent 0.25 s of its
commit (not overlapped with anything) firing it for nothing.

A constraint trigger's ``WHEN`` is evaluated as the row is written, and a row
it rejects is never queued.  The condition is ``current_setting('is_superuser')
<> 'on'``: a built-in read of a setting no login can change (it is internal,
set by the server from the session's role and ``SET ROLE``), so it costs
nothing per row.  What it skips is only what a superuser session writes, and a
superuser can disable any trigger anyway, so no login loses a check it could
not already escape: app logins are never superusers, and inside a SECURITY
DEFINER function called by one the setting stays ``off`` (the definer's rights
do not change it), so their writes are queued and checked exactly as before.
An owner that is not a superuser (a managed server) still has its rows queued
and skipped by the function, as before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "p6q7r8s9t0u1"
down_revision: str | None = "o5p6q7r8s9t0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = r"""
DROP TRIGGER timeline_events_audited ON public.timeline_events;
CREATE CONSTRAINT TRIGGER timeline_events_audited AFTER INSERT OR UPDATE ON public.timeline_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (pg_catalog.current_setting('is_superuser') <> 'on')
    EXECUTE FUNCTION public.caseline_require_audit();
"""

DOWNGRADE = r"""
DROP TRIGGER timeline_events_audited ON public.timeline_events;
CREATE CONSTRAINT TRIGGER timeline_events_audited AFTER INSERT OR UPDATE ON public.timeline_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.caseline_require_audit();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
