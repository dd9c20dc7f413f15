"""The FHIR import benchmark: a large synthetic bundle through the importer, against row-by-row ORM inserts.

The bundle is one synthetic patient with ``events`` resources spread over the
mapped kinds (encounters, conditions, medication requests, care plans, survey
observations with PHQ-9 scores, procedures, immunizations), written to a
temporary file and imported exactly as ``main.py import-fhir`` would, then
imported again unchanged.  The baseline does the same work the row-by-row way:
it reads and parses a bundle of the first ``orm_events`` resources from its
own file, maps each with the same code, checks its text and metadata, and
inserts one ORM object per event with a flush each, in the same run on the
same server.  The patients are purged afterwards.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from viewer.db.models import TimelineEvent
from viewer.domain import SHORT_TEXT_MAX, TITLE_MAX, check_text, to_storage, validate_metadata
from viewer.fhir.mapping import MappedEvent, map_resource
from viewer.services.fhir_import import import_file, patient_username
from viewer.services.purge import purge_user

_KINDS = (
    "Encounter",
    "Condition",
    "MedicationRequest",
    "CarePlan",
    "Observation",
    "Procedure",
    "Immunization",
)


def synthetic_bundle(events: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    patient = str(uuid.UUID(int=rng.getrandbits(128)))
    ref = {"reference": f"urn:uuid:{patient}"}
    start = datetime(2015, 1, 1, tzinfo=UTC)
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"urn:uuid:{patient}",
         "resource": {"resourceType": "Patient", "id": patient, "name": [{"given": ["Bench"], "family": "Import"}]}}
    ]  # fmt: skip
    for n in range(events):
        kind = _KINDS[n % len(_KINDS)]
        rid = str(uuid.UUID(int=rng.getrandbits(128)))
        when = (start + timedelta(minutes=rng.randrange(0, 10 * 365 * 24 * 60))).isoformat()
        concept = {"coding": [{"system": "http://snomed.info/sct", "code": str(100000 + n % 977),
                               "display": f"Synthetic {kind.lower()} {n % 977}"}]}  # fmt: skip
        resource: dict[str, Any] = {"resourceType": kind, "id": rid, "subject": ref}
        if kind == "Encounter":
            resource.update({"class": {"code": "AMB"}, "type": [concept], "period": {"start": when}})
        elif kind == "Condition":
            resource.update(code=concept, onsetDateTime=when)
        elif kind == "MedicationRequest":
            resource.update(medicationCodeableConcept=concept, authoredOn=when)
        elif kind == "CarePlan":
            resource.update(category=[concept], period={"start": when})
        elif kind == "Observation":
            resource.update(category=[{"coding": [{"code": "survey"}]}], effectiveDateTime=when,
                            code={"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
                            valueQuantity={"value": rng.randrange(0, 28)})  # fmt: skip
        elif kind == "Procedure":
            resource.update(code=concept, performedDateTime=when)
        else:
            resource.update(vaccineCode=concept, occurrenceDateTime=when, patient=ref)
            del resource["subject"]
        entries.append({"fullUrl": f"urn:uuid:{rid}", "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def default_import_events(events: int) -> int:
    """The bundle size when ``--import-events`` is not given: a tenth of ``--events``, 5,000 to 100,000.

    So ``bench --events 20000`` spends seconds, not most of its run, on the import.
    """
    return max(5_000, min(100_000, events // 10))


def _orm_baseline(conn: sa.Connection, bundle: dict[str, Any], limit: int, folder: Path) -> float:
    """Events per second reading, parsing, mapping and checking as the importer does, then
    inserting one ORM object at a time."""
    patient_id = conn.execute(
        sa.text(
            "INSERT INTO users (username, display_name, role) VALUES (:u, 'Bench ORM', 'patient') RETURNING id"
        ),
        {"u": f"bench_orm_{uuid.uuid4().hex[:12]}"},
    ).scalar_one()
    path = folder / "orm-bundle.json"
    path.write_text(json.dumps({**bundle, "entry": bundle["entry"][: limit + 1]}), encoding="utf-8")
    session = Session(bind=conn)
    began = time.perf_counter()
    resources = [e["resource"] for e in json.loads(path.read_bytes())["entry"][1:]]
    for resource in resources:
        event = map_resource(resource)
        assert isinstance(event, MappedEvent)
        check_text("title", event.title, TITLE_MAX, required=True)
        check_text("event_subtype", event.subtype, SHORT_TEXT_MAX, required=False)
        validate_metadata(event.metadata)
        kind, related = event.related_entity
        session.add(
            TimelineEvent(
                patient_id=patient_id, event_type=event.event_type.value, event_subtype=event.subtype,
                event_date=to_storage(event.when), title=event.title, description=event.description,
                event_metadata=event.metadata, related_entity_type=kind,
                related_entity_id=uuid.UUID(related) if related else None,
                importance=event.importance.db_value, is_private=False,
            )
        )  # fmt: skip
        session.flush()
    took = time.perf_counter() - began
    session.close()
    purge_user(conn, patient_id)
    return len(resources) / took


def bench_import(
    engine: sa.Engine, events: int = 200_000, orm_events: int = 5_000, seed: int = 7
) -> dict[str, Any]:
    bundle = synthetic_bundle(events, seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench-bundle.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
        size = path.stat().st_size
        began = time.perf_counter()
        with engine.begin() as conn:
            summary = import_file(conn, None, path)
        took = time.perf_counter() - began
        began = time.perf_counter()
        with engine.begin() as conn:
            again = import_file(conn, None, path)
        reimport = time.perf_counter() - began
        with engine.begin() as conn:
            orm_rate = _orm_baseline(conn, bundle, min(orm_events, events), Path(folder))
    with engine.begin() as conn:
        patient = conn.execute(
            sa.text("SELECT id FROM users WHERE username = :u"),
            {"u": patient_username(bundle["entry"][0]["resource"]["id"])},
        ).scalar_one()
        purge_user(conn, patient)
    rate = summary.created / took
    return {
        "import_events": summary.created,
        "import_file_mb": round(size / 2**20, 1),
        "import_s": round(took, 3),
        "import_events_per_s": round(rate),
        "reimport_unchanged_s": round(reimport, 3),
        "reimport_unchanged": again.unchanged,
        "reimport_events_per_s": round(again.unchanged / reimport),
        "orm_import_events_per_s": round(orm_rate),  # read, parse, map, check, then ORM row by row
        "import_speedup_vs_orm": round(rate / orm_rate, 1),
    }
