"""Arbitrary input through the event service: stored and read back identical, or refused cleanly.

Text with NUL bytes, 10k characters, right-to-left marks, emoji, lone
surrogates and SQL; dates from year 1 to 9999 in any UTC offset; metadata of
any JSON shape.  Each draft either comes back from the database exactly as it
went in, or is refused with a typed ``ValidationError`` (naming a field, never
quoting the text) and the database holds exactly what it held before.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.factories import add_user
from viewer.domain import EventDraft, EventType, Importance, ValidationError, from_storage
from viewer.services.errors import ServiceError
from viewer.services.events import EventService
from viewer.services.timeline_query import fetch_event

SPECIAL = [
    "\x00",
    "\u202e",  # right-to-left override
    "\u05e9\u05dc\u05d5\u05dd",  # Hebrew
    "\U0001f9e0\u200d\U0001f525",  # emoji with a zero-width joiner
    "'); DROP TABLE timeline_events; --",
    "\ud800",  # a lone surrogate
    "\\",
    "%_",
    "\r\n\t",
]
texts = st.one_of(
    st.text(alphabet=st.characters(codec=None, categories=None), max_size=60),
    st.lists(st.sampled_from(SPECIAL), max_size=4).map("".join),
    st.integers(min_value=0, max_value=12_000).map(lambda n: "é" * n),
    st.just(" " * 5),
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
dates = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59), timezones=offsets)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)
metadata = st.none() | st.dictionaries(texts, json_values, max_size=4)


def _state(conn: sa.Connection, patient: uuid.UUID) -> list[Any]:
    return list(
        conn.execute(
            sa.text("SELECT id, title, row_version FROM timeline_events WHERE patient_id = :p ORDER BY id"),
            {"p": patient},
        )
    )


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
    max_examples=150,
)
@given(
    title=texts,
    description=st.none() | texts,
    subtype=st.none() | texts,
    when=dates,
    meta=metadata,
    importance=st.sampled_from(Importance),
    event_type=st.sampled_from(EventType),
)
@example(
    title="'; DELETE FROM users; --",
    description="\u202eevil\U0001f600",
    subtype=None,
    when=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
    meta=None,
    importance=Importance.LOW,
    event_type=EventType.NOTE,
)
@example(
    title="x" * 200,
    description="é" * 10_000,
    subtype="s" * 50,
    when=datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    meta={"score": 1e300, "nested": {"a": [1, "\x00"]}},
    importance=Importance.CRITICAL,
    event_type=EventType.ASSESSMENT,
)
def test_stored_identical_or_refused_with_the_database_unchanged(
    db: sa.Connection,
    title: str,
    description: str | None,
    subtype: str | None,
    when: datetime,
    meta: dict[str, Any] | None,
    importance: Importance,
    event_type: EventType,
) -> None:
    patient = add_user(db, "patient")
    draft = EventDraft(
        patient_id=patient,
        event_type=event_type,
        event_date=when,
        title=title,
        importance=importance,
        event_subtype=subtype,
        description=description,
        metadata=meta,
    )
    before = _state(db, patient)
    try:
        event_id = EventService(db).create(draft)
    except ServiceError as exc:  # pragma: no cover - no service error is expected for a valid patient
        raise AssertionError(f"unexpected {type(exc).__name__}") from exc
    except ValidationError as refused:
        assert refused.field in {"title", "event_subtype", "description", "metadata", "event_date"}
        for fragment in (title, description or "", subtype or ""):  # messages never quote the input
            if len(fragment) >= 8:
                assert fragment not in str(refused)
        assert _state(db, patient) == before
        event(f"refused: {refused.field}")
        return
    event("stored")
    stored = fetch_event(db, event_id)
    assert (stored.title, stored.description, stored.event_subtype) == (title, description, subtype)
    assert from_storage(stored.event_date) == when
    assert stored.metadata == meta
    assert (stored.importance, stored.event_type) == (importance, event_type)
