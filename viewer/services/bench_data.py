"""Synthetic histories for the benchmark: a throwaway patient in the database, or columns in memory.

The shape is what makes a timeline hard: a few years of weekly sessions and
notes, plus app and wearable check-ins (external events, assessments) that
arrive in bursts, so some days hold thousands of events and most hold few.
Everything is derived from a seed; nothing here describes a real person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from viewer.db.models import TimelineEvent
from viewer.domain import EventType, Importance
from viewer.services.purge import purge_users
from viewer.services.timeline_query import FLAG_PRIVATE, TimelineColumns, from_epoch_ms, to_epoch_ms

BENCH_PREFIX = "bench_"
YEAR_MS = 365 * 24 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000
# Lane weights: check-ins dominate (external events, assessments), sessions and notes follow.
_LANE_WEIGHTS = {
    EventType.SESSION: 0.06,
    EventType.MILESTONE: 0.01,
    EventType.NOTE: 0.08,
    EventType.DIAGNOSIS: 0.01,
    EventType.TREATMENT_PLAN: 0.01,
    EventType.MEDICATION: 0.05,
    EventType.ASSESSMENT: 0.28,
    EventType.EXTERNAL_EVENT: 0.50,
}
_IMPORTANCE_WEIGHTS = (0.35, 0.45, 0.19, 0.01)  # low, normal, high, critical
ANCHOR = datetime(2026, 11, 1, 12)


@dataclass(frozen=True)
class SyntheticHistory:
    """Parallel arrays of one synthetic patient's events, sorted by time."""

    time_ms: npt.NDArray[np.int64]
    lane: npt.NDArray[np.int8]
    importance: npt.NDArray[np.int8]
    private: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.time_ms.shape[0])

    def columns(self, seed: int = 0) -> TimelineColumns:
        """The history as timeline columns with random ids (for in-memory benchmarks)."""
        rng = np.random.default_rng(seed)
        ids = rng.integers(0, 256, (len(self), 16), dtype=np.uint8).view("S16").reshape(-1)
        return TimelineColumns(
            ids,
            self.time_ms,
            self.lane,
            self.importance,
            np.where(self.private, FLAG_PRIVATE, 0).astype(np.uint8),
        )


def synthetic_history(events: int, seed: int = 20261124, years: float = 3.0) -> SyntheticHistory:
    """``events`` events over ``years`` years ending at :data:`ANCHOR`, 40% of them in bursts."""
    rng = np.random.default_rng(seed)
    end = to_epoch_ms(ANCHOR)
    start = end - int(years * YEAR_MS)
    bursty = int(events * 0.4)
    spread = rng.integers(start, end, events - bursty)
    centres = rng.integers(start, end, 24)
    burst = rng.choice(centres, bursty) + rng.normal(0, DAY_MS, bursty).astype(np.int64)
    time_ms = np.sort(np.clip(np.concatenate([spread, burst]), start, end - 1))
    lanes = np.array([t.lane for t in _LANE_WEIGHTS])
    lane = rng.choice(lanes, events, p=list(_LANE_WEIGHTS.values())).astype(np.int8)
    importance = rng.choice(len(Importance), events, p=_IMPORTANCE_WEIGHTS).astype(np.int8)
    private = rng.random(events) < 0.05
    return SyntheticHistory(time_ms.astype(np.int64), lane, importance, private)


def drop_bench_patients(conn: sa.Connection) -> int:
    """Remove every benchmark patient (their events cascade); returns how many."""
    return purge_users(conn, r"username LIKE 'bench\_%' AND role = 'patient'")


def seed_bench_patient(conn: sa.Connection, history: SyntheticHistory) -> uuid.UUID:
    """Insert a throwaway patient with ``history`` through COPY; returns the patient's id."""
    patient_id = uuid.uuid4()
    conn.execute(
        sa.text("INSERT INTO users (id, username, display_name, role) VALUES (:id, :u, :d, 'patient')"),
        {"id": patient_id, "u": f"{BENCH_PREFIX}{patient_id.hex[:12]}", "d": "Benchmark patient (synthetic)"},
    )
    types = [t.value for t in sorted(EventType, key=lambda t: t.lane)]
    levels = [i.db_value for i in Importance]
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(
            "COPY timeline_events (patient_id, event_type, event_date, title, importance, is_private) FROM STDIN"
        ) as copy,
    ):
        for i in range(len(history)):
            copy.write_row(
                (
                    patient_id,
                    types[history.lane[i]],
                    from_epoch_ms(int(history.time_ms[i])),
                    f"Synthetic check-in {i}",
                    levels[history.importance[i]],
                    bool(history.private[i]),
                )
            )
    return patient_id


def orm_load(conn: sa.Connection, patient_id: uuid.UUID) -> TimelineColumns:
    """The naive way: ORM objects for every event, then columns from them (the baseline to beat)."""
    with Session(bind=conn) as session:
        events = session.scalars(
            sa.select(TimelineEvent)
            .where(TimelineEvent.patient_id == patient_id)
            .order_by(TimelineEvent.event_date, TimelineEvent.id)
        ).all()
        return TimelineColumns(
            ids=np.array([e.id.bytes for e in events], dtype="S16"),
            time_ms=np.array([to_epoch_ms(e.event_date) for e in events], dtype=np.int64),
            lane=np.array([EventType(e.event_type).lane for e in events], dtype=np.int8),
            importance=np.array([int(Importance.from_db(e.importance)) for e in events], dtype=np.int8),
            flags=np.array([FLAG_PRIVATE if e.is_private else 0 for e in events], dtype=np.uint8),
        )
