"""FHIR export under each login: what the user may see, never another author's private event,
audited; and the round trip: importing an export into an empty database gives the same timeline."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.db.privacy_practice import Practice, build_practice, drop_logins
from tests.db.test_fhir_import import TINY
from viewer.cli import main as cli_main
from viewer.db import migrate
from viewer.db.engine import make_engine
from viewer.fhir.export import OBSERVATION_CATEGORY, SYSTEM
from viewer.fhir.mapping import CASELINE_USER
from viewer.services.audit import AuditKey
from viewer.services.bench_data import drop_bench_patients, seed_bench_patient, synthetic_history
from viewer.services.errors import NotPermitted
from viewer.services.fhir_export import BundleNotWritten, export_patient, write_bundle
from viewer.services.fhir_import import import_file

KEY = AuditKey(bytes(range(32)))
_TIMELINE = (
    "SELECT event_date, event_type, event_subtype, importance, title, description, is_private, "
    "related_entity_type, related_entity_id, metadata - 'fhir' AS metadata FROM timeline_events "
    "WHERE deleted_at IS NULL ORDER BY event_date, title"
)


def _titles(bundle: dict[str, Any]) -> list[str]:
    return sorted(
        json.loads(e["resource"]["extension"][0]["valueString"])["title"]
        for e in bundle["entry"]
        if "extension" in e["resource"]
    )


def _export(practice: Practice, actor: str, patient: str) -> dict[str, Any]:
    engine = practice.engine_for(actor)
    try:
        with engine.begin() as conn:
            return export_patient(conn, KEY, practice.patients[patient])
    finally:
        engine.dispose()


def test_an_export_holds_what_the_user_may_see_and_never_another_authors_private_event(
    practice: Practice,
) -> None:
    assert _titles(_export(practice, "author", "P1")) == ["Event e1", "Event e10", "Event e2", "Event e7"]
    assert _titles(_export(practice, "colleague", "P1")) == ["Event e1", "Event e10", "Event e7", "Event e8"]
    # The supervisor may read e2 with a stated purpose, but an export states none: e2 stays out.
    assert _titles(_export(practice, "supervisor", "P1")) == ["Event e1", "Event e10", "Event e7"]
    with pytest.raises(NotPermitted):
        _export(practice, "admin", "P1")  # admins never get clinical text
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.connect() as conn:
        audited = conn.execute(
            sa.text(
                "SELECT actor, detail FROM audit_log WHERE action = 'export' AND patient_id = :p ORDER BY seq"
            ),
            {"p": practice.patients["P1"]},
        ).all()
    owner.dispose()
    # Shared events only: an administrator reads these rows, and "4" less the 3 shared events she sees
    # told her the author (and the colleague) had a private note on P1.
    assert [(a, d.get("shared_events"), d.get("refused", False)) for a, d in audited] == [
        (practice.login("author"), 3, False),
        (practice.login("colleague"), 3, False),
        (practice.login("supervisor"), 3, False),
        (practice.login("admin"), None, True),  # the refusal is audited too
    ]


def test_the_file_is_written_privately_and_whole(practice: Practice, tmp_path: Path) -> None:
    target = write_bundle(_export(practice, "author", "P2"), tmp_path / "p2.json")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text(encoding="utf-8"))["type"] == "collection"
    assert [p.name for p in tmp_path.iterdir()] == ["p2.json"]


def _timeline(url: sa.URL) -> list[Any]:
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(_TIMELINE))]
    engine.dispose()
    return rows


def test_importing_an_export_into_an_empty_database_gives_the_same_timeline(
    practice: Practice, scratch_database: sa.URL, tmp_path: Path
) -> None:
    # Start from a real bundle plus the practice's own hand-written events, all in one patient.
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.begin() as conn:
        import_file(conn, KEY, TINY)
        patient = conn.execute(
            sa.text("SELECT patient_id FROM timeline_events WHERE related_entity_type = 'Encounter'")
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO timeline_events (patient_id, event_type, event_date, title, description, importance, "
                "metadata, event_subtype) VALUES (:p, 'note', '2024-02-29 23:59:59', 'Leap-day note ✓', "
                "'line one\nline two', 'critical', '{\"k\": [1, 2.5, \"x\"]}', 'process_note')"
            ),
            {"p": patient},
        )
        bundle = export_patient(conn, None, patient)
        before = [
            tuple(r)
            for r in conn.execute(
                sa.text(_TIMELINE.replace("WHERE deleted_at", "WHERE patient_id = :p AND deleted_at")),
                {"p": patient},
            )
        ]
    owner.dispose()
    path = write_bundle(bundle, tmp_path / "export.json")
    empty = make_engine(scratch_database, poolclass=sa.pool.NullPool)
    with empty.begin() as conn:
        migrate.upgrade(conn)
        summary = import_file(conn, KEY, path)
        again = import_file(conn, KEY, path)
    empty.dispose()
    assert summary.created == len(before) and (again.created, again.updated) == (0, 0)
    assert _timeline(scratch_database) == before


_WITH_AUTHORS = (
    "SELECT id, patient_id, therapist_id, event_date, event_type, event_subtype, importance, title, description, "
    "is_private, related_entity_type, related_entity_id, metadata, row_version FROM timeline_events "
    "WHERE patient_id = :p AND deleted_at IS NULL ORDER BY id"
)


def _owner_rows(url: sa.URL, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql), params)]
    engine.dispose()
    return rows


def _import(url: sa.URL, path: Path, **kwargs: Any) -> Any:
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        migrate.upgrade(conn)
        summary = import_file(conn, KEY, path, **kwargs)
    engine.dispose()
    return summary


def test_an_export_names_the_patient_and_each_author_by_their_caseline_ids(practice: Practice) -> None:
    bundle = _export(practice, "author", "P1")
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Patient" and kinds.count("Practitioner") == 2  # the author and the colleague
    patient = bundle["entry"][0]["resource"]
    assert {"system": CASELINE_USER, "value": str(practice.patients["P1"])} in patient["identifier"]
    practitioners = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner"
    ]
    assert sorted(p["identifier"][0]["value"] for p in practitioners) == sorted(
        str(practice.users[a]) for a in ("author", "colleague")
    )
    authored = [e["resource"] for e in bundle["entry"] if "extension" in e["resource"]]
    assert sum(1 for r in authored if f"urn:uuid:{practice.users['author']}" in json.dumps(r)) == 2  # e1, e2


def test_reimporting_an_export_where_it_came_from_changes_nothing(practice: Practice, tmp_path: Path) -> None:
    patient = practice.patients["P1"]
    before = _owner_rows(practice.url, _WITH_AUTHORS, p=patient)
    users = _owner_rows(practice.url, "SELECT id, username, display_name FROM users ORDER BY id")
    for actor in ("author", "colleague"):  # each sees a private event of their own
        path = write_bundle(_export(practice, actor, "P1"), tmp_path / f"{actor}.json")
        summary = _import(practice.url, path)
        assert (summary.created, summary.updated, summary.patients_created) == (0, 0, 0)
        assert summary.unchanged == 4 and summary.private_without_author == 0
    assert _owner_rows(practice.url, _WITH_AUTHORS, p=patient) == before  # same authors, same row versions
    assert _owner_rows(practice.url, "SELECT id, username, display_name FROM users ORDER BY id") == users


def test_private_events_exported_to_another_database_stay_private_and_reach_their_author_once_mapped(
    practice: Practice, scratch_database: sa.URL, tmp_path: Path
) -> None:
    path = write_bundle(_export(practice, "author", "P1"), tmp_path / "p1.json")
    elsewhere = build_practice(scratch_database)  # another practice, its own clinicians and ids
    try:
        first = _import(scratch_database, path)
        patient = practice.patients["P1"]  # created here with the same id, so the next import finds it
        rows = _owner_rows(scratch_database, _WITH_AUTHORS, p=patient)
        assert first.created == len(rows) == 4 and first.patients_created == 1
        private = [r for r in rows if r[9]]
        assert [(r[7], r[2]) for r in private] == [("Event e2", None)]  # kept private, no author here
        assert first.private_without_author == 1 and "no clinician can read them" in first.render()
        # The clinic says who the author is here; the next import hands the event to them.
        owner = make_engine(scratch_database, poolclass=sa.pool.NullPool)
        with owner.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO user_identifiers (system, value, user_id) VALUES (:s, :v, :u)"),
                {"s": CASELINE_USER, "v": str(practice.users["author"]), "u": elsewhere.users["author"]},
            )
        owner.dispose()
        second = _import(scratch_database, path, assign_to=elsewhere.users["author"])
        assert (second.created, second.updated, second.private_without_author) == (0, 2, 0)  # e1, e2
        reader = elsewhere.engine_for("author")
        with reader.connect() as conn:
            titles = (
                conn.execute(
                    sa.text("SELECT title FROM timeline_events WHERE patient_id = :p AND is_private"),
                    {"p": patient},
                )
                .scalars()
                .all()
            )
        reader.dispose()
        assert titles == ["Event e2"]
        third = _import(scratch_database, path)  # and again: nothing changes
        assert (third.created, third.updated, third.unchanged) == (0, 0, 4)
    finally:
        drop_logins(elsewhere)


R4_STATUSES = {  # the R4 value sets (MedicationStatement's "recorded" is R5)
    "Encounter": {"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
                  "entered-in-error", "unknown"},
    "CarePlan": {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"},
    "MedicationStatement": {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold",
                            "unknown", "not-taken"},
    "Observation": {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                    "entered-in-error", "unknown"},
}  # fmt: skip


def test_an_export_is_valid_r4_and_keeps_the_source_codes_for_other_readers(
    practice: Practice, tmp_path: Path
) -> None:
    owner = make_engine(practice.url, poolclass=sa.pool.NullPool)
    with owner.begin() as conn:
        patient = conn.execute(
            sa.text(
                "INSERT INTO users (username, display_name, role) VALUES ('codes', 'Codes', 'patient') RETURNING id"
            )
        ).scalar_one()
        for kind, title, codes, extra in [
            (
                "medication",
                "Sertraline 50 MG",
                [("http://www.nlm.nih.gov/research/umls/rxnorm", "312940")],
                {},
            ),
            ("assessment", "PHQ-9: 21 (severe)", [("http://loinc.org", "44261-6")], {"score": 21}),
            ("diagnosis", "Major depression", [("http://snomed.info/sct", "370143000")], {}),
            ("treatment_plan", "Care plan: CBT", [("http://snomed.info/sct", "718361005")], {}),
            ("session", "Psychiatric interview", [("http://snomed.info/sct", "90526000")], {}),
            ("external_event", "Flu shot", [("http://hl7.org/fhir/sid/cvx", "140")], {}),
        ]:
            metadata = {"fhir": {"resourceType": "X", "id": title, "codes": [{"system": s, "code": c} for s, c in codes]},
                        **extra}  # fmt: skip
            conn.execute(
                sa.text(
                    "INSERT INTO timeline_events (patient_id, event_type, event_date, title, importance, metadata) "
                    "VALUES (:p, :t, '2024-01-01', :title, 'high', CAST(:m AS jsonb))"
                ),
                {"p": patient, "t": kind, "title": title, "m": json.dumps(metadata)},
            )
        bundle = export_patient(conn, None, patient)
    owner.dispose()
    resources = [e["resource"] for e in bundle["entry"] if "extension" in e["resource"]]
    assert len(resources) == 6
    for resource in resources:
        kind = resource["resourceType"]
        if kind in R4_STATUSES:
            assert resource["status"] in R4_STATUSES[kind], kind
        concept = {"Encounter": lambda r: r["type"][0], "CarePlan": lambda r: r["category"][0],
                   "MedicationStatement": lambda r: r["medicationCodeableConcept"]}.get(kind, lambda r: r["code"])(
            resource
        )  # fmt: skip
        systems = [c["system"] for c in concept["coding"]]
        assert systems[0] != SYSTEM and systems[-1] == SYSTEM  # the source's code first, then the lane
    observation = next(r for r in resources if r["resourceType"] == "Observation")
    assert observation["valueQuantity"] == {"value": 21}
    assert observation["category"][0]["coding"][0]["system"] == OBSERVATION_CATEGORY
    medication = next(r for r in resources if r["resourceType"] == "MedicationStatement")
    assert medication["medicationCodeableConcept"]["coding"][0] == {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
        "code": "312940",
    }


def test_a_bundle_that_cannot_be_written_leaves_nothing_behind(practice: Practice, tmp_path: Path) -> None:
    """Written to a folder, the export crashed and left the whole bundle in a hidden .partial file."""
    bundle = _export(practice, "author", "P2")
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(BundleNotWritten, match="is a folder"):
        write_bundle(bundle, folder)
    with pytest.raises(BundleNotWritten, match=r"could not write p2\.json"):
        write_bundle(bundle, tmp_path / "missing" / "p2.json")
    assert [p.name for p in tmp_path.iterdir()] == ["exports"] and not list(folder.iterdir())


def test_the_cli_says_so_and_exits_2_when_out_is_a_folder(
    engine: sa.Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with engine.begin() as conn:
        patient = seed_bench_patient(conn, synthetic_history(20, seed=7))
    try:
        assert cli_main(["export-fhir", "--patient", str(patient), "--out", str(tmp_path)]) == 2
        assert "is a folder" in capsys.readouterr().err
        assert list(tmp_path.iterdir()) == []
    finally:
        with engine.begin() as conn:
            drop_bench_patients(conn)
