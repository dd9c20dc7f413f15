"""The benchmark runs end to end at a small size (its times are printed, never asserted)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sqlalchemy as sa
from pytestqt.qtbot import QtBot

from ui.bench import GESTURE_PASSES, TARGETS, measure
from viewer.services.bench_data import synthetic_history

pytestmark = pytest.mark.ui

REQUIRED = (
    "events",
    "frame_ms_median",
    "frame_ms_p99",
    "naive_frame_ms_median",
    "speedup_vs_naive",
    "frame_growth_10k_to_n",
    "first_paint_ms",
    "load_s",
    "orm_load_s",
    "therapist_load_s",
    "bytes_per_event",
    "hover_ms",
    "device_pixel_ratio",
    "import_events_per_s",
    "orm_import_events_per_s",
)


def test_bench_reports_every_figure_and_cleans_up(qtbot: QtBot, engine: sa.Engine) -> None:
    with engine.connect() as conn:
        roles = set(conn.execute(sa.text("SELECT rolname FROM pg_roles")).scalars())
    figures = measure(engine, events=3_000, frames=16, naive_frames=4, seed=7, import_events=2_000)
    json.dumps(figures)  # one JSON object
    for key in REQUIRED:
        assert key in figures, key
        if key != "device_pixel_ratio":
            assert (
                isinstance(figures[key], int | float) and math.isfinite(figures[key]) and figures[key] > 0
            ), key
    assert figures["events"] == 3_000 and figures["import_events"] == 2_000
    # The therapist's load ran under row-level security: the shared events, none of the private ones.
    shared = int(np.count_nonzero(~synthetic_history(3_000, 7).private))
    assert 0 < figures["therapist_load_events"] == shared < 3_000
    assert figures["frames"] == 16 and figures["naive_frames"] == 4
    assert figures["frames_timed"] == 16 * GESTURE_PASSES == 16 * figures["gesture_passes"]
    assert figures["widget_px"] == [1600, 600]
    assert set(figures["targets"]) == set(TARGETS)
    # Memory is a property of the data structures, not of the machine: it must meet the target.
    assert figures["bytes_per_event"] <= 40
    with engine.connect() as conn:
        left = conn.execute(
            sa.text(
                r"SELECT count(*) FROM users WHERE username LIKE 'bench\_%' OR display_name LIKE 'Bench %'"
            )
        ).scalar_one()
        assert set(conn.execute(sa.text("SELECT rolname FROM pg_roles")).scalars()) == roles
    assert left == 0
