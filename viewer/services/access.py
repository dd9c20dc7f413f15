"""The one place the app asks "may I?": the privacy matrix of ``privacy.md``, in Python.

PostgreSQL enforces the same rules with row-level security (migration
``e5f6g7h8i9j0``); this module mirrors them so the UI can disable a button or
explain a refusal before asking the database.  ``tests/db/test_privacy_matrix.py``
runs every role against every kind of event and action, through this module,
through the services and as raw SQL under each user's own login, and demands
the same answer from all three.  When the two ever disagree, the database
wins: it is the enforcement, this is the courtesy.

Links count only while active (``privacy.md``, third row): an author sees and
edits her events only on patients she still treats, and her supervisor sees
them "via the supervisee", so only while the supervision and the
supervisee's assignment to that patient are both active.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum

import sqlalchemy as sa

CLINICAL_ROLES = frozenset({"therapist", "supervisor"})


class Action(Enum):
    LIST = "list"  # the event appears in the patient's timeline (its marker)
    COUNT = "count"  # the event is counted (patient list, overview, rollups)
    READ = "read"  # read by id: date, type, importance, author (no clinical text)
    READ_TEXT = "read text"  # title, description, metadata
    EXPORT = "export"  # include in an export (needs the text)
    EDIT = "edit"
    DELETE = "delete"
    ANNOTATE = "annotate"  # a supervisor's review note


@dataclass(frozen=True)
class Actor:
    """Who is signed in, and the links that decide what they may see."""

    user_id: uuid.UUID | None
    role: str | None
    assigned: frozenset[uuid.UUID] = frozenset()  # patients I treat (active)
    supervisees: frozenset[uuid.UUID] = frozenset()  # therapists I supervise (active)
    on_case: frozenset[uuid.UUID] = frozenset()  # patients I or my supervisees treat
    # (supervisee, patient) for each patient a supervisee of mine treats (both links active)
    supervised_care: frozenset[tuple[uuid.UUID, uuid.UUID]] = frozenset()

    @property
    def is_clinician(self) -> bool:
        return self.role in CLINICAL_ROLES

    def wrote_on_my_case(self, event: EventFacts) -> bool:
        """My own event, on a patient I still treat."""
        return (
            event.author_id is not None
            and event.author_id == self.user_id
            and event.patient_id in self.assigned
        )

    def supervises_on(self, event: EventFacts) -> bool:
        """A supervisee's event, on a patient the supervisee still treats."""
        return (
            event.author_id is not None
            and event.author_id != self.user_id
            and (event.author_id, event.patient_id) in self.supervised_care
        )


@dataclass(frozen=True)
class EventFacts:
    """What the rules need to know about one event."""

    patient_id: uuid.UUID
    author_id: uuid.UUID | None
    is_private: bool
    demo_patient: bool = False


def may_see(actor: Actor, event: EventFacts) -> bool:
    """The read rule: the row, its count and its marker exist for this actor."""
    if actor.user_id is None:
        return False
    if actor.wrote_on_my_case(event) or actor.supervises_on(event):
        return True  # a supervisee's private one as a marker; its text after a stated purpose
    if event.is_private:
        return False
    if actor.is_clinician:
        return event.patient_id in actor.on_case
    if actor.role == "admin":
        return True
    return actor.role == "qa" and event.demo_patient


def may(actor: Actor, event: EventFacts, action: Action) -> bool:
    """Whether ``actor`` may do ``action`` to ``event`` (the privacy matrix)."""
    if action in (Action.LIST, Action.COUNT, Action.READ):
        return may_see(actor, event)
    if action in (Action.READ_TEXT, Action.EXPORT):
        return may_see(actor, event) and actor.role != "admin"  # admins see metadata only
    if action in (Action.EDIT, Action.DELETE):  # the author's, on a patient they still treat
        return actor.is_clinician and actor.wrote_on_my_case(event)
    if action is Action.ANNOTATE:  # feedback from the author's supervisor, never an edit
        return actor.role == "supervisor" and actor.supervises_on(event)
    raise AssertionError(f"unknown action {action}")


def may_read_texts(actor: Actor) -> bool:
    """Whether ``actor`` reads any event's title or description (and so may search titles).

    An administrator sees markers only: date, type and importance.  The app
    asks before it reads, so an administrator's hover and search no longer
    end in the database's refusal.
    """
    return actor.user_id is not None and actor.role != "admin"


def may_create_for(actor: Actor, patient_id: uuid.UUID) -> bool:
    """Whether ``actor`` may add their own event to a patient's timeline."""
    return actor.is_clinician and patient_id in actor.assigned


def load_actor(conn: sa.Connection) -> Actor:
    """The signed-in actor, read under their own login (RLS shows them exactly their links)."""
    row = conn.execute(
        sa.text(
            "SELECT id, role FROM users WHERE username = session_user AND is_active AND role <> 'patient'"
        )
    ).first()
    if row is None:
        return Actor(None, None)
    me: uuid.UUID = row.id
    assigned = frozenset(
        conn.execute(
            sa.text("SELECT patient_id FROM care_assignments WHERE therapist_id = :me AND active"), {"me": me}
        ).scalars()
    )
    supervisees = frozenset(
        conn.execute(
            sa.text("SELECT therapist_id FROM supervisions WHERE supervisor_id = :me AND active"), {"me": me}
        ).scalars()
    )
    supervised_care = frozenset(
        (link.therapist_id, link.patient_id)
        for link in conn.execute(
            sa.text(
                "SELECT therapist_id, patient_id FROM care_assignments "
                "WHERE active AND therapist_id = ANY(:therapists)"
            ),
            {"therapists": list(supervisees)},
        )
    )
    via_supervisees = frozenset(patient for _therapist, patient in supervised_care)
    return Actor(me, row.role, assigned, supervisees, assigned | via_supervisees, supervised_care)
