"""The deterministic demo practice: fictional clinicians, patients and 2-3 years of history.

Why a generator and not a fixture file: the demo must be big enough to show
what the timeline does (one dense patient with about 1,500 events), cover every
event type and importance level, contain private events, and be the same on
every machine for the same seed, so screenshots and bug reports agree.

Everything here is invented. Usernames start with ``demo_`` so the app can say
plainly that it is showing demo data, and so reloading the demo replaces
exactly the demo rows (deleting a demo user cascades to their events and
links) and nothing a clinic entered.

Each clinician is a real PostgreSQL LOGIN role in a group role per kind
(``caseline_therapist``, ``caseline_supervisor``, ``caseline_admin``,
``caseline_qa``). Passwords are random (never derived from the seed), sent to
the server only as SCRAM verifiers, and written to
``CASELINE_HOME/demo-credentials.json`` readable by the owner only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import random
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from psycopg import sql
from psycopg.types.json import Jsonb

from viewer.db.settings import Settings
from viewer.domain import EventType, Importance
from viewer.services.purge import purge_users

log = logging.getLogger(__name__)

DEMO_PREFIX = "demo_"
DEFAULT_SEED = 20261124
DEFAULT_PATIENTS = 14
#: The demo's "now": fixed, so the same seed gives the same practice on any day.
DEFAULT_ANCHOR = datetime(2026, 11, 1, 12, 0)
CREDENTIALS_FILE_NAME = "demo-credentials.json"
DENSE_PATIENT_TARGET = 1500

#: Group role per kind of clinician; the privacy migration grants to these.
GROUP_ROLES: dict[str, str] = {
    "therapist": "caseline_therapist",
    "supervisor": "caseline_supervisor",
    "admin": "caseline_admin",
    "qa": "caseline_qa",
}

_THERAPISTS = (
    ("demo_ada_morrow", "Ada Morrow"),
    ("demo_ben_okonkwo", "Ben Okonkwo"),
    ("demo_cleo_varga", "Cleo Varga"),
    ("demo_dara_vance", "Dara Vance"),
)
_SUPERVISOR = ("demo_mara_quill", "Dr. Mara Quill")
_ADMIN = ("demo_admin_noor", "Noor Castell (admin)")
_QA = ("demo_qa_tester", "QA Tester")

_FIRST = (
    "Juniper", "Rowan", "Sable", "Linden", "Marlow", "Wren", "Ember", "Tamsin", "Oriel", "Quillon",
    "Hollis", "Bryony", "Caspian", "Delphine", "Ilse", "Kestrel", "Lorcan", "Mireille", "Nyx", "Peregrine",
)  # fmt: skip
_LAST = (
    "Ashgrove", "Brackwater", "Coldharbour", "Dunmere", "Elderfield", "Fernhollow", "Glasswick",
    "Hartsedge", "Ivybridge", "Juncombe", "Kilnsey", "Larkmoor", "Mossgill", "Nettlecombe",
)  # fmt: skip

_DIAGNOSES = (
    ("F32.1", "Major depressive disorder, single episode, moderate", Importance.HIGH),
    ("F41.1", "Generalised anxiety disorder", Importance.HIGH),
    ("F43.1", "Post-traumatic stress disorder", Importance.CRITICAL),
    ("F40.10", "Social anxiety disorder", Importance.HIGH),
    ("F42.2", "Obsessive-compulsive disorder, mixed", Importance.HIGH),
    ("F10.20", "Alcohol use disorder, moderate", Importance.HIGH),
    ("F50.2", "Bulimia nervosa", Importance.CRITICAL),
    ("Z63.0", "Relationship distress with partner", Importance.NORMAL),
)
_MEDICATIONS = (
    ("sertraline", 50, "mg"),
    ("escitalopram", 10, "mg"),
    ("fluoxetine", 20, "mg"),
    ("bupropion", 150, "mg"),
    ("mirtazapine", 15, "mg"),
    ("quetiapine", 25, "mg"),
)
_MODALITIES = ("CBT", "ACT", "EMDR", "Schema therapy", "Psychodynamic", "DBT skills")
_SESSION_THEMES = (
    "Sleep and routine", "Work stress", "Family conflict", "Exposure practice", "Grief",
    "Self-criticism", "Relapse prevention", "Behavioural activation", "Boundaries", "Values work",
    "Panic symptoms", "Trauma narrative", "Communication skills", "Rumination", "Motivation",
)  # fmt: skip
_MILESTONES = (
    ("Returned to work part-time", Importance.HIGH),
    ("First week without panic attacks", Importance.NORMAL),
    ("Completed exposure hierarchy", Importance.HIGH),
    ("Moved into own flat", Importance.NORMAL),
    ("Six months alcohol-free", Importance.HIGH),
    ("Reconnected with sibling", Importance.LOW),
    ("Finished trauma narrative", Importance.HIGH),
)
_EXTERNAL = (
    ("GP appointment", Importance.LOW, "gp_visit"),
    ("Emergency department visit", Importance.CRITICAL, "emergency"),
    ("Psychiatric consultation", Importance.HIGH, "psychiatry"),
    ("Letter from employer", Importance.LOW, "letter"),
    ("Hospital admission", Importance.CRITICAL, "admission"),
    ("Occupational health review", Importance.NORMAL, "occupational_health"),
)
#: Less common events that give every type its full range of importance.
_OCCASIONAL = (
    (EventType.SESSION, "Emergency session", Importance.CRITICAL, "emergency"),
    (EventType.SESSION, "Family session", Importance.HIGH, "family"),
    (EventType.DIAGNOSIS, "Provisional: insomnia disorder", Importance.LOW, "provisional"),
    (EventType.DIAGNOSIS, "Ruled out: bipolar disorder", Importance.NORMAL, "ruled_out"),
    (EventType.MEDICATION, "Missed doses reported", Importance.LOW, "adherence"),
    (EventType.MEDICATION, "Adverse reaction: medication stopped", Importance.CRITICAL, "adverse_reaction"),
    (EventType.MILESTONE, "Discharged from inpatient care", Importance.CRITICAL, "discharge"),
    (EventType.MILESTONE, "Joined a walking group", Importance.LOW, "progress"),
    (EventType.TREATMENT_PLAN, "Crisis and safety plan", Importance.CRITICAL, "safety_plan"),
    (EventType.TREATMENT_PLAN, "Homework sheet updated", Importance.LOW, "homework"),
    (EventType.ASSESSMENT, "Risk assessment: low", Importance.LOW, "risk"),
    (EventType.ASSESSMENT, "Risk assessment: high", Importance.CRITICAL, "risk"),
    (EventType.EXTERNAL_EVENT, "Court date", Importance.HIGH, "legal"),
    (EventType.NOTE, "Supervision reflection", Importance.HIGH, "supervision"),
)
_NOTE_KINDS = (
    ("Process note", "process_note"),
    ("Phone call", "phone_call"),
    ("Message from patient", "message"),
    ("Case consultation", "consultation"),
    ("Risk check", "risk_check"),
)


@dataclass(frozen=True)
class DemoUser:
    id: uuid.UUID
    username: str
    display_name: str
    role: str

    @property
    def is_clinician(self) -> bool:
        return self.role != "patient"


@dataclass(frozen=True)
class DemoEvent:
    """One row of ``timeline_events``, in column order of :data:`EVENT_COLUMNS`."""

    id: uuid.UUID
    patient_id: uuid.UUID
    therapist_id: uuid.UUID | None
    event_type: EventType
    event_subtype: str | None
    event_date: datetime
    title: str
    description: str | None
    metadata: dict[str, Any] | None
    related_entity_type: str | None
    related_entity_id: uuid.UUID | None
    importance: Importance
    is_private: bool
    created_at: datetime


EVENT_COLUMNS = (
    "id", "patient_id", "therapist_id", "event_type", "event_subtype", "event_date", "title",
    "description", "metadata", "related_entity_type", "related_entity_id", "importance", "is_private",
    "created_at",
)  # fmt: skip


@dataclass
class DemoPractice:
    """The whole generated practice, before it touches any database."""

    users: list[DemoUser]
    care_assignments: list[tuple[uuid.UUID, uuid.UUID, bool]]  # therapist, patient, active
    supervisions: list[tuple[uuid.UUID, uuid.UUID]]  # supervisor, therapist
    events: list[DemoEvent]

    def by_role(self, role: str) -> list[DemoUser]:
        return [user for user in self.users if user.role == role]


@dataclass(frozen=True)
class DemoSummary:
    """What was loaded, for the CLI and the first-run banner (counts only, no patient data)."""

    clinicians: int
    patients: int
    events: int
    private_events: int
    events_per_type: dict[str, int] = field(default_factory=dict)
    credentials_path: Path | None = None

    def describe(self) -> str:
        lines = [
            f"Loaded the demo practice (fictional data): {self.clinicians} staff logins, "
            f"{self.patients} patients, {self.events} events ({self.private_events} private).",
        ]
        if self.credentials_path is not None:
            lines.append(f"Demo logins and passwords: {self.credentials_path} (readable by you only).")
        return "\n".join(lines)


class _Builder:
    """Accumulates one patient's events with a shared random source."""

    def __init__(self, rng: random.Random, patient: DemoUser) -> None:
        self.rng = rng
        self.patient = patient
        self.events: list[DemoEvent] = []

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def add(
        self,
        event_type: EventType,
        when: datetime,
        title: str,
        importance: Importance,
        *,
        author: uuid.UUID | None,
        subtype: str | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        related: tuple[str, uuid.UUID] | None = None,
        private: bool = False,
    ) -> DemoEvent:
        created = when + timedelta(minutes=self.rng.randint(5, 600))
        event = DemoEvent(
            id=self.new_id(),
            patient_id=self.patient.id,
            therapist_id=author,
            event_type=event_type,
            event_subtype=subtype,
            event_date=when,
            title=title[:200],
            description=description,
            metadata=metadata,
            related_entity_type=related[0] if related else None,
            related_entity_id=related[1] if related else None,
            importance=importance,
            is_private=private,
            created_at=created,
        )
        self.events.append(event)
        return event


def _office_time(rng: random.Random, day: datetime) -> datetime:
    """A plausible appointment time on a weekday (stored naive UTC)."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=rng.randint(8, 17), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0)


def _phq9_band(score: int) -> tuple[str, Importance]:
    if score >= 20:
        return "severe", Importance.CRITICAL
    if score >= 15:
        return "moderately severe", Importance.HIGH
    if score >= 10:
        return "moderate", Importance.NORMAL
    if score >= 5:
        return "mild", Importance.LOW
    return "minimal", Importance.LOW


def _gad7_band(score: int) -> tuple[str, Importance]:
    if score >= 15:
        return "severe", Importance.HIGH
    if score >= 10:
        return "moderate", Importance.NORMAL
    if score >= 5:
        return "mild", Importance.LOW
    return "minimal", Importance.LOW


def _patient_history(
    rng: random.Random,
    patient: DemoUser,
    therapists: Sequence[uuid.UUID],
    start: datetime,
    end: datetime,
    *,
    dense: bool,
) -> list[DemoEvent]:
    """Two to three years of one patient's care: what a real record tends to look like."""
    b = _Builder(rng, patient)
    primary = therapists[0]
    modality = rng.choice(_MODALITIES)

    def author() -> uuid.UUID:
        # Most work is the primary therapist's; a co-therapist adds some.
        return primary if len(therapists) == 1 or rng.random() < 0.8 else therapists[1]

    # Intake, diagnoses, first plan.
    intake = _office_time(rng, start)
    b.add(EventType.SESSION, intake, "Intake assessment", Importance.HIGH, author=primary, subtype="intake",
          description="First meeting: history, goals and consent to treatment.",
          metadata={"duration_min": 90, "modality": "assessment"})  # fmt: skip
    diagnoses = rng.sample(_DIAGNOSES, rng.randint(1, 3))
    diagnosis_ids = []
    for code, display, importance in diagnoses:
        event = b.add(EventType.DIAGNOSIS, intake + timedelta(days=rng.randint(0, 14)), display, importance,
                      author=primary, subtype="icd10",
                      metadata={"code": code, "system": "ICD-10", "status": "active"})  # fmt: skip
        diagnosis_ids.append(event.id)
    plan = b.add(EventType.TREATMENT_PLAN, intake + timedelta(days=14), f"Treatment plan: {modality}",
                 Importance.HIGH, author=primary, subtype="initial",
                 description="Goals agreed with the patient; review every six months.",
                 metadata={"modality": modality, "review_weeks": 26},
                 related=("diagnosis", diagnosis_ids[0]))  # fmt: skip
    b.add(
        EventType.MILESTONE, intake, "Treatment started", Importance.NORMAL, author=primary, subtype="start"
    )

    # Weekly (dense: several per week) sessions with process notes, some private.
    interval_days = 1.6 if dense else rng.choice((7.0, 7.0, 10.5, 14.0))
    day = intake + timedelta(days=7)
    n = 0
    while day < end:
        when = _office_time(rng, day)
        n += 1
        theme = rng.choice(_SESSION_THEMES)
        missed = rng.random() < 0.06
        who = author()
        b.add(EventType.SESSION, when, f"Session {n}: {'missed' if missed else theme}",
              Importance.LOW if missed else Importance.NORMAL, author=who,
              subtype="missed" if missed else "individual",
              description=None if missed else f"Worked on {theme.lower()}.",
              metadata={"duration_min": 0 if missed else 50, "modality": modality, "attended": not missed},
              related=("treatment_plan", plan.id))  # fmt: skip
        if not missed and rng.random() < (0.75 if dense else 0.45):
            title, subtype = rng.choice(_NOTE_KINDS)
            risk = subtype == "risk_check" and rng.random() < 0.3
            b.add(EventType.NOTE, when + timedelta(hours=1), title,
                  Importance.CRITICAL if risk else rng.choice((Importance.LOW, Importance.NORMAL)),
                  author=who, subtype=subtype,
                  description="Raised risk: safety plan reviewed." if risk else "Reflections after the session.",
                  private=subtype == "process_note" or rng.random() < 0.1)  # fmt: skip
        if dense and rng.random() < 0.9:
            # The dense record also has between-session contact.
            title, subtype = rng.choice(_NOTE_KINDS[1:3])
            b.add(EventType.NOTE, _office_time(rng, when + timedelta(days=1)), title, Importance.LOW,
                  author=who, subtype=subtype)  # fmt: skip
        day += timedelta(days=interval_days * rng.uniform(0.8, 1.25))

    # Monthly questionnaires with scores that drift down, with the odd relapse.
    severity = rng.randint(12, 24)
    day = intake
    instruments = ("PHQ-9", "GAD-7") if dense else (rng.choice(("PHQ-9", "GAD-7")),)
    while day < end:
        for instrument in instruments:
            if instrument == "PHQ-9":
                score = max(0, min(27, severity + rng.randint(-3, 3)))
                band, importance = _phq9_band(score)
            else:
                score = max(0, min(21, severity * 21 // 27 + rng.randint(-2, 2)))
                band, importance = _gad7_band(score)
            b.add(EventType.ASSESSMENT, _office_time(rng, day), f"{instrument}: {score} ({band})", importance,
                  author=primary, subtype=instrument.lower(),
                  metadata={"instrument": instrument, "score": score, "severity": band})  # fmt: skip
        severity = max(2, severity - rng.randint(0, 2)) if rng.random() < 0.85 else min(27, severity + 6)
        day += timedelta(days=rng.randint(24, 38) if not dense else rng.randint(10, 18))

    # Medication course for about half the patients.
    if dense or rng.random() < 0.5:
        drug, dose, unit = rng.choice(_MEDICATIONS)
        started = _office_time(rng, intake + timedelta(days=rng.randint(20, 90)))
        b.add(EventType.MEDICATION, started, f"Started {drug} {dose} {unit}", Importance.HIGH, author=primary,
              subtype="start", metadata={"drug": drug, "dose": dose, "unit": unit, "prescriber": "GP"})  # fmt: skip
        when = started
        for _ in range(rng.randint(1, 6 if dense else 3)):
            when = _office_time(rng, when + timedelta(days=rng.randint(40, 120)))
            if when >= end:
                break
            dose = dose * 2 if rng.random() < 0.5 else dose
            b.add(EventType.MEDICATION, when, f"Dose review: {drug} {dose} {unit}", Importance.NORMAL,
                  author=primary, subtype="review", metadata={"drug": drug, "dose": dose, "unit": unit})  # fmt: skip

    # Six-monthly plan reviews, milestones and the outside world.
    when = intake + timedelta(days=182)
    review = 1
    while when < end:
        b.add(EventType.TREATMENT_PLAN, _office_time(rng, when), f"Plan review {review}", Importance.NORMAL,
              author=primary, subtype="review", related=("treatment_plan", plan.id),
              metadata={"modality": modality, "goals_met": rng.randint(0, 4)})  # fmt: skip
        review += 1
        when += timedelta(days=rng.randint(170, 200))
    span_days = (end - intake).days
    for title, importance in rng.sample(_MILESTONES, rng.randint(2, 4)):
        b.add(EventType.MILESTONE, _office_time(rng, intake + timedelta(days=rng.randint(30, span_days))), title,
              importance, author=primary, subtype="progress")  # fmt: skip
    for _ in range(rng.randint(2, 10 if dense else 5)):
        title, importance, subtype = rng.choice(_EXTERNAL)
        b.add(EventType.EXTERNAL_EVENT, intake + timedelta(days=rng.randint(0, span_days), hours=rng.randint(0, 23)),
              title, importance, author=None, subtype=subtype, metadata={"source": "referral letter"})  # fmt: skip
    for event_type, title, importance, subtype in _OCCASIONAL:
        if dense or rng.random() < 0.3:
            when = _office_time(rng, intake + timedelta(days=rng.randint(20, span_days)))
            b.add(event_type, when, title, importance, author=None if event_type is EventType.EXTERNAL_EVENT else primary,
                  subtype=subtype)  # fmt: skip
    # Every record shows every importance level at least once (a low-key note, a crisis call).
    b.add(EventType.NOTE, _office_time(rng, intake + timedelta(days=3)), "Administrative note", Importance.LOW,
          author=primary, subtype="admin")  # fmt: skip
    crisis = _office_time(rng, intake + timedelta(days=rng.randint(60, span_days)))
    if crisis < end:
        b.add(EventType.NOTE, crisis, "Crisis call: safety plan activated", Importance.CRITICAL, author=primary,
              subtype="risk_check", description="Patient called in crisis; safety plan followed, GP informed.",
              private=rng.random() < 0.3)  # fmt: skip
    return [event for event in b.events if event.event_date < end]


def generate_demo(
    seed: int = DEFAULT_SEED, patients: int = DEFAULT_PATIENTS, anchor: datetime = DEFAULT_ANCHOR
) -> DemoPractice:
    """Build the practice in memory; the same arguments always give the same practice."""
    if patients < 1:
        raise ValueError("the demo needs at least one patient")
    rng = random.Random(seed)

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    therapists = [DemoUser(new_id(), username, name, "therapist") for username, name in _THERAPISTS]
    supervisor = DemoUser(new_id(), _SUPERVISOR[0], _SUPERVISOR[1], "supervisor")
    staff = [DemoUser(new_id(), _ADMIN[0], _ADMIN[1], "admin"), DemoUser(new_id(), _QA[0], _QA[1], "qa")]
    clinicians = [*therapists, supervisor]
    names = [f"{first} {last}" for first in _FIRST for last in _LAST]
    rng.shuffle(names)
    patient_users = [
        DemoUser(new_id(), f"demo_patient_{index + 1:02d}", names[index % len(names)], "patient")
        for index in range(patients)
    ]

    care: list[tuple[uuid.UUID, uuid.UUID, bool]] = []
    events: list[DemoEvent] = []
    for index, patient in enumerate(patient_users):
        primary = clinicians[index % len(clinicians)]
        team = [primary.id]
        care.append((primary.id, patient.id, True))
        if index % 3 == 1:
            # A co-therapist: the "other therapist on the patient" of the privacy matrix.
            other = clinicians[(index + 1) % len(clinicians)]
            team.append(other.id)
            care.append((other.id, patient.id, True))
        if index % 5 == 4:
            # A former therapist, kept for history.
            former = therapists[(index + 2) % len(therapists)]
            if former.id not in team:
                care.append((former.id, patient.id, False))
        years = rng.uniform(2.0, 3.0)
        start = anchor - timedelta(days=int(365 * years))
        events.extend(_patient_history(rng, patient, team, start, anchor, dense=index == 0))

    supervisions = [
        (supervisor.id, therapists[0].id),
        (supervisor.id, therapists[1].id),
        (supervisor.id, therapists[2].id),
    ]
    users = [*clinicians, *staff, *patient_users]
    return DemoPractice(users, care, supervisions, events)


def summarise(practice: DemoPractice, credentials_path: Path | None = None) -> DemoSummary:
    per_type = Counter(event.event_type.value for event in practice.events)
    return DemoSummary(
        clinicians=sum(1 for user in practice.users if user.is_clinician),
        patients=len(practice.by_role("patient")),
        events=len(practice.events),
        private_events=sum(1 for event in practice.events if event.is_private),
        events_per_type=dict(sorted(per_type.items())),
        credentials_path=credentials_path,
    )


def scram_verifier(password: str, *, iterations: int = 4096, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores, computed here so no plain password reaches the server.

    Format from PostgreSQL's ``scram_build_secret``:
    ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``.
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _ensure_login_roles(cursor: Any, clinicians: Iterable[DemoUser]) -> dict[str, str]:
    """Create or re-password one LOGIN role per clinician, in its group role; return the passwords."""
    cursor.execute(
        "SELECT rolname FROM pg_roles WHERE rolname LIKE 'caseline\\_%' OR rolname LIKE 'demo\\_%'"
    )
    existing = {row[0] for row in cursor.fetchall()}
    for group in GROUP_ROLES.values():
        if group not in existing:
            cursor.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))
    passwords: dict[str, str] = {}
    for user in clinicians:
        password = secrets.token_urlsafe(15)
        passwords[user.username] = password
        verb = "ALTER" if user.username in existing else "CREATE"
        cursor.execute(
            sql.SQL(
                verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD {}"
            ).format(sql.Identifier(user.username), sql.Literal(scram_verifier(password)))
        )
        cursor.execute(
            sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(GROUP_ROLES[user.role]), sql.Identifier(user.username)
            )
        )
    return passwords


def write_demo(conn: sa.Connection, practice: DemoPractice) -> dict[str, str]:
    """Replace the demo rows with ``practice`` inside the caller's transaction; return login passwords.

    Rows go in through COPY: the dense patient alone is ~1,500 events and the
    whole practice loads in well under a second.
    """
    purge_users(conn, r"username LIKE 'demo\_%'")
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        passwords = _ensure_login_roles(cursor, (user for user in practice.users if user.is_clinician))
        with cursor.copy("COPY users (id, username, display_name, role) FROM STDIN") as copy:
            for user in practice.users:
                copy.write_row((user.id, user.username, user.display_name, user.role))
        with cursor.copy("COPY care_assignments (therapist_id, patient_id, active) FROM STDIN") as copy:
            for row in practice.care_assignments:
                copy.write_row(row)
        with cursor.copy("COPY supervisions (supervisor_id, therapist_id) FROM STDIN") as copy:
            for link in practice.supervisions:
                copy.write_row(link)
        columns = ", ".join('"metadata"' if name == "metadata" else name for name in EVENT_COLUMNS)
        with cursor.copy(f"COPY timeline_events ({columns}) FROM STDIN") as copy:
            for event in practice.events:
                copy.write_row(
                    (
                        event.id,
                        event.patient_id,
                        event.therapist_id,
                        event.event_type.value,
                        event.event_subtype,
                        event.event_date,
                        event.title,
                        event.description,
                        Jsonb(event.metadata) if event.metadata is not None else None,
                        event.related_entity_type,
                        event.related_entity_id,
                        event.importance.db_value,
                        event.is_private,
                        event.created_at,
                    )
                )
    return passwords


def write_credentials(path: Path, practice: DemoPractice, passwords: dict[str, str]) -> None:
    """Write the demo logins to a file only its owner can read (created 0600, replaced atomically)."""
    entries = [
        {"username": user.username, "display_name": user.display_name, "role": user.role,
         "password": passwords[user.username]}
        for user in practice.users
        if user.username in passwords
    ]  # fmt: skip
    payload = {
        "about": "Logins of the fictional Caseline demo practice. Each is a PostgreSQL role.",
        "users": entries,
    }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2)
        handle.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_credentials(home: Path) -> dict[str, str]:
    """Username -> password of the demo logins, or empty when the demo was never loaded here."""
    path = home / CREDENTIALS_FILE_NAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {entry["username"]: entry["password"] for entry in data.get("users", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        log.warning("the demo accounts file cannot be read; no demo logins from it")
        return {}


def load_demo(
    engine: sa.Engine,
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    patients: int = DEFAULT_PATIENTS,
    anchor: datetime = DEFAULT_ANCHOR,
) -> DemoSummary:
    """Generate and (re)load the demo practice in one transaction, then write the credentials file."""
    practice = generate_demo(seed, patients, anchor)
    with engine.begin() as conn:
        passwords = write_demo(conn, practice)
    path = settings.home / CREDENTIALS_FILE_NAME
    write_credentials(path, practice, passwords)
    return summarise(practice, path)


__all__ = [
    "DEFAULT_ANCHOR",
    "DemoPractice",
    "DemoSummary",
    "generate_demo",
    "load_demo",
    "read_credentials",
    "scram_verifier",
    "write_demo",
]
