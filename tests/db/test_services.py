"""The timeline query and the event service on real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import add_events, add_user, draft
from viewer.domain import EventType, Importance, ValidationError
from viewer.services.errors import EventNotFound, UnknownPatient
from viewer.services.events import EventService
from viewer.services.patients import find_patient, list_patients
from viewer.services.timeline_query import FLAG_PRIVATE, fetch_event, fetch_page, fetch_timeline, iter_pages


def _count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT count(*) FROM timeline_events")).scalar_one())


def test_columns_match_the_rows(db: sa.Connection) -> None:
    patient = add_user(db)
    add_events(db, patient, 100)
    cols = fetch_timeline(db, patient)
    rows = db.execute(
        sa.text(
            "SELECT id, event_date, event_type, importance, is_private FROM timeline_events "
            "WHERE patient_id = :p ORDER BY event_date, id"
        ),
        {"p": patient},
    ).all()
    assert len(cols) == 100
    assert [cols.event_id(i) for i in range(len(cols))] == [r.id for r in rows]
    epoch = datetime(1970, 1, 1)
    assert cols.time_ms.tolist() == [int((r.event_date - epoch) / timedelta(milliseconds=1)) for r in rows]
    assert cols.lane.tolist() == [EventType(r.event_type).lane for r in rows]
    assert cols.importance.tolist() == [int(Importance.from_db(r.importance)) for r in rows]
    assert (cols.flags & FLAG_PRIVATE).astype(bool).tolist() == [r.is_private for r in rows]
    assert np.all(np.diff(cols.time_ms) >= 0)


def test_keyset_pages_neither_skip_nor_repeat_on_ties(db: sa.Connection) -> None:
    patient = add_user(db)
    # 57 events sharing three timestamps: ties across page boundaries.
    add_events(db, patient, 57, step=timedelta(0))
    add_events(db, patient, 20, start=datetime(2024, 1, 2), step=timedelta(0))
    seen: list[uuid.UUID] = []
    for page in iter_pages(db, patient, page_size=10):
        seen.extend(page.event_id(i) for i in range(len(page)))
    assert len(seen) == 77 and len(set(seen)) == 77
    whole = fetch_timeline(db, patient)
    assert [whole.event_id(i) for i in range(len(whole))] == seen


def test_time_range_is_half_open(db: sa.Connection) -> None:
    patient = add_user(db)
    add_events(db, patient, 10, start=datetime(2024, 1, 1), step=timedelta(days=1))
    cols = fetch_timeline(db, patient, start=datetime(2024, 1, 3), end=datetime(2024, 1, 6))
    assert len(cols) == 3
    page, cursor = fetch_page(db, patient, limit=10)
    assert len(page) == 10 and cursor is not None  # a full page may have more behind it
    assert fetch_page(db, patient, after=cursor)[0].time_ms.size == 0


def test_other_patients_events_never_appear(db: sa.Connection) -> None:
    mine, theirs = add_user(db), add_user(db)
    add_events(db, mine, 5)
    add_events(db, theirs, 7)
    assert len(fetch_timeline(db, mine)) == 5


def test_event_service_errors_are_typed_and_change_nothing(db: sa.Connection) -> None:
    patient = add_user(db)
    service = EventService(db)
    service.create(draft(patient))
    before = _count(db)
    with pytest.raises(UnknownPatient):
        service.create(draft(uuid.uuid4()))
    with pytest.raises(ValidationError) as info:
        service.create(draft(patient, title="x" * 201))
    assert info.value.field == "title"
    with pytest.raises(ValidationError) as info:
        service.create(draft(patient, therapist_id=uuid.uuid4()))
    assert info.value.field == "therapist_id"
    with pytest.raises(EventNotFound):
        service.update(uuid.uuid4(), draft(patient))
    with pytest.raises(EventNotFound):
        service.delete(uuid.uuid4())
    with pytest.raises(EventNotFound):
        fetch_event(db, uuid.uuid4())
    assert _count(db) == before  # the transaction is still usable and nothing half-written


def test_patient_list_and_lookup(db: sa.Connection) -> None:
    patient = add_user(db, "patient", "lookup_me")
    add_user(db, "therapist")
    add_events(db, patient, 3)
    summaries = {p.id: p for p in list_patients(db)}
    assert summaries[patient].event_count == 3
    assert summaries[patient].matches("LOOKUP") and not summaries[patient].matches("zzz")
    assert find_patient(db, "lookup_me") == patient
    assert find_patient(db, str(patient)) == patient
    assert find_patient(db, "nobody") is None


_text = st.text(st.characters(codec="utf-8"), max_size=260) | st.sampled_from(
    ["", "\x00", "x" * 10_000, "مرحبا بالعالم", "👩‍⚕️🧠", "'); DROP TABLE users; --", "a\u202eb"]
)
_metadata = st.none() | st.dictionaries(
    st.text(max_size=20),
    st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=50), st.booleans(), st.none()),
    max_size=5,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=80)
@given(
    title=_text,
    description=st.none() | _text,
    subtype=st.none() | _text,
    metadata=_metadata,
    when=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
)
def test_arbitrary_input_is_stored_identically_or_refused_cleanly(
    db: sa.Connection,
    title: str,
    description: str | None,
    subtype: str | None,
    metadata: dict | None,
    when: datetime,
) -> None:
    patient = add_user(db)
    service = EventService(db)
    before = _count(db)
    candidate = draft(
        patient,
        title=title,
        description=description,
        event_subtype=subtype,
        metadata=metadata,
        event_date=when,
    )
    try:
        event_id = service.create(candidate)
    except ValidationError:
        assert _count(db) == before
        return
    stored = fetch_event(db, event_id)
    assert (stored.title, stored.description, stored.event_subtype, stored.metadata) == (
        title,
        description,
        subtype,
        metadata,
    )
    assert stored.event_date == when.replace(tzinfo=None, microsecond=when.microsecond)


@pytest.mark.parametrize(
    ("needle", "expected"),
    [("INTAKE", 2), ("50%", 1), ("a_b", 1), ("\\", 1), ("", 0), ("zz", 0), ("In\0take", 0), ("\0", 0)],
)
def test_title_search_is_literal_and_case_insensitive(db: sa.Connection, needle: str, expected: int) -> None:
    from viewer.services.timeline_query import rows_of_ids, search_titles, uuid_from_s16

    patient, other = add_user(db), add_user(db)
    service = EventService(db)
    for title in ("Intake session", "Second intake", "Improved 50%", "a_b note", "back\\slash", "axb note"):
        service.create(draft(patient, title=title))
    service.create(draft(other, title="Intake elsewhere"))
    ids = search_titles(db, patient, needle)
    assert len(ids) == expected
    columns = fetch_timeline(db, patient)
    rows = rows_of_ids(columns, ids)
    assert sorted(columns.event_id(int(r)) for r in rows) == sorted(uuid_from_s16(i) for i in ids)


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("cafe", {"Café with Zoë", "CAFE visit"}),
        ("CAFÉ", {"Café with Zoë", "CAFE visit"}),
        ("zoe", {"Café with Zoë"}),
        ("Muller", {"Letter to Dr. Müller", "Müller (decomposed)"}),
        ("mü", {"Letter to Dr. Müller", "Müller (decomposed)"}),
        ("strasse", set()),  # ß is a letter of its own, not an accented s
        ("ß", {"Straße 5"}),
        ("é", {"Café with Zoë", "CAFE visit", "Letter to Dr. Müller", "Müller (decomposed)", "Straße 5"}),
        ("\u0301", set()),  # an accent alone leaves nothing to find
    ],
)
def test_title_search_ignores_accents(db: sa.Connection, needle: str, expected: set[str]) -> None:
    """Typed with or without accents, in either Unicode form, a name is found."""
    from viewer.accents import fold_accents
    from viewer.services.timeline_query import search_titles, uuid_from_s16

    patient = add_user(db)
    service = EventService(db)
    titles = [
        "Café with Zoë",
        "CAFE visit",
        "Letter to Dr. Müller",
        "Mu\u0308ller (decomposed)",
        "Straße 5",
        "Plain",
    ]
    made = {service.create(draft(patient, title=title)): title for title in titles}
    found = {made[uuid_from_s16(i)] for i in search_titles(db, patient, needle)}
    assert {fold_accents(t) for t in found} == {fold_accents(t) for t in expected}
    assert len(found) == len(expected)


def test_ids_ending_in_nul_bytes_survive_the_columns() -> None:
    """numpy's S16 strips trailing NULs on access; the columns must hand back the exact UUID."""
    from viewer.services.timeline_query import TimelineColumns, uuid_from_s16

    tricky = [uuid.UUID(int=0), uuid.UUID("12345678-1234-5678-1234-567812345600"), uuid.UUID(int=2**128 - 1)]
    columns = TimelineColumns(
        ids=np.array([u.bytes for u in tricky], dtype="S16"),
        time_ms=np.zeros(3, np.int64),
        lane=np.zeros(3, np.int8),
        importance=np.zeros(3, np.int8),
        flags=np.zeros(3, np.uint8),
    )
    assert [columns.event_id(i) for i in range(3)] == tricky
    assert [uuid_from_s16(v) for v in columns.ids] == tricky


def test_the_version_history_says_what_each_save_changed_in_the_apps_words(db: sa.Connection) -> None:
    from viewer.services.event_history import load_versions

    patient = add_user(db)
    service = EventService(db)
    event_id = service.create(draft(patient, title="First words"))
    service.update(event_id, draft(patient, title="Second words"))
    service.delete(event_id)
    service.restore(event_id)
    versions = load_versions(db, event_id)  # newest first
    firsts = [row.full_text.splitlines()[0] for row in versions]
    assert firsts[:3] == ["Changed: restored", "Changed: deleted", "Changed: Title"]
    assert not versions[-1].full_text.startswith("Changed")  # the first version changed nothing before it
    assert "Title: Second words  (changed)" in versions[2].full_text
    assert "Private: no" in versions[0].full_text and "When (UTC)" not in versions[0].full_text
