"""The big-table benchmark: a therapist's open of one patient in a throwaway database, and nothing left behind."""

from __future__ import annotations

import sqlalchemy as sa

from viewer.services.bench_data import drop_bench_patients, seed_bench_patient, synthetic_history
from viewer.services.bench_table import bench_big_table, drop_stale_therapist_logins, therapist_login


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


def test_logins_a_dead_run_left_behind_are_swept_and_nothing_else(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        patient = seed_bench_patient(conn, synthetic_history(50, seed=3))
        left_behind = [therapist_login(conn, patient, prefix="bench_sweep_")[0] for _ in range(2)]
        other, _ = therapist_login(conn, patient, prefix="bench_keep_")
    try:
        with engine.begin() as conn:
            assert drop_stale_therapist_logins(conn, "bench_sweep_") == 2
        with engine.connect() as conn:
            roles = set(conn.execute(sa.text("SELECT rolname FROM pg_roles")).scalars())
            users = set(conn.execute(sa.text("SELECT username FROM users")).scalars())
        assert not set(left_behind) & (roles | users)
        assert other in roles and other in users
    finally:
        with engine.begin() as conn:
            drop_stale_therapist_logins(conn, "bench_keep_")
            drop_bench_patients(conn)
