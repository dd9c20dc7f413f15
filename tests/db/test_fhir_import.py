"""FHIR import on real PostgreSQL: the ten sample bundles, idempotency, updates, bad input, fuzzing.

The samples are read in place from ``../shared/fhir-samples``; bad and
mutated variants are written to ``tmp_path`` only.
"""

from __future__ import annotations

import copy
import gc
import json
import re
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED
from tests.factories import add_user
from viewer.db import migrate
from viewer.db.engine import make_engine
from viewer.fhir import reader
from viewer.fhir.mapping import EVENT_EXTENSION
from viewer.fhir.reader import FhirInputError
from viewer.services.audit import AuditKey
from viewer.services.fhir_import import ImportProgress, import_file, import_paths, patient_username

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
    # The emergency admission for the overdose is a crisis session, not a routine one.
    assert by_title["Emergency Room Admission"] == ("session", "critical")


def test_neurocognitive_disorders_read_alike(db: sa.Connection) -> None:
    import_file(db, KEY, SAMPLES / "1009582-bundle.json")  # Alzheimer's, and a dementia care plan
    rows = db.execute(
        sa.text(
            "SELECT title, importance FROM timeline_events "
            "WHERE title ILIKE '%alzheimer%' OR title ILIKE '%dementia%' OR title ILIKE '%demential%'"
        )
    ).all()
    assert {title for title, _ in rows} >= {
        "Alzheimer's disease (disorder)",
        "Care plan: Demential management",
    }
    assert {importance for _, importance in rows} == {"high"}


def _surveys(scores: dict[str, list[float]]) -> dict[str, Any]:
    """A bundle of questionnaire results built here (the samples hold no PHQ-9 or GAD-7)."""
    patient = str(uuid.UUID(int=9))
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"urn:uuid:{patient}", "resource": {"resourceType": "Patient", "id": patient}}
    ]
    for loinc, values in scores.items():
        for n, value in enumerate(values):
            entries.append({"resource": {
                "resourceType": "Observation", "id": f"{loinc}-{n}", "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "survey"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
                "subject": {"reference": f"urn:uuid:{patient}"},
                "effectiveDateTime": f"2024-01-{n + 1:02d}T09:00:00Z",
                "valueQuantity": {"value": value},
            }})  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_questionnaire_scores_are_stored_with_their_severity_band(db: sa.Connection, tmp_path: Path) -> None:
    scores = {
        "44261-6": [0, 4, 5, 9, 10, 14, 15, 19, 20, 27],  # PHQ-9
        "70274-6": [4, 5, 9, 10, 14, 15, 21],  # GAD-7
        "72109-2": [3, 4],  # AUDIT-C
    }
    import_file(db, KEY, _write(tmp_path, "surveys.json", _surveys(scores)))
    stored = {
        (row.metadata["instrument"], row.metadata["score"]): (row.importance, row.metadata["band"], row.title)
        for row in db.execute(
            sa.text("SELECT importance, metadata, title FROM timeline_events WHERE event_type = 'assessment'")
        )
    }
    assert {score: v[0] for (name, score), v in stored.items() if name == "PHQ-9"} == {
        0: "low", 4: "low", 5: "normal", 9: "normal", 10: "high", 14: "high", 15: "high", 19: "high",
        20: "critical", 27: "critical",
    }  # fmt: skip
    assert {score: v[0] for (name, score), v in stored.items() if name == "GAD-7"} == {
        4: "low", 5: "normal", 9: "normal", 10: "high", 14: "high", 15: "critical", 21: "critical"
    }  # fmt: skip
    assert stored[("AUDIT-C", 3)][0] == "low" and stored[("AUDIT-C", 4)][0] == "high"
    assert stored[("PHQ-9", 20)][1:] == ("severe", "PHQ-9: 20 (severe)")


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


def test_a_reimport_compares_what_the_source_said_and_leaves_edits_made_here_alone(
    db: sa.Connection, tmp_path: Path
) -> None:
    import_file(db, KEY, TINY)
    digests = db.execute(
        sa.text("SELECT count(*), count(metadata->'fhir'->>'digest') FROM timeline_events")
    ).one()
    assert digests[0] == digests[1] > 0  # each imported event carries the digest of what it was made from
    db.execute(
        sa.text("UPDATE timeline_events SET title = 'Renamed here' WHERE related_entity_type = 'Encounter'")
    )
    assert import_file(db, KEY, TINY).updated == 0  # the source did not change: the clinic's edit stays
    assert (
        db.execute(
            sa.text("SELECT title FROM timeline_events WHERE related_entity_type = 'Encounter'")
        ).scalar_one()
        == "Renamed here"
    )
    # Events imported before digests existed are compared column by column: the edit shows there.
    db.execute(sa.text("UPDATE timeline_events SET metadata = metadata #- '{fhir,digest}'"))
    again = import_file(db, KEY, TINY)
    assert (again.updated, again.unchanged, again.created) == (1, digests[0] - 1, 0)


def test_a_problem_after_rows_were_streamed_leaves_nothing_and_the_collector_as_it_was(
    db: sa.Connection, tmp_path: Path
) -> None:
    bundle = _load(TINY)
    index, immunization = _entry(bundle, "Immunization")
    immunization["vaccineCode"]["text"] = "bad\x00title"  # found while COPY is already under way
    path = _write(tmp_path, "late.json", bundle)
    before = _state(db)
    for enabled in (True, False):
        gc.enable() if enabled else gc.disable()
        try:
            with (
                pytest.raises(
                    FhirInputError, match=rf"late\.json, entry {index}: title must not contain NUL"
                ),
                db.begin_nested(),
            ):
                import_file(db, KEY, path)
            assert gc.isenabled() is enabled
        finally:
            gc.enable()
    assert _state(db) == before
    import_file(db, KEY, TINY)  # the connection is fine afterwards
    assert gc.isenabled()


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
        return _write(tmp_path, "bad.json", bundle), index, "nested deeper than"
    if case == "way too deep":
        return _write(tmp_path, "bad.json", "[" * 200_000 + "]" * 200_000), None, "nested deeper than"
    if case == "way too deep in an entry":  # past what json.loads can recurse: found by a scan of the text
        text = json.dumps(bundle)
        index, _ = _entry(bundle, "Immunization")
        marker = '"resourceType": "Immunization"'
        deep = '"x": ' + "[" * 100_000 + "]" * 100_000 + ", "
        return _write(tmp_path, "bad.json", text.replace(marker, deep + marker)), index, "nested deeper than"
    if case == "conflicting repeat":
        first, encounter = _entry(bundle, "Encounter")
        again = copy.deepcopy(bundle["entry"][first])
        again["resource"]["type"][0]["text"] = "Something else"
        bundle["entry"].append(again)
        last = len(bundle["entry"]) - 1
        return (
            _write(tmp_path, "bad.json", bundle),
            last,
            f"entries {first} and {last} are the same Encounter",
        )
    if case == "conflicting patients":
        first, patient = _entry(bundle, "Patient")
        again = copy.deepcopy(bundle["entry"][first])
        again["resource"]["name"] = [{"text": "Somebody Else"}]
        bundle["entry"].insert(1, again)
        return _write(tmp_path, "bad.json", bundle), 1, "entries 0 and 1 are the same Patient"
    if case == "empty file":
        return _write(tmp_path, "bad.json", ""), None, "is empty"
    if case == "blank file":
        return _write(tmp_path, "bad.json", " \n\n "), None, "is empty"
    if case == "empty NDJSON":
        return _write(tmp_path, "bad.ndjson", "\n\n"), None, "is empty"
    if case == "missing resource":
        del bundle["entry"][3]["resource"]
        return _write(tmp_path, "bad.json", bundle), 3, "missing required field resource"
    if case in ("NaN score", "infinite score"):
        index, survey = _survey(bundle)
        survey["valueQuantity"] = {"value": float("nan") if case == "NaN score" else float("-inf")}
        return _write(tmp_path, "bad.json", bundle), index, "valueQuantity.value is not a finite number"
    if case == "deep extension text":
        text = "[" * 100_000 + "]" * 100_000  # JSON text inside a string: not seen by the file's depth check
        index = _add_caseline_event(bundle, text)
        return _write(tmp_path, "bad.json", bundle), index, "extension is nested deeper than"
    if case == "long related_entity_type":
        index = _add_caseline_event(
            bundle,
            json.dumps(
                {**CASELINE_FIELDS, "related_entity_type": "R" * 80, "related_entity_id": str(uuid.uuid4())}
            ),
        )
        return _write(tmp_path, "bad.json", bundle), index, "related_entity_type is 80 characters long"
    if case == "non-boolean is_private":
        index = _add_caseline_event(bundle, json.dumps({**CASELINE_FIELDS, "is_private": "no"}))
        return _write(tmp_path, "bad.json", bundle), index, "is_private that is not true or false"
    if case in ("patient name NUL", "patient name surrogate"):
        index, patient = _entry(bundle, "Patient")
        nul = case == "patient name NUL"
        patient["name"] = [{"text": "Bad\x00Name" if nul else "\ud800lone"}]
        problem = "must not contain NUL" if nul else "contains characters that are not valid Unicode"
        return _write(tmp_path, "bad.json", bundle), index, f"Patient name {problem}"
    if case == "id with a surrogate":
        index, immunization = _entry(bundle, "Immunization")
        immunization["id"] = "imm-\udfff"
        return (
            _write(tmp_path, "bad.json", bundle),
            index,
            "id contains characters that are not valid Unicode",
        )
    if case == "practitioner identifier NUL":
        index, practitioner = _entry(bundle, "Practitioner")
        practitioner["identifier"][0]["value"] = "99\x0099"
        return _write(tmp_path, "bad.json", bundle), index, "Practitioner identifier must not contain NUL"
    raise AssertionError(case)


CASELINE_FIELDS = {
    "event_type": "note",
    "importance": "normal",
    "event_date": "2020-01-01T00:00:00Z",
    "title": "A note from an export",
}


def _survey(bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return next(
        (i, e["resource"])
        for i, e in enumerate(bundle["entry"])
        if e["resource"]["resourceType"] == "Observation"
        and any(c.get("code") == "survey" for cat in e["resource"]["category"] for c in cat["coding"])
    )


def _add_caseline_event(bundle: dict[str, Any], value_string: str) -> int:
    """Append a resource that carries Caseline's timeline-event extension; returns its entry index."""
    _, patient = _entry(bundle, "Patient")
    bundle["entry"].append(
        {
            "resource": {
                "resourceType": "Basic",
                "id": str(uuid.uuid4()),
                "subject": {"reference": f"urn:uuid:{patient['id']}"},
                "extension": [{"url": EVENT_EXTENSION, "valueString": value_string}],
                "code": {"text": "note"},
            }
        }
    )
    return len(bundle["entry"]) - 1


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
        "way too deep in an entry",
        "conflicting repeat",
        "conflicting patients",
        "empty file",
        "blank file",
        "empty NDJSON",
        "missing resource",
        "NaN score",
        "infinite score",
        "deep extension text",
        "long related_entity_type",
        "non-boolean is_private",
        "patient name NUL",
        "patient name surrogate",
        "id with a surrogate",
        "practitioner identifier NUL",
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
    assert message in str(refused.value) and str(refused.value).startswith(path.name)
    assert _state(db) == before


def test_an_identical_repeat_is_accepted_and_counted(db: sa.Connection, tmp_path: Path) -> None:
    bundle = _load(TINY)
    index, _ = _entry(bundle, "Encounter")
    bundle["entry"] += [
        copy.deepcopy(bundle["entry"][index]),
        copy.deepcopy(bundle["entry"][0]),
    ]  # + the Patient
    summary = import_file(db, KEY, _write(tmp_path, "twice.json", bundle))
    expected = _expected_counts(_load(TINY))
    assert summary.created == sum(expected.values()) - expected["billing skipped"]
    assert summary.skipped["repeated entry (identical)"] == 2 and summary.patients_created == 1


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


# What hostile or broken exporters write: NaN and infinities (json reads them), huge numbers, NUL,
# lone surrogates, text longer than any column, nesting near and past the bounds.
_odd_text = st.text(
    alphabet=st.characters() | st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "😀"]), max_size=12
)
_hostile_text = st.text(
    alphabet=st.sampled_from(["a", " ", "\x00", "\ud800", "\udfff", "é", "😀"]), min_size=1, max_size=6
) | st.sampled_from([51, 65, 201, 1001]).map(lambda n: "x" * n)  # just past each column's limit
_number = st.one_of(
    st.just(float("nan")),
    st.sampled_from([float("inf"), float("-inf"), 2.0**53, 10**30, -0.0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
)
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | _odd_text
    | st.integers(min_value=40, max_value=3000).map(lambda n: "x" * n)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_odd_text, inner, max_size=3),
    max_leaves=6,
)


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"n": value}
    return value


any_value = json_value | st.integers(min_value=50, max_value=200).map(_nested)
_text_field = st.one_of(_hostile_text, _hostile_text, _hostile_text, json_value)  # mostly text, sometimes not
_caseline_hostile: dict[str, st.SearchStrategy[Any]] = {
    "event_type": st.sampled_from(["session", "assessment", "bogus"]) | json_value,
    "importance": st.sampled_from(["low", "critical", "CRITICAL"]) | json_value,
    "event_date": st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]) | json_value,
    "title": _text_field,
    "description": _text_field,
    "event_subtype": _text_field,
    "metadata": st.dictionaries(_odd_text, any_value | _number, max_size=3) | json_value,
    "is_private": st.booleans() | json_value,
    "related_entity_type": _text_field,
    "related_entity_id": st.uuids().map(str) | json_value,
}


@st.composite
def extension_text(draw: st.DrawFn) -> str:
    """A valid event with one or two fields made hostile (so the checks after the first get reached), or junk."""
    kind = draw(st.sampled_from(["event", "event", "event", "deep", "junk"]))
    if kind == "deep":
        n = draw(st.integers(min_value=10, max_value=20_000))
        return "[" * n + "]" * n
    if kind == "junk":
        return draw(_odd_text)
    fields = {**CASELINE_FIELDS, "related_entity_type": "Encounter", "related_entity_id": str(uuid.uuid4())}
    for name in draw(st.lists(st.sampled_from(sorted(_caseline_hostile)), max_size=2, unique=True)):
        fields[name] = draw(_caseline_hostile[name])
    return json.dumps(fields)


def _mutate(data: st.DataObject, bundle: dict[str, Any]) -> None:
    """One change somewhere in the bundle: a field at any depth, an extension, a patient's name."""
    entry = data.draw(st.sampled_from(bundle["entry"]), label="entry")
    how = data.draw(
        st.sampled_from(["field", "field", "extension", "extension", "name", "score", "duplicate"]),
        label="how",
    )
    if how == "extension":
        entry["resource"]["extension"] = [
            {"url": EVENT_EXTENSION, "valueString": data.draw(extension_text(), label="valueString")}
        ]
        return
    if how == "name":
        for item in bundle["entry"]:
            if item["resource"].get("resourceType") == "Patient":
                item["resource"]["name"] = [{"text": data.draw(_hostile_text | json_value, label="name")}]
        return
    if how == "score":
        for item in bundle["entry"]:
            if item["resource"].get("resourceType") == "Observation":
                item["resource"]["valueQuantity"] = {"value": data.draw(_number, label="score")}
        return
    if how == "duplicate":
        bundle["entry"].append(copy.deepcopy(entry))
        return
    node: Any = entry["resource"]
    while data.draw(st.booleans(), label="deeper?"):  # e.g. category[0].coding[0].code
        children = (
            [k for k, v in node.items() if isinstance(v, dict | list) and v]
            if isinstance(node, dict)
            else [i for i, v in enumerate(node) if isinstance(v, dict | list) and v]
        )
        if not children:
            break
        node = node[data.draw(st.sampled_from(children), label="into")]
    keys: list[Any] = sorted(node) if isinstance(node, dict) else list(range(len(node)))
    if isinstance(node, dict):
        keys.append(data.draw(st.sampled_from(["id", "text", "value", "display", "reference"]), label="new"))
    if not keys:
        return
    target = data.draw(st.sampled_from(keys), label="field")
    if data.draw(st.booleans(), label="delete?"):
        node.pop(target, None) if isinstance(node, dict) else node.pop(target)
    else:
        node[target] = data.draw(any_value | _hostile_text | _number, label="value")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_bundles_never_crash_and_never_half_write(
    db: sa.Connection, tmp_path: Path, data: st.DataObject
) -> None:
    bundle = _load(TINY)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="mutations")):
        _mutate(data, bundle)
    path = _write(tmp_path, "mutated.json", bundle)
    before = _state(db)
    try:
        with db.begin_nested():
            import_file(db, KEY, path)
    except FhirInputError as refused:
        assert refused.path == path
        assert _state(db) == before


def _spots(bundle: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Places whose values reach a column, a query or a number: (container, key) for each."""
    _, patient = _entry(bundle, "Patient")
    _, practitioner = _entry(bundle, "Practitioner")
    _, encounter = _entry(bundle, "Encounter")
    _, immunization = _entry(bundle, "Immunization")
    _, survey = _survey(bundle)
    survey["valueQuantity"] = {"value": 3}
    return {
        "patient name": (patient["name"][0], "family"),
        "patient id": (patient, "id"),
        "practitioner identifier": (practitioner["identifier"][0], "value"),
        "encounter title": (encounter["type"][0], "text"),
        "encounter id": (encounter, "id"),
        "encounter start": (encounter["period"], "start"),
        "encounter class": (encounter["class"], "code"),
        "subject": (immunization["patient"], "reference"),
        "code": (immunization["vaccineCode"]["coding"][0], "code"),
        "score": (survey["valueQuantity"], "value"),
    }


_spot_names = sorted(_spots(_load(TINY)))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spot=st.sampled_from(_spot_names), value=st.data())
@example(spot="score", value=float("nan"))  # each value a crash the audit found, kept as a regression
@example(spot="patient name", value="Bad\x00Name")
@example(spot="patient name", value="\ud800lone")
def test_one_hostile_value_where_it_matters_is_refused_by_entry_or_stored(
    db: sa.Connection, tmp_path: Path, spot: str, value: Any
) -> None:
    """One change only, so no earlier refusal hides the check behind it."""
    bundle = _load(TINY)
    container, key = _spots(bundle)[spot]
    if isinstance(value, st.DataObject):
        likely = _number if spot == "score" else _hostile_text  # what that place would hold, made hostile
        value = value.draw(st.one_of(likely, likely, json_value), label="value")
    container[key] = value
    path = _write(tmp_path, "one.json", bundle)
    before = _state(db)
    try:
        with db.begin_nested():
            import_file(db, KEY, path)
    except FhirInputError as refused:
        assert refused.path == path and refused.entry is not None
        assert _state(db) == before


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value_string=extension_text())
@example(value_string="[" * 100_000 + "]" * 100_000)
@example(
    value_string=json.dumps(
        {**CASELINE_FIELDS, "related_entity_type": "R" * 80, "related_entity_id": str(uuid.UUID(int=1))}
    )
)
def test_hostile_caseline_extensions_are_refused_by_entry_never_crash(
    db: sa.Connection, tmp_path: Path, value_string: str
) -> None:
    """The extension's fields go straight into columns: each one's limits, types and text rules."""
    bundle = _load(TINY)
    index = _add_caseline_event(bundle, value_string)
    path = _write(tmp_path, "extension.json", bundle)
    before = _state(db)
    try:
        with db.begin_nested():
            import_file(db, KEY, path)
    except FhirInputError as refused:
        assert (refused.path, refused.entry) == (path, index)
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
    # A resource repeated batches later with other content is caught all the same.
    changed = copy.deepcopy(events[0])  # the Encounter, with another title
    changed["type"][0]["text"] = "Renamed"
    repeated = _write(tmp_path, "repeated.ndjson", "\n".join([*lines, lines[1], json.dumps(changed)]) + "\n")
    last = len(lines) + 2
    with (
        pytest.raises(
            FhirInputError, match=rf"repeated\.ndjson, entry {last}: entries 2 and {last} are the same"
        ),
        db.begin_nested(),
    ):
        import_file(db, KEY, repeated)
    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 64)
    with pytest.raises(FhirInputError, match=r"mixed\.ndjson, entry 1: line is longer"), db.begin_nested():
        import_file(db, KEY, good)


def test_a_run_names_each_bad_file_exits_2_and_still_imports_the_good_ones(
    scratch_database: sa.URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from viewer.cli import main

    cases = ["NaN score", "deep extension text", "long related_entity_type", "patient name NUL",
             "patient name surrogate"]  # fmt: skip
    bad = []
    for number, case in enumerate(cases):
        folder = tmp_path / f"case{number}"
        folder.mkdir()
        path, index, _message = _broken(case, folder)
        bad.append((path.rename(folder / f"bad{number}.json"), index))
    url = scratch_database.render_as_string(hide_password=False)
    code = main(["--database-url", url, "import-fhir", *[str(p) for p, _ in bad], str(TINY)])
    out, err = capsys.readouterr()
    assert code == 2
    for path, index in bad:
        assert f"error: {path.name}, entry {index}: " in err
    assert "Traceback" not in err and "1 of 6 files imported" in out
    engine = make_engine(scratch_database, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        patients = conn.execute(sa.text("SELECT count(*) FROM users WHERE role = 'patient'")).scalar_one()
        events = conn.execute(sa.text("SELECT count(*) FROM timeline_events")).scalar_one()
    engine.dispose()
    expected = _expected_counts(_load(TINY))
    assert (patients, events) == (1, sum(expected.values()) - expected["billing skipped"])


def _bulk_export(folder: Path, style: str) -> Path:
    """TINY as a bulk export: one NDJSON file per resource type, references as ``style`` writes them."""
    folder.mkdir()
    by_kind: dict[str, list[str]] = {}
    for entry in _load(TINY)["entry"]:
        resource = entry["resource"]
        text = json.dumps(resource)
        if (
            style == "Patient/"
        ):  # urn:uuid:ID of a patient or practitioner becomes Patient/ID, Practitioner/ID
            text = re.sub(
                r'"urn:uuid:([0-9a-f-]{36})"',
                lambda m: (
                    '"' + ("Patient/" if m.group(1) == PATIENT_ID else "Practitioner/") + m.group(1) + '"'
                ),
                text,
            )
        by_kind.setdefault(resource["resourceType"], []).append(text)
    for kind, lines in by_kind.items():
        (folder / f"{kind}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


PATIENT_ID = next(
    e["resource"]["id"] for e in _load(TINY)["entry"] if e["resource"]["resourceType"] == "Patient"
)


@pytest.mark.parametrize("style", ["Patient/", "urn:uuid:"])
def test_a_bulk_export_folder_imports_whatever_order_its_files_sort_in(
    scratch_database: sa.URL, tmp_path: Path, style: str
) -> None:
    engine = make_engine(scratch_database, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        migrate.upgrade(conn)
        therapist = add_user(conn, "therapist")
        _, practitioner = _entry(_load(TINY), "Practitioner")
        npi = practitioner["identifier"][0]
        conn.execute(
            sa.text("INSERT INTO user_identifiers (system, value, user_id) VALUES (:s, :v, :u)"),
            {"s": npi["system"], "v": npi["value"], "u": therapist},
        )
    folder = _bulk_export(tmp_path / "bulk", style)
    assert sorted(p.name for p in folder.iterdir())[:3] == [
        "Claim.ndjson",
        "DiagnosticReport.ndjson",
        "Encounter.ndjson",
    ]
    done, failed = import_paths(engine, KEY, [folder])
    assert failed == []
    expected = _expected_counts(_load(TINY))
    assert sum(s.created for s in done) == sum(expected.values()) - expected["billing skipped"]
    assert sum(s.patients_created for s in done) == 1
    with engine.connect() as conn:
        author = conn.execute(
            sa.text("SELECT therapist_id FROM timeline_events WHERE related_entity_type = 'Encounter'")
        ).scalar_one()
    assert author == therapist  # the Practitioner came in its own file
    # Again: nothing changes; and an event file alone finds the patient an earlier run brought.
    again, failed = import_paths(engine, KEY, [folder])
    assert failed == [] and sum(s.created + s.updated for s in again) == 0
    (folder / "Patient.ndjson").unlink()
    alone, failed = import_paths(engine, KEY, [folder / "Encounter.ndjson"])
    assert failed == [] and alone[0].unchanged == 1
    engine.dispose()


def test_the_bench_imports_a_tenth_of_its_events_within_bounds() -> None:
    from viewer.services.bench_import import default_import_events

    assert [default_import_events(n) for n in (2_000, 20_000, 200_000, 1_000_000, 5_000_000)] == [
        5_000, 5_000, 20_000, 100_000, 100_000
    ]  # fmt: skip


def test_progress_moves_within_a_file_and_the_audit_row_names_who_imported(
    scratch_database: sa.URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import viewer.services.fhir_import as importer

    monkeypatch.setattr(importer, "PROGRESS_EVERY", 5)
    big = SAMPLES / "1272568-bundle.json"  # the largest sample
    engine = make_engine(scratch_database, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        migrate.upgrade(conn)
    steps: list[ImportProgress] = []
    done, failed = import_paths(
        engine, KEY, [TINY, big], imported_by="demo_admin_noor", progress=steps.append
    )
    assert failed == [] and len(done) == 2
    within = [s for s in steps if s.path == big and s.entries > 0]
    assert len(within) > 10  # not just 0 -> 1 for the big file
    assert [s.done for s in steps] == sorted(s.done for s in steps) and steps[-1].done == 1.0
    assert [s.entries for s in within] == sorted(s.entries for s in within)
    assert {(s.file, s.files) for s in steps if s.entries == 0 and s.done < 1} == {(1, 2), (2, 2)}
    with engine.connect() as conn:
        audited = conn.execute(sa.text("SELECT actor, detail FROM audit_log WHERE action = 'import'")).all()
    engine.dispose()
    assert [d["by"] for _, d in audited] == ["demo_admin_noor", "demo_admin_noor"]
    assert {a for a, _ in audited} == {scratch_database.username}  # the login that wrote: the owner


def test_the_audited_write_trigger_is_skipped_only_for_superuser_sessions(db: sa.Connection) -> None:
    """The import's owner (a superuser here) queues no audit-trigger event per row; anyone else still does.

    A superuser may disable triggers anyway; any wider condition would let an app login write unaudited.
    """
    definition = db.execute(
        sa.text(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = 'timeline_events'::regclass AND tgname = 'timeline_events_audited'"
        )
    ).scalar_one()
    assert "WHEN ((current_setting('is_superuser'::text) <> 'on'::text))" in definition
    assert db.execute(sa.text("SELECT current_setting('is_superuser')")).scalar_one() == "on"
    db.execute(sa.text("SET LOCAL ROLE caseline_therapist"))  # a login role, as an app login would be
    assert db.execute(sa.text("SELECT current_setting('is_superuser')")).scalar_one() == "off"
    db.execute(sa.text("RESET ROLE"))


def test_the_audit_row_of_an_import_counts_shared_events_only(db: sa.Connection, tmp_path: Path) -> None:
    """An administrator reads import rows; counts with private events in them, less the events she
    sees, told her how many private notes were imported for a patient."""
    bundle = _load(TINY)
    for title in ("Private one", "Private two"):
        _add_caseline_event(bundle, json.dumps({**CASELINE_FIELDS, "title": title, "is_private": True}))
    _add_caseline_event(bundle, json.dumps({**CASELINE_FIELDS, "title": "Shared one"}))
    path = _write(tmp_path, "with-private.json", bundle)
    first = import_file(db, KEY, path)
    again = import_file(db, KEY, path)
    audited = [
        row.detail
        for row in db.execute(sa.text("SELECT detail FROM audit_log WHERE action = 'import' ORDER BY seq"))
    ][-2:]
    assert first.private["created"] == 2 and again.private["unchanged"] == 2
    assert audited[0]["shared_created"] == first.created - 2 and audited[0]["shared_unchanged"] == 0
    assert audited[1]["shared_unchanged"] == again.unchanged - 2 and audited[1]["shared_created"] == 0
    assert not any(key in detail for detail in audited for key in ("created", "updated", "unchanged"))
