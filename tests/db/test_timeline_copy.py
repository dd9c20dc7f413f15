"""The binary COPY loader gives exactly the columns the keyset pages give."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from viewer.domain import EventType, Importance
from viewer.services.timeline_copy import (
    PROGRESS_EVERY_BYTES,
    CopyFormatError,
    copy_timeline,
    parse_binary_copy,
)
from viewer.services.timeline_query import fetch_timeline, to_epoch_ms


def _patient_with_events(db: sa.Connection, n: int) -> uuid.UUID:
    patient = db.execute(
        sa.text(
            "INSERT INTO users (username, display_name, role) VALUES ('copy_p', 'P', 'patient') RETURNING id"
        )
    ).scalar_one()
    types = list(EventType)
    levels = list(Importance)
    start = datetime(1965, 3, 1)  # before the epoch too: negative milliseconds
    db.execute(
        sa.text(
            "INSERT INTO timeline_events (patient_id, event_type, event_date, title, importance, is_private) "
            "VALUES (:p, :t, :d, 'x', :i, :priv)"
        ),
        [
            {
                "p": patient,
                "t": types[i % 8].value,
                "d": start + timedelta(days=(i * 37) % 20000, milliseconds=i % 1000),
                "i": levels[(i // 8) % 4].db_value,
                "priv": i % 5 == 0,
            }
            for i in range(n)
        ],
    )
    # Ties: many events at one instant (imports often carry dates only), one with microseconds.
    db.execute(
        sa.text(
            "INSERT INTO timeline_events (patient_id, event_type, event_date, title) "
            "SELECT :p, 'note', TIMESTAMP '2020-02-02 00:00:00', 'tie' FROM generate_series(1, 25)"
        ),
        {"p": patient},
    )
    db.execute(
        sa.text(
            "INSERT INTO timeline_events (patient_id, event_type, event_date, title) "
            "VALUES (:p, 'note', TIMESTAMP '2021-03-03 10:00:00.000999', 'micro')"
        ),
        {"p": patient},
    )
    return patient


def test_copy_equals_keyset_pages(db: sa.Connection) -> None:
    patient = _patient_with_events(db, 300)
    copied = copy_timeline(db, patient)
    paged = fetch_timeline(db, patient, page_size=70)
    assert copied is not None and len(copied) == 326
    for field in ("ids", "time_ms", "lane", "importance", "flags"):
        np.testing.assert_array_equal(getattr(copied, field), getattr(paged, field), err_msg=field)
    assert copied.time_ms[0] < 0  # a 1965 event survived the big-endian int64 round trip
    micro = to_epoch_ms(datetime(2021, 3, 3, 10, 0, 0, 999))
    assert micro in copied.time_ms  # microseconds are floored to the millisecond, never rounded up


def test_copy_of_unknown_patient_is_empty(db: sa.Connection) -> None:
    assert len(copy_timeline(db, uuid.uuid4()) or ()) == 0


def test_copy_can_be_cancelled(db: sa.Connection) -> None:
    patient = _patient_with_events(db, 50)
    seen: list[int] = []

    def stop(received: int) -> bool:
        seen.append(received)
        return False

    assert copy_timeline(db, patient, progress=stop) is None
    assert seen  # progress was reported before stopping


def test_progress_comes_in_batches_and_ends_with_the_total(db: sa.Connection) -> None:
    """Once per row, a million-event load in the app took 11-16 s (a signal per row) for a 0.7 s transfer."""
    patient = _patient_with_events(db, 1)
    db.execute(
        sa.text(
            "INSERT INTO timeline_events (patient_id, event_type, event_date, title) "
            "SELECT :p, 'session', TIMESTAMP '2020-01-01' + g * INTERVAL '1 hour', 'x' "
            "FROM generate_series(1, 20000) g"
        ),
        {"p": patient},
    )
    seen: list[int] = []
    copied = copy_timeline(db, patient, progress=lambda received: seen.append(received) is None)
    assert copied is not None and len(copied) == 20_027
    assert seen[-1] == 20_027 and seen == sorted(seen)
    assert 2 <= len(seen) <= 20_026 * 35 // PROGRESS_EVERY_BYTES + 2  # a few reports, not 20,027


def test_garbage_is_refused() -> None:
    with pytest.raises(CopyFormatError):
        parse_binary_copy(b"not copy data at all")
    header = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
    with pytest.raises(CopyFormatError):
        parse_binary_copy(header + b"\x00\x05" + b"\xff\xff")  # a partial tuple


def test_the_full_load_reads_the_patient_index_in_order_without_sorting(db: sa.Connection) -> None:
    """With no statistics on patient_id the planner would pick a bitmap scan and a sort that spills."""
    from viewer.services.timeline_copy import _COPY_SQL, PLAN_SETTINGS

    patient = _patient_with_events(db, 3000)
    db.execute(sa.text("ANALYZE timeline_events"))
    query = _COPY_SQL.split("COPY (", 1)[1].rsplit(") TO STDOUT", 1)[0].replace("%s", ":p")

    def plan() -> str:
        return "\n".join(db.execute(sa.text("EXPLAIN " + query), {"p": patient}).scalars())

    db.execute(sa.text(PLAN_SETTINGS))
    chosen = plan()
    assert "Index Scan Backward using idx_timeline_patient_date" in chosen, chosen
    assert "Sort" not in chosen, chosen
