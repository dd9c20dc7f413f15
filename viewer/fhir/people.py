"""Patients and practitioners in FHIR files: who they are, and how they are found again.

A FHIR patient becomes a Caseline user with role patient.  An ordinary FHIR
patient's username is derived from its FHIR id (never its name: usernames
appear in logs), so a re-import finds it again.  A patient from a Caseline
export carries its Caseline user id and username as identifiers
(:data:`~viewer.fhir.mapping.CASELINE_USER`), so importing the export where it
came from finds the very same user, and importing it elsewhere creates the
user with that id, so the next import finds it too.  Practitioners are known
by their identifiers only; whether one is a Caseline user is the importer's
question to the database.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from viewer.domain import TITLE_MAX, ValidationError, check_text
from viewer.fhir.mapping import CASELINE_USER, CASELINE_USERNAME, MappingError, resource_id

IDENTIFIER_MAX = 200  # user_identifiers.system and .value
USERNAME_MAX = 63
_DIGITS = re.compile(r"\d+$")
_USERNAME = re.compile(r"^[a-z_][a-z0-9_.-]*$")
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([^/]+)(?:/_history/[^/]+)?$")


@dataclass(frozen=True)
class PatientInfo:
    """What the importer needs of a Patient resource (checked: every string may be stored)."""

    index: int
    fhir_id: str
    name: str
    caseline_id: uuid.UUID | None = None  # from a Caseline export
    username: str | None = None  # from a Caseline export

    @property
    def derived_username(self) -> str:
        return patient_username(self.fhir_id)


def patient_username(fhir_id: str) -> str:
    """A stable username for an imported patient (never their name: usernames appear in logs)."""
    return "fhir_" + hashlib.sha256(fhir_id.encode("utf-8")).hexdigest()[:24]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def display_name(resource: dict[str, Any]) -> str:
    """The name shown for a patient: the official name's text, else given and family names."""
    names = resource.get("name")
    if isinstance(names, list) and names and isinstance(names[0], dict):
        chosen = next((n for n in names if isinstance(n, dict) and n.get("use") == "official"), names[0])
        if isinstance(chosen.get("text"), str) and chosen["text"].strip():
            return str(chosen["text"]).strip()[:TITLE_MAX]
        given = [g for g in _as_list(chosen.get("given")) if isinstance(g, str)]
        family = chosen.get("family") if isinstance(chosen.get("family"), str) else ""
        # Synthea numbers its made-up names ("Blair400"); real names have no trailing digits.
        parts = [_DIGITS.sub("", p) for p in [*given, family] if p]
        text = " ".join(p for p in parts if p).strip()
        if text:
            return text[:TITLE_MAX]
    return f"FHIR patient {str(resource.get('id', ''))[:36]}"


def identifiers(resource: dict[str, Any]) -> list[tuple[str, str]]:
    """The (system, value) identifiers of a resource; raises MappingError if one cannot be stored."""
    found = [
        (i["system"], i["value"])
        for i in _as_list(resource.get("identifier"))
        if isinstance(i, dict) and isinstance(i.get("system"), str) and isinstance(i.get("value"), str)
    ]
    try:  # they become query parameters: text PostgreSQL can hold
        for system, value in found:
            check_text("identifier", system, IDENTIFIER_MAX, required=False)
            check_text("identifier", value, IDENTIFIER_MAX, required=False)
    except ValidationError as exc:
        raise MappingError(f"{resource['resourceType']} {exc.field} {exc.message}") from None
    return found


def patient_info(resource: dict[str, Any], index: int) -> PatientInfo:
    """A Patient resource read for the importer; raises MappingError naming the bad field."""
    fhir_id = resource_id(resource)
    name = display_name(resource)
    try:
        check_text("Patient name", name, TITLE_MAX, required=True)
    except ValidationError as exc:
        raise MappingError(f"{exc.field} {exc.message}") from None
    own = dict(identifiers(resource))
    caseline_id = None
    if CASELINE_USER in own:
        try:
            caseline_id = uuid.UUID(own[CASELINE_USER])
        except ValueError:
            raise MappingError("Patient identifier of a Caseline user is not a user id") from None
    username = own.get(CASELINE_USERNAME)
    if username is not None and not (len(username) <= USERNAME_MAX and _USERNAME.match(username)):
        username = None  # not one Caseline would make: the derived one is used instead
    return PatientInfo(index, fhir_id, name, caseline_id, username)


def caseline_user(found: list[tuple[str, str]]) -> uuid.UUID | None:
    """The Caseline user id among a practitioner's identifiers (a Caseline export's authors)."""
    for system, value in found:
        if system == CASELINE_USER:
            try:
                return uuid.UUID(value)
            except ValueError:
                return None
    return None


def patient_of(reference: str, known: dict[str, str]) -> str | None:
    """The FHIR id of the patient a reference names: one of this file, else one imported before.

    ``known`` maps the references of the file's own Patients (fullUrl, ``Patient/id``,
    ``urn:uuid:id``) to their ids.  Otherwise ``urn:uuid:ID``, ``Patient/ID`` and
    ``https://server/fhir/Patient/ID`` name patient ``ID``, which the database must
    already hold (an NDJSON bulk export keeps its patients in another file).
    """
    found = known.get(reference)
    if found is not None:
        return found
    if reference.startswith("urn:uuid:"):
        return reference[len("urn:uuid:") :] or None
    match = _PATIENT_REFERENCE.search(reference)
    return match.group(1) if match else None
