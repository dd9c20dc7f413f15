"""Whose events a FHIR file holds: its patients found again or created, its authors if Caseline knows them.

Patients become users with role ``patient``, found again on re-import by the
Caseline id an export carries, by the username derived from the FHIR id, or by
the FHIR id itself; practitioners become an event's author only when one of
their identifiers is a Caseline clinician's (``user_identifiers``, or the
Caseline user id an export carries).  An unknown practitioner leaves the event
without an author rather than guessing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from viewer.fhir.mapping import MappedEvent
from viewer.fhir.people import PatientInfo, caseline_user, patient_username
from viewer.fhir.reader import FhirInputError


class DanglingReference(FhirInputError):
    """A reference to a patient neither the file nor the database holds (yet: another file may)."""


class Unknown:
    """Who wrote an event is not known from this run (as opposed to known to be nobody here)."""


UNKNOWN_AUTHOR = Unknown()


def authors_of(
    conn: sa.Connection, practitioners: dict[str, list[tuple[str, str]]]
) -> Callable[[MappedEvent], uuid.UUID | Unknown | None]:
    """Who wrote an event: a Caseline clinician known by one of its practitioners' identifiers.

    A Caseline export names its authors by Caseline user id; any other identifier (an
    NPI, or a Caseline user id from another database) counts when ``user_identifiers``
    holds it.
    """
    pairs = sorted({pair for found in practitioners.values() for pair in found})
    user_ids = sorted({u for found in practitioners.values() if (u := caseline_user(found))}, key=str)
    known: dict[tuple[str, str], uuid.UUID] = {}
    clinicians: set[uuid.UUID] = set()
    if pairs:
        for match in conn.execute(
            sa.text(
                "SELECT i.system, i.value, i.user_id FROM user_identifiers i JOIN users u ON u.id = i.user_id "
                "WHERE u.role IN ('therapist', 'supervisor') AND (i.system, i.value) IN "
                "(SELECT * FROM unnest(CAST(:s AS text[]), CAST(:v AS text[])))"
            ),
            {"s": [p[0] for p in pairs], "v": [p[1] for p in pairs]},
        ):
            known[(match.system, match.value)] = match.user_id
    if user_ids:
        clinicians = set(
            conn.execute(
                sa.text("SELECT id FROM users WHERE id = ANY(:i) AND role IN ('therapist', 'supervisor')"),
                {"i": user_ids},
            ).scalars()
        )

    def author(event: MappedEvent) -> uuid.UUID | Unknown | None:
        """The author, None for a practitioner Caseline does not know, or UNKNOWN_AUTHOR
        when no file of the run described the practitioners (an event file imported alone)."""
        described = False
        for ref in event.practitioner_refs:
            found = practitioners.get(ref)
            if found is None:
                continue
            described = True
            user = caseline_user(found)
            if user in clinicians:
                return user
            for pair in found:
                if pair in known:
                    return known[pair]
        return UNKNOWN_AUTHOR if event.practitioner_refs and not described else None

    return author


def as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def resolve_patients(
    conn: sa.Connection,
    path: Path,
    patients: dict[str, PatientInfo],
    wanted: set[str],
    first_entry: Callable[[str], int],
) -> tuple[dict[str, uuid.UUID], int]:
    """The Caseline user of each FHIR patient id: found again, or created from the file's Patient.

    In order: the Caseline user id a Caseline export names; the username derived from
    the FHIR id (an earlier import); the FHIR id itself when it is a Caseline
    patient's id (an NDJSON file whose Patient an earlier file brought).  A new
    patient from a Caseline export keeps its id (and its username, if free here).
    """
    usernames = {p.username for p in patients.values() if p.username}
    usernames |= {patient_username(fhir_id) for fhir_id in wanted}
    ids = {p.caseline_id for p in patients.values() if p.caseline_id}
    ids |= {u for fhir_id in wanted if (u := as_uuid(fhir_id)) is not None}
    roles: dict[uuid.UUID, str] = {}
    by_username: dict[str, tuple[uuid.UUID, str]] = {}
    for row in conn.execute(
        sa.text("SELECT id, username, role FROM users WHERE username = ANY(:u) OR id = ANY(:i)"),
        {"u": sorted(usernames), "i": sorted(ids, key=str)},
    ):
        roles[row.id] = row.role
        by_username[row.username] = (row.id, row.role)
    patient_ids: dict[str, uuid.UUID] = {}
    created = 0
    for fhir_id in sorted(wanted):
        info = patients.get(fhir_id)
        found: uuid.UUID | None = None
        if info is not None and info.caseline_id is not None and info.caseline_id in roles:
            if roles[info.caseline_id] != "patient":
                raise FhirInputError(
                    path, "Patient identifier names a Caseline user who is not a patient", info.index
                )
            found = info.caseline_id
        if found is None:
            derived = by_username.get(patient_username(fhir_id))
            if derived is not None and derived[1] == "patient":
                found = derived[0]
        if found is None and (as_id := as_uuid(fhir_id)) is not None and roles.get(as_id) == "patient":
            found = as_id
        if found is not None:
            patient_ids[fhir_id] = found
            if info is not None:
                conn.execute(
                    sa.text("UPDATE users SET display_name = :d WHERE id = :i AND display_name <> :d"),
                    {"d": info.name, "i": found},
                )
        elif info is not None:
            patient_ids[fhir_id] = _create_patient(conn, info, by_username, roles)
            created += 1
        else:
            raise DanglingReference(
                path,
                "dangling reference in subject: no such Patient in the file or in Caseline",
                first_entry(fhir_id),
            )
    return patient_ids, created


def _create_patient(
    conn: sa.Connection,
    info: PatientInfo,
    by_username: dict[str, tuple[uuid.UUID, str]],
    roles: dict[uuid.UUID, str],
) -> uuid.UUID:
    username = info.username if info.username and info.username not in by_username else info.derived_username
    if info.caseline_id is not None and info.caseline_id not in roles:
        conn.execute(
            sa.text("INSERT INTO users (id, username, display_name, role) VALUES (:i, :u, :d, 'patient')"),
            {"i": info.caseline_id, "u": username, "d": info.name},
        )
        created = info.caseline_id
    else:
        created = conn.execute(
            sa.text(
                "INSERT INTO users (username, display_name, role) VALUES (:u, :d, 'patient') RETURNING id"
            ),
            {"u": username, "d": info.name},
        ).scalar_one()
    by_username[username] = (created, "patient")
    roles[created] = "patient"
    return created
