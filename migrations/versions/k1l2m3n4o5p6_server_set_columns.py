"""The server sets ids, versions and timestamps: app logins may write only the clinical fields.

Revision ID: k1l2m3n4o5p6
Revises: j0k1l2m3n4o5
Create Date: 2026-11-26

A table-wide INSERT grant let a clinician insert an event already
``updated_by`` a colleague (the history then said "saved by Ben"), at
``row_version`` 7, ``created_at`` years ago, or born deleted; and a review
note with a hand-made, non-v7 id and a back-dated ``created_at``.  Choosing
the id also made an existence oracle: inserting with the id of a private
event one cannot see said "duplicate key", with an unknown id it succeeded
(an UPDATE of one's own event to that id did the same).

App roles now hold column-level INSERT and UPDATE grants on exactly the
fields a clinician edits, so naming any other column is refused with
"permission denied" whatever the value: ids come from the column defaults
(the app reads them back with RETURNING), ``created_at`` from ``now()``, and
the versioning trigger keeps setting ``row_version``/``updated_*``.  A
tombstone's time is the server's too: the trigger stamps ``deleted_at`` with
the time of the delete and keeps it unchanged while the row stays deleted.
The owner (FHIR import, demo loader) keeps full rights and may still supply
ids, as the importer does.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "k1l2m3n4o5p6"
down_revision: str | None = "j0k1l2m3n4o5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a clinician writes of an event (the editor's fields), and, on UPDATE, the tombstone.
EVENT_FIELDS = (
    "patient_id",
    "therapist_id",
    "event_type",
    "event_subtype",
    "event_date",
    "title",
    "description",
    "metadata",
    "related_entity_type",
    "related_entity_id",
    "importance",
    "is_private",
)
ANNOTATION_FIELDS = ("event_id", "author_id", "body")
SAFE = "SET search_path = pg_catalog, pg_temp"

VERSIONED = rf"""
CREATE OR REPLACE FUNCTION public.caseline_event_versioned() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER {SAFE} AS $$
BEGIN
    INSERT INTO public.timeline_event_versions (event_id, row_version, snapshot, changed_at, changed_by)
    VALUES (OLD.id, OLD.row_version, to_jsonb(OLD) - 'row_version', now() AT TIME ZONE 'utc',
            public.caseline_me());
    NEW.row_version := OLD.row_version + 1;
    NEW.updated_at := now() AT TIME ZONE 'utc';
    NEW.updated_by := public.caseline_me();
    -- A tombstone carries the server's time of the delete, not a date the client chose.
    IF NEW.deleted_at IS NOT NULL THEN
        NEW.deleted_at := coalesce(OLD.deleted_at, now() AT TIME ZONE 'utc');
    END IF;
    RETURN NEW;
END
$$;
"""

VERSIONED_BEFORE = rf"""
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


def upgrade() -> None:
    fields = ", ".join(EVENT_FIELDS)
    op.execute("REVOKE INSERT, UPDATE ON public.timeline_events FROM caseline_therapist")
    op.execute(f"GRANT INSERT ({fields}) ON public.timeline_events TO caseline_therapist")
    op.execute(f"GRANT UPDATE ({fields}, deleted_at) ON public.timeline_events TO caseline_therapist")
    op.execute("REVOKE INSERT ON public.event_annotations FROM caseline_supervisor")
    op.execute(
        f"GRANT INSERT ({', '.join(ANNOTATION_FIELDS)}) ON public.event_annotations TO caseline_supervisor"
    )
    op.execute(VERSIONED)


def downgrade() -> None:
    op.execute(VERSIONED_BEFORE)
    fields = ", ".join((*EVENT_FIELDS, "deleted_at"))
    op.execute(f"REVOKE INSERT ({', '.join(EVENT_FIELDS)}) ON public.timeline_events FROM caseline_therapist")
    op.execute(f"REVOKE UPDATE ({fields}) ON public.timeline_events FROM caseline_therapist")
    op.execute("GRANT INSERT, UPDATE ON public.timeline_events TO caseline_therapist")
    op.execute(
        f"REVOKE INSERT ({', '.join(ANNOTATION_FIELDS)}) ON public.event_annotations FROM caseline_supervisor"
    )
    op.execute("GRANT INSERT ON public.event_annotations TO caseline_supervisor")
