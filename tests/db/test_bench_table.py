"""The big-table benchmark: a therapist's open of one patient in a throwaway database, and nothing left behind."""

from __future__ import annotations

import sqlalchemy as sa

from viewer.services.bench_table import bench_big_table


def test_the_big_table_bench_opens_one_patient_as_a_therapist_and_drops_everything(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        databases = set(conn.execute(sa.text("SELECT datname FROM pg_database")).scalars())
        roles = set(conn.execute(sa.text("SELECT rolname FROM pg_roles")).scalars())
    figures = bench_big_table(engine, 12_000, per_patient=2_000, samples=3)
    assert figures["table_events"] == 12_000
    assert figures["table_patient_events"] == 2_000
    # Under row-level security the therapist sees the patient's shared events, not the private twentieth.
    assert figures["table_patient_visible_events"] == 1_900
    assert figures["table_open_ms"] > 0 and figures["table_open_owner_ms"] > 0
    with engine.connect() as conn:
        assert set(conn.execute(sa.text("SELECT datname FROM pg_database")).scalars()) == databases
        assert set(conn.execute(sa.text("SELECT rolname FROM pg_roles")).scalars()) == roles
