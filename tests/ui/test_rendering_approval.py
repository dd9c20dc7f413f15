"""Image approval: the timeline renders as the approved pictures in ``tests/ui/approved/``.

Offscreen, fixed size, fixed data, fixed time zone (UTC), a fixed "today".
A small tolerance absorbs antialiasing noise; a moved marker, a lost lane, a
changed colour or shape does not pass.  After an intended change, look at the
new pictures (written next to the failure report) and approve them with
``CASELINE_APPROVE_IMAGES=1 python -m pytest tests/ui/test_rendering_approval.py``.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from ui.operations import OperationRunner
from ui.timeline_view import TimelineView
from viewer.domain import EventType, Importance
from viewer.lane_layout import LaneLayout
from viewer.services.bench_data import synthetic_history
from viewer.services.patients import PatientSummary
from viewer.services.timeline_query import from_epoch_ms
from viewer.view_range import DAY_MS, ViewRange

pytestmark = pytest.mark.ui

APPROVED = Path(__file__).parent / "approved"
SIZE = (1200, 640)
CHANNEL_TOLERANCE = 48  # a pixel differs when a channel moves by more than this
MAX_DIFFERENT_PIXELS = 0.01  # at most 1% of the pixels may differ


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def view(qtbot: QtBot, utc: None) -> TimelineView:
    return _view_of(qtbot, 2_500)


def _view_of(qtbot: QtBot, events: int) -> TimelineView:
    runner = OperationRunner()
    timeline = TimelineView(runner)
    qtbot.addWidget(timeline)
    timeline.resize(*SIZE)
    timeline.body.setSizes([SIZE[0], 0])
    timeline.show()
    columns = synthetic_history(events, seed=5, years=2.0).columns(seed=5)
    patient = PatientSummary(
        uuid.UUID(int=5),
        "approval",
        "Approval Patient",
        len(columns),
        from_epoch_ms(int(columns.time_ms[0])),
        from_epoch_ms(int(columns.time_ms[-1])),
    )
    timeline.clock = lambda: float(columns.time_ms[-1]) / 1000.0 + 86_400  # "today": a day after the last
    timeline.set_timeline(None, patient, columns)  # type: ignore[arg-type]  # no database: nothing is fetched
    qtbot.waitUntil(lambda: timeline.lod_ready)
    return timeline


def _render(view: TimelineView) -> QImage:
    view.plot.viewport().repaint()
    return view.plot.grab().toImage().convertToFormat(QImage.Format.Format_ARGB32)


def _pixels(image: QImage) -> np.ndarray:
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return (
        data.reshape(height, image.bytesPerLine())[:, : width * 4].reshape(height, width, 4).astype(np.int16)
    )


def difference(actual: QImage, expected: QImage) -> float:
    """Fraction of pixels that differ beyond the channel tolerance (1.0 when sizes differ)."""
    if actual.size() != expected.size():
        return 1.0
    delta = np.abs(_pixels(actual) - _pixels(expected)).max(axis=2)
    return float((delta > CHANNEL_TOLERANCE).mean())


def _approve_or_compare(image: QImage, name: str, tmp_path: Path) -> None:
    path = APPROVED / f"{name}.png"
    if os.environ.get("CASELINE_APPROVE_IMAGES") == "1":
        APPROVED.mkdir(exist_ok=True)
        assert image.save(str(path))
    assert path.exists(), (
        f"no approved image {path.name}: render it with CASELINE_APPROVE_IMAGES=1 and look at it"
    )
    expected = QImage(str(path)).convertToFormat(QImage.Format.Format_ARGB32)
    share = difference(image, expected)
    if share > MAX_DIFFERENT_PIXELS:
        image.save(str(tmp_path / f"{name}-actual.png"))
        pytest.fail(f"{name}: {share:.1%} of pixels differ from the approved image (see {tmp_path})")


def _centre(view: TimelineView) -> float:
    return float(np.median(view.columns.time_ms))


def test_whole_history(view: TimelineView, tmp_path: Path) -> None:
    assert view.history is not None
    view.plot.set_view_range(view.history)
    _approve_or_compare(_render(view), "whole-history", tmp_path)


def test_one_month_of_markers(view: TimelineView, tmp_path: Path) -> None:
    view.plot.set_view_range(ViewRange.around(_centre(view), 30 * DAY_MS))
    image = _render(view)
    assert view.plot.layer.last_frame is not None and view.plot.layer.last_frame.rows is not None
    _approve_or_compare(image, "one-month", tmp_path)


def test_filtered_with_a_lane_moved_and_one_hidden(view: TimelineView, tmp_path: Path) -> None:
    view.filters.importance.setCurrentIndex(view.filters.importance.findData(Importance.HIGH))
    view.set_lane_layout(LaneLayout().moved(EventType.ASSESSMENT, -10).hiding(EventType.MILESTONE))
    assert view.history is not None
    view.plot.set_view_range(view.history)
    _approve_or_compare(_render(view), "filtered-lanes", tmp_path)


def test_density_bars_of_a_busy_history(qtbot: QtBot, utc: None, tmp_path: Path) -> None:
    view = _view_of(qtbot, 40_000)
    assert view.history is not None
    view.plot.set_view_range(view.history)
    image = _render(view)
    assert view.plot.layer.last_frame is not None and view.plot.layer.last_frame.rows is None
    _approve_or_compare(image, "density-bars", tmp_path)


def test_the_comparison_notices_a_different_picture(view: TimelineView) -> None:
    assert view.history is not None
    view.plot.set_view_range(view.history)
    whole = _render(view)
    view.plot.set_view_range(ViewRange.around(_centre(view), 30 * DAY_MS))
    month = _render(view)
    assert difference(whole, whole) == 0.0
    assert difference(whole, month) > MAX_DIFFERENT_PIXELS


def test_a_selection_settles_for_a_login_that_reads_no_text(qtbot: QtBot, utc: None) -> None:
    """An administrator's pane shows no text: ``--screenshot --select`` waited for one for two minutes."""
    view = _view_of(qtbot, 200)
    view.texts_readable = False
    row = view.latest_row_in_view()
    assert row is not None
    with qtbot.waitSignal(view.detailSettled, timeout=5_000):
        view.select_row(row)
    assert view.detail.detail is None
