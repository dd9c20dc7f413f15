"""FHIR import on real PostgreSQL: the ten sample bundles, idempotency, updates, bad input, fuzzing.

The samples are read in place from ``../shared/fhir-samples``; bad and
mutated variants are written to ``tmp_path`` only.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED
from tests.factories import add_user
from viewer.fhir import reader
from viewer.fhir.reader import FhirInputError
from viewer.services.audit import AuditKey
from viewer.services.fhir_import import import_file, patient_username

SAMPLES = SHARED / "fhir-samples"
TINY = SAMPLES / "1114198-bundle.json"
BUNDLES = sorted(SAMPLES.glob("*-bundle.json"))
KEY = AuditKey(bytes(range(32)))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    target = tmp_path / name
    target.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return target


def _expected_counts(bundle: dict[str, Any]) -> Counter[str]:
    """Counted from the bundle independently of the importer's mapping code."""
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    surveys = sum(
        1
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and any(
            c.get("code") == "survey"
            for cat in e["resource"].get("category", [])
            for c in cat.get("coding", [])
        )
    )
    return Counter(
        {
            "diagnosis": kinds["Condition"],
            "medication": kinds["MedicationRequest"] + kinds["MedicationAdministration"],
            "treatment_plan": kinds["CarePlan"],
            "assessment": surveys,
            "session+external_event": kinds["Encounter"]
            + kinds["Procedure"]
            + kinds["Immunization"]
            + kinds["DiagnosticReport"]
            + kinds["ImagingStudy"],
            "billing skipped": kinds["Claim"] + kinds["ExplanationOfBenefit"],
        }
    )


def _state(db: sa.Connection) -> tuple[Any, ...]:
    return tuple(
        db.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in ("users", "timeline_events", "care_assignments", "audit_log")
    )


@pytest.mark.parametrize("path", BUNDLES, ids=[p.name.split("-")[0] for p in BUNDLES])
def test_each_sample_imports_with_the_counts_the_bundle_implies(db: sa.Connection, path: Path) -> None:
    summary = import_file(db, KEY, path)
    bundle = _load(path)
    patient_id = db.execute(
        sa.text("SELECT id FROM users WHERE username = :u"),
        {
            "u": patient_username(
                next(
                    e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
                )
            )
        },
    ).scalar_one()
    stored = Counter(
        dict(
            db.execute(
                sa.text("SELECT event_type, count(*) FROM timeline_events WHERE patient_id = :p GROUP BY 1"),
                {"p": patient_id},
            ).all()
        )
    )
    found = Counter(
        {
            "diagnosis": stored["diagnosis"],
            "medication": stored["medication"],
            "treatment_plan": stored["treatment_plan"],
            "assessment": stored["assessment"],
            "session+external_event": stored["session"] + stored["external_event"],
            "billing skipped": summary.skipped["Claim"] + summary.skipped["ExplanationOfBenefit"],
        }
    )
    assert found == _expected_counts(bundle)
    assert stored["note"] == stored["milestone"] == 0
    assert summary.created == sum(stored.values()) and summary.patients_created == 1
    # Every event keeps its source.
    unsourced = db.execute(
        sa.text(
            "SELECT count(*) FROM timeline_events WHERE patient_id = :p AND (related_entity_id IS NULL "
            "OR NOT metadata ? 'fhir' OR metadata->'fhir'->>'id' IS NULL)"
        ),
        {"p": patient_id},
    ).scalar_one()
    assert unsourced == 0


def test_mental_health_is_read_from_clinical_meaning(db: sa.Connection) -> None:
    import_file(db, KEY, SAMPLES / "877077-bundle.json")  # major depression
    import_file(db, KEY, SAMPLES / "1113527-bundle.json")  # a drug overdose
    rows = db.execute(
        sa.text(
            "SELECT title, event_type, importance FROM timeline_events WHERE event_type IN ('diagnosis', 'session')"
        )
    ).all()
    by_title = {title: (kind, importance) for title, kind, importance in rows}
    assert by_title["Drug overdose"] == ("diagnosis", "critical")
    assert any(t.startswith("Major depress") and v == ("diagnosis", "high") for t, v in by_title.items())
    assert any("Psychiatric" in t and kind == "session" for t, (kind, _) in by_title.items())


def test_importing_twice_changes_nothing_and_a_changed_resource_updates_its_event(
    db: sa.Connection, tmp_path: Path
) -> None:
    first = import_file(db, KEY, TINY)
    snapshot = db.execute(sa.text("SELECT id, row_version, title FROM timeline_events ORDER BY id")).all()
    again = import_file(db, KEY, TINY)
    assert (again.created, again.updated, again.unchanged, again.patients_created) == (0, 0, first.created, 0)
    assert (
        db.execute(sa.text("SELECT id, row_version, title FROM timeline_events ORDER BY id")).all()
        == snapshot
    )
    bundle = _load(TINY)
    encounter = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter")
    encounter["type"][0]["text"] = "Follow-up visit, renamed at the source"
    changed = import_file(db, KEY, _write(tmp_path, "changed.json", bundle))
    assert (changed.created, changed.updated) == (0, 1)
    row = db.execute(
        sa.text("SELECT title, row_version FROM timeline_events WHERE related_entity_id = :i"),
        {"i": uuid.UUID(encounter["id"])},
    ).one()
    assert tuple(row) == ("Follow-up visit, renamed at the source", 2)


def test_a_practitioner_known_by_identifier_becomes_the_author(db: sa.Connection) -> None:
    bundle = _load(TINY)
    practitioner = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner"
    )
    npi = practitioner["identifier"][0]
    therapist = add_user(db, "therapist")
    db.execute(
        sa.text("INSERT INTO user_identifiers (system, value, user_id) VALUES (:s, :v, :u)"),
        {"s": npi["system"], "v": npi["value"], "u": therapist},
    )
    import_file(db, KEY, TINY)
    encounter = db.execute(
        sa.text("SELECT therapist_id FROM timeline_events WHERE related_entity_type = 'Encounter'")
    ).scalar_one()
    assert encounter == therapist


def _entry(bundle: dict[str, Any], kind: str) -> tuple[int, dict[str, Any]]:
    return next(
        (i, e["resource"]) for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == kind
    )


def _broken(case: str, tmp_path: Path) -> tuple[Path, int | None, str]:
    bundle = _load(TINY)
    if case == "not json":
        return _write(tmp_path, "bad.json", '{"resourceType": "Bundle", "entry": ['), None, "not JSON"
    if case == "wrong resourceType":
        return (
            _write(tmp_path, "bad.json", {"resourceType": "Patient", "id": "x"}),
            None,
            "wrong resourceType",
        )
    if case == "missing field":
        index, encounter = _entry(bundle, "Encounter")
        del encounter["period"]
        return _write(tmp_path, "bad.json", bundle), index, "missing required field period.start"
    if case == "dangling reference":
        index, encounter = _entry(bundle, "Encounter")
        encounter["subject"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
        return _write(tmp_path, "bad.json", bundle), index, "dangling reference"
    if case == "unparseable date":
        index, immunization = _entry(bundle, "Immunization")
        immunization["occurrenceDateTime"] = "yesterday-ish"
        return _write(tmp_path, "bad.json", bundle), index, "unparseable date in occurrenceDateTime"
    if case == "too deep":
        index, encounter = _entry(bundle, "Encounter")
        nested: Any = "bottom"
        for _ in range(reader.MAX_DEPTH + 5):
            nested = {"n": nested}
        encounter["extension"] = nested
        return _write(tmp_path, "bad.json", bundle), None, "nested deeper than"
    if case == "way too deep":
        return _write(tmp_path, "bad.json", "[" * 200_000 + "]" * 200_000), None, "nested deeper than"
    if case == "missing resource":
        del bundle["entry"][3]["resource"]
        return _write(tmp_path, "bad.json", bundle), 3, "missing required field resource"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "not json",
        "wrong resourceType",
        "missing field",
        "dangling reference",
        "unparseable date",
        "too deep",
        "way too deep",
        "missing resource",
    ],
)
def test_a_bad_file_is_named_and_leaves_the_database_exactly_as_before(
    db: sa.Connection, tmp_path: Path, case: str
) -> None:
    path, index, message = _broken(case, tmp_path)
    before = _state(db)
    with pytest.raises(FhirInputError) as refused, db.begin_nested():
        import_file(db, KEY, path)
    assert refused.value.path == path and refused.value.entry == index
    assert message in str(refused.value) and str(refused.value).startswith("bad.json")
    assert _state(db) == before


def test_a_file_too_large_to_hold_is_refused_with_advice(
    db: sa.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "MAX_JSON_BYTES", 1024)
    before = _state(db)
    with pytest.raises(FhirInputError, match="export it as NDJSON"), db.begin_nested():
        import_file(db, KEY, TINY)
    assert _state(db) == before


def test_ndjson_bulk_export_files_import_and_resolve_patients_already_imported(
    db: sa.Connection, tmp_path: Path
) -> None:
    bundle = _load(TINY)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        resource = copy.deepcopy(entry["resource"])
        for field in ("subject", "patient"):
            if field in resource:
                resource[field]["reference"] = "Patient/" + resource[field]["reference"].removeprefix(
                    "urn:uuid:"
                )
        by_kind.setdefault(resource["resourceType"], []).append(resource)
    encounters = _write(
        tmp_path, "Encounter.ndjson", "\n".join(json.dumps(r) for r in by_kind["Encounter"]) + "\n"
    )
    before = _state(db)
    with (
        pytest.raises(FhirInputError, match=r"Encounter\.ndjson, entry 1: dangling reference"),
        db.begin_nested(),
    ):
        import_file(db, KEY, encounters)  # the patient is not known yet
    assert _state(db) == before
    patients = _write(tmp_path, "Patient.ndjson", json.dumps(by_kind["Patient"][0]) + "\n\n")
    assert import_file(db, KEY, patients).patients_created == 1
    summary = import_file(db, KEY, encounters)
    assert summary.created == len(by_kind["Encounter"])
    broken = _write(tmp_path, "Immunization.ndjson", json.dumps(by_kind["Immunization"][0]) + "\n{oops\n")
    with pytest.raises(FhirInputError, match=r"Immunization\.ndjson, entry 2: not JSON"), db.begin_nested():
        import_file(db, KEY, broken)


json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
)
@given(data=st.data())
def test_mutated_bundles_never_crash_and_never_half_write(
    db: sa.Connection, tmp_path: Path, data: st.DataObject
) -> None:
    bundle = _load(TINY)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="mutations")):
        entry = data.draw(st.sampled_from(bundle["entry"]), label="entry")
        resource = entry["resource"]
        nested = [k for k, v in resource.items() if isinstance(v, dict) and v]
        if nested and data.draw(st.booleans(), label="deeper?"):  # e.g. period.start, subject.reference
            resource = resource[data.draw(st.sampled_from(sorted(nested)), label="into")]
        target = data.draw(st.sampled_from(sorted(resource)), label="field")
        if data.draw(st.booleans(), label="delete?"):
            del resource[target]
        else:
            resource[target] = data.draw(json_value, label="value")
    path = _write(tmp_path, "mutated.json", bundle)
    before = _state(db)
    try:
        with db.begin_nested():
            import_file(db, KEY, path)
    except FhirInputError as refused:
        assert refused.path == path
        assert _state(db) == before


def test_a_big_ndjson_file_goes_in_batches_and_stays_all_or_nothing(
    db: sa.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import viewer.services.fhir_import as importer

    monkeypatch.setattr(importer, "BATCH_ENTRIES", 2)
    bundle = _load(TINY)
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    events = [r for r in resources if r["resourceType"] in ("Encounter", "Immunization", "DiagnosticReport")]
    for resource in events:
        field = "patient" if "patient" in resource else "subject"
        resource[field] = {"reference": f"Patient/{patient['id']}"}
    lines = [json.dumps(r) for r in [patient, *events]]
    good = _write(tmp_path, "mixed.ndjson", "\n".join(lines) + "\n")
    before = _state(db)
    broken = _write(
        tmp_path, "late-error.ndjson", "\n".join([*lines, '{"resourceType": "Encounter"}']) + "\n"
    )
    with (
        pytest.raises(FhirInputError, match=rf"late-error\.ndjson, entry {len(lines) + 1}: "),
        db.begin_nested(),
    ):
        import_file(db, KEY, broken)  # the earlier batches were written, then rolled back with the file
    assert _state(db) == before
    summary = import_file(db, KEY, good)
    assert (summary.patients_created, summary.created) == (1, len(events))
    # A bundle split into batches still resolves references to entries of earlier batches.
    whole = import_file(db, KEY, TINY)
    expected = _expected_counts(_load(TINY))
    assert whole.events == sum(expected.values()) - expected["billing skipped"]
    assert whole.unchanged == len(events)  # the NDJSON import above brought the same resources
    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 64)
    with pytest.raises(FhirInputError, match=r"mixed\.ndjson, entry 1: line is longer"), db.begin_nested():
        import_file(db, KEY, good)
