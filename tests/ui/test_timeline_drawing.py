"""What the lanes draw, on synthetic data without a database: today, hints, locks, shapes, search.

The view is built straight from columns (nothing is fetched), with a fixed
"today", so each test can set up exactly the picture it needs.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PySide6.QtCore import QEventLoop, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from ui.event_layer import BUCKET_COLOURS, FADED_BUCKET_COLOURS, LOCK_GAP_PX, Bars, EventLayer
from ui.export import MARGIN, caption_for, render_pdf, render_png, render_svg, sheet_layout
from ui.marker_shapes import marker_sprite
from ui.operations import OperationRunner
from ui.style import IMPORTANCE_STYLES, LANE_BAND_COLOURS
from ui.timeline_view import TimelineView
from viewer.domain import EventType, Importance
from viewer.services.bench_data import synthetic_history
from viewer.services.patients import PatientSummary
from viewer.services.timeline_query import FLAG_PRIVATE, TimelineColumns, from_epoch_ms
from viewer.timeline_frame import Buckets
from viewer.view_range import DAY_MS, ViewRange

pytestmark = pytest.mark.ui

SIZE = (1200, 640)


def make_view(qtbot: QtBot, columns: TimelineColumns, today_ms: float) -> TimelineView:
    timeline = TimelineView(OperationRunner())
    qtbot.addWidget(timeline)
    timeline.resize(*SIZE)
    timeline.body.setSizes([SIZE[0], 0])
    timeline.show()
    show_columns(timeline, columns, today_ms)
    qtbot.waitUntil(lambda: timeline.lod_ready)
    return timeline


def show_columns(timeline: TimelineView, columns: TimelineColumns, today_ms: float) -> None:
    """Put ``columns`` on the timeline as a patient's history, with a fixed "today"."""
    patient = PatientSummary(
        uuid.UUID(int=7),
        "drawing",
        "Drawing Patient",
        len(columns),
        from_epoch_ms(int(columns.time_ms[0])),
        from_epoch_ms(int(columns.time_ms[-1])),
    )
    timeline.clock = lambda: today_ms / 1000.0
    timeline.set_timeline(None, patient, columns)  # type: ignore[arg-type]  # no database: nothing is fetched


@pytest.fixture
def columns() -> TimelineColumns:
    return synthetic_history(2_500, seed=5, years=2.0).columns(seed=5)


def _paint(view: TimelineView) -> None:
    view.plot.viewport().repaint()
    view.plot.grab()


def test_today_is_in_the_whole_view_of_a_recent_history(qtbot: QtBot, columns: TimelineColumns) -> None:
    today = float(columns.time_ms[-1]) + 60 * DAY_MS  # well past the whole view's margin
    view = make_view(qtbot, columns, today)
    assert view.history is not None and view.history.contains(today)
    assert view.plot.today.isVisible() and view.plot.today.label.isVisible()


def test_the_today_label_hides_with_its_line(qtbot: QtBot, columns: TimelineColumns) -> None:
    today = float(columns.time_ms[-1]) + 20 * DAY_MS
    view = make_view(qtbot, columns, today)
    view.plot.set_view_range(ViewRange(today - 40 * DAY_MS, today - 10 * DAY_MS))  # today just off the right
    _paint(view)
    assert not view.plot.today.isVisible() and not view.plot.today.label.isVisible()
    view.plot.set_view_range(ViewRange(today - 20 * DAY_MS, today + 2 * DAY_MS))
    assert view.plot.today.isVisible() and view.plot.today.label.isVisible()
    assert view.plot.today_line.isVisible()  # the dashed line with it


def test_the_today_label_sits_over_the_events_and_its_line_under_them(
    qtbot: QtBot, columns: TimelineColumns
) -> None:
    """On a busy history the top lane's padlocks covered the label; markers must still cover the line."""
    view = make_view(qtbot, columns, float(columns.time_ms[-1]) + 20 * DAY_MS)
    layer = view.plot.layer.zValue()
    assert view.plot.today_line.zValue() < layer < view.plot.today.zValue()
    assert view.plot.today.pen.style() == Qt.PenStyle.NoPen  # the label's line draws nothing over markers
    assert view.plot.today_line.value() == view.plot.today.value()


def test_an_old_history_is_shown_without_today(qtbot: QtBot, columns: TimelineColumns) -> None:
    today = float(columns.time_ms[-1]) + 5 * 365 * DAY_MS
    view = make_view(qtbot, columns, today)
    assert view.history == ViewRange.covering(float(columns.time_ms[0]), float(columns.time_ms[-1]))
    assert not view.plot.today.label.isVisible()


def _ink(importance: Importance) -> np.ndarray:
    """Where the marker's sprite is opaque and not white, centred in a 40x40 grid: its shape."""
    image = marker_sprite(importance, 2.0).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    grid = np.zeros((40, 40), dtype=np.bool_)
    top, left = (40 - image.height()) // 2, (40 - image.width()) // 2
    for y in range(image.height()):
        for x in range(image.width()):
            colour = QColor.fromRgba(image.pixel(x, y))
            grid[top + y, left + x] = colour.alpha() > 128 and colour.lightnessF() < 0.85
    return grid


def test_each_importance_has_its_own_shape(qtbot: QtBot) -> None:
    masks = {level: _ink(level) for level in Importance}
    for a in Importance:
        for b in Importance:
            if a < b:
                different = np.logical_xor(masks[a], masks[b]).sum()
                assert different > 0.3 * max(masks[a].sum(), masks[b].sum()), (a, b)
    assert masks[Importance.LOW][20, 20] == np.False_  # hollow: low events recede but keep their outline


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    q = QColor(colour)
    return 0.2126 * channel(q.red()) + 0.7152 * channel(q.green()) + 0.0722 * channel(q.blue())


def test_low_markers_stand_out_on_both_lane_bands() -> None:
    outline = _luminance(IMPORTANCE_STYLES[Importance.LOW].outline)
    for band in LANE_BAND_COLOURS:
        contrast = (_luminance(band) + 0.05) / (outline + 0.05)
        assert contrast >= 4.5, band  # WCAG AA even for text; 3:1 is the bar for graphics


def test_the_legend_shows_the_markers_the_lanes_draw(qtbot: QtBot, columns: TimelineColumns) -> None:
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    for level in Importance:
        icon = view.legend.findChild(QLabel, f"legend{level.label}Marker")
        assert icon is not None and icon.accessibleName()
        assert icon.pixmap().toImage() == marker_sprite(level, view.devicePixelRatioF()).toImage()


def _dense_private(n: int, step_ms: int, lane: EventType, importance: Importance) -> TimelineColumns:
    start = 1_760_000_000_000
    return TimelineColumns(
        np.arange(n, dtype=">u8").astype("S16"),
        start + np.arange(n, dtype=np.int64) * step_ms,
        np.full(n, lane.lane, np.int8),
        np.full(n, int(importance), np.int8),
        np.full(n, FLAG_PRIVATE, np.uint8),
    )


def test_dense_private_markers_get_one_lock_per_cluster(qtbot: QtBot) -> None:
    columns = _dense_private(300, 60_000, EventType.NOTE, Importance.NORMAL)  # a note a minute
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    view.plot.set_view_range(
        ViewRange(float(columns.time_ms[0]) - 60_000, float(columns.time_ms[-1]) + 60_000)
    )
    _paint(view)
    frame = view.plot.layer.last_frame
    assert frame is not None and frame.rows is not None and len(frame.rows) == 300
    x, _y = view.plot.layer.last_locks
    assert 0 < len(x) < 300 / 3
    assert np.all(np.diff(np.sort(x)) >= LOCK_GAP_PX)  # no lock overlaps another


def test_density_bars_are_drawn_and_carry_locks(qtbot: QtBot, columns: TimelineColumns) -> None:
    big = synthetic_history(40_000, seed=9, years=2.0).columns(seed=9)
    view = make_view(qtbot, big, float(big.time_ms[-1]))
    _paint(view)
    frame = view.plot.layer.last_frame
    assert frame is not None and frame.rows is None  # density bars, not markers
    assert frame.buckets.private.any()
    x, _y = view.plot.layer.last_locks
    assert len(x) > 10
    image = view.plot.grab().toImage()
    seen = {image.pixel(px, py) for px in range(0, image.width(), 3) for py in range(0, image.height(), 3)}
    for level in (Importance.NORMAL, Importance.HIGH):
        assert BUCKET_COLOURS[level].rgb() in seen, level  # the bars are really painted


@pytest.mark.parametrize("ratio", [1.0, 2.0, 1.5])
def test_where_neighbouring_bars_share_a_pixel_column_the_more_important_is_on_top(ratio: float) -> None:
    """Bars span whole pixels, so neighbours in a lane overlap by a column; importance decides it.

    At a whole pixel ratio the bars go to the device in device pixels: they must land where the
    painter's scaling would have put them, to the device pixel.
    """
    levels = [Importance.HIGH, Importance.LOW, Importance.LOW, Importance.CRITICAL, Importance.NORMAL]
    n = len(levels)
    buckets = Buckets(
        np.zeros(n, np.int8),
        np.arange(n, dtype=np.int64),
        np.arange(1, n + 1, dtype=np.int64),
        np.ones(n, np.int64),
        np.array(levels, np.int8),
        np.zeros(n, np.bool_),
    )
    left = np.arange(n, dtype=np.float64) * 4 + 2  # 5 px wide: a bar's last column is the next one's first
    bars = Bars(left, left + 5, np.full(n, 6.0), np.full(n, 8.0), np.array([10.0]))  # rows 6-13
    image = QImage(round(40 * ratio), round(20 * ratio), QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(ratio)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        EventLayer()._paint_buckets(painter, buckets, bars)
    finally:
        painter.end()

    def colour(x: int, y: int) -> int:  # the device pixel at the top left of layer pixel (x, y)
        return image.pixel(math.ceil(x * ratio), math.ceil(y * ratio))

    # Shared columns 6, 10, 14, 18: HIGH over LOW, LOW and LOW, CRITICAL over LOW, CRITICAL over NORMAL.
    shown = [colour(x, 10) for x in (4, 6, 8, 10, 12, 14, 16, 18, 20)]
    expected = [Importance.HIGH, Importance.HIGH, Importance.LOW, Importance.LOW, Importance.LOW]
    expected += [Importance.CRITICAL, Importance.CRITICAL, Importance.CRITICAL, Importance.NORMAL]
    assert shown == [BUCKET_COLOURS[level].rgb() for level in expected]
    white = QColor("white").rgb()
    top, bottom, first, last = 6, 13, 2, 22  # the bars' rows and columns, in layer pixels
    assert colour(4, top) == BUCKET_COLOURS[levels[0]].rgb() and colour(last, bottom) != white
    x, y = round(4 * ratio), round(10 * ratio)
    assert image.pixel(x, math.floor(top * ratio) - 1) == white  # nothing above ...
    assert image.pixel(x, math.ceil((bottom + 1) * ratio)) == white  # ... or below
    assert image.pixel(math.floor(first * ratio) - 1, y) == white  # ... or beside
    assert image.pixel(math.ceil((last + 1) * ratio), y) == white


@pytest.mark.parametrize("ratio", [1.0, 2.0, 1.5])
def test_sprites_land_on_the_same_device_pixels_as_the_painter_would_put_them(
    qtbot: QtBot, ratio: float
) -> None:
    """At a whole ratio the layer blits sprites in device pixels; the pixels must be Qt's own, scaled ones."""
    layer = EventLayer()
    layer._ensure_sprites(ratio)
    x = np.array([10.0, 10.3, 23.5, 31.75, 40.49])  # whole, fractional and half-pixel centres
    y = np.array([12.0, 12.6, 12.5, 20.25, 19.51])

    def painted(draw: object) -> QImage:
        image = QImage(round(60 * ratio), round(32 * ratio), QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(ratio)
        image.fill(QColor("white"))
        painter = QPainter(image)
        try:
            draw(painter)  # type: ignore[operator]
        finally:
            painter.end()
        return image

    def by_the_painter(painter: QPainter) -> None:  # one fragment at a time, in layer pixels
        pixmap = layer._sprites[Importance.CRITICAL].pixmap
        for px, py in zip(x.tolist(), y.tolist(), strict=True):
            fragment = QPainter.PixmapFragment.create(
                QPointF(px, py), pixmap.rect().toRectF(), 1 / ratio, 1 / ratio
            )
            painter.drawPixmapFragments(fragment, 1, pixmap)

    drawn = painted(lambda painter: layer._draw_fragments(painter, layer._sprites[Importance.CRITICAL], x, y))
    assert drawn == painted(by_the_painter)
    assert drawn != painted(lambda painter: None)  # the stars are there


def test_a_private_critical_star_over_density_bars_has_a_lock_nearby(qtbot: QtBot) -> None:
    crowd = _dense_private(20_000, 30_000, EventType.ASSESSMENT, Importance.LOW)
    flags = np.zeros(len(crowd), np.uint8)
    importance = crowd.importance.copy()
    importance[10_000] = int(Importance.CRITICAL)
    flags[10_000] = FLAG_PRIVATE  # the only private event: a critical one among shared ones
    columns = TimelineColumns(crowd.ids, crowd.time_ms, crowd.lane, importance, flags)
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    _paint(view)
    frame = view.plot.layer.last_frame
    assert frame is not None and frame.rows is None and 10_000 in frame.critical_rows.tolist()
    x, _y = view.plot.layer.last_locks
    assert len(x) == 1
    box = view.plot.view_box
    star = box.mapViewToScene(QPointF(float(columns.time_ms[10_000]) / 1000.0, 0.0)).x()
    assert abs(float(x[0]) - star) < LOCK_GAP_PX


def _with_a_gap() -> TimelineColumns:
    """Events through January, none in February, again from March (2026, local noon)."""
    days = [*range(1, 31), *range(60, 90)]
    start = datetime(2026, 1, 1, 12).astimezone().timestamp() * 1000
    n = len(days)
    return TimelineColumns(
        np.arange(n, dtype=">u8").astype("S16"),
        np.array([start + d * DAY_MS for d in days], dtype=np.int64),
        np.full(n, EventType.SESSION.lane, np.int8),
        np.full(n, int(Importance.NORMAL), np.int8),
        np.zeros(n, np.uint8),
    )


def test_an_empty_window_says_where_the_nearest_events_are(qtbot: QtBot) -> None:
    columns = _with_a_gap()
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    hint = view.plot.hint
    assert not hint.isVisible()
    gap = ViewRange(float(columns.time_ms[29]) + 3 * DAY_MS, float(columns.time_ms[30]) - 3 * DAY_MS)
    view.plot.set_view_range(gap)
    qtbot.waitUntil(hint.isVisible, timeout=2_000)
    assert hint.text() == "No events in this range · ← previous 31 Jan 2026 · → next 2 Mar 2026"
    assert view.latest_row_in_view() is None
    centre = view.plot.mapFromScene(view.plot.view_box.sceneBoundingRect().center())
    assert hint.geometry().contains(centre)
    qtbot.keyClick(view.plot, Qt.Key.Key_Right)  # what the hint promises
    assert view.selected_row == 30
    qtbot.waitUntil(lambda: not hint.isVisible(), timeout=2_000)
    assert view.latest_row_in_view() is not None


def test_the_latest_event_in_view_is_inside_the_window(qtbot: QtBot) -> None:
    columns = _with_a_gap()
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    window = ViewRange(float(columns.time_ms[5]) - DAY_MS / 2, float(columns.time_ms[12]) + DAY_MS / 2)
    view.plot.set_view_range(window)
    assert view.latest_row_in_view() == 12


def _search(view: TimelineView, rows: np.ndarray, text: str = "anxiety") -> None:
    """What a finished title search does: the filter learns the matching rows."""
    view.filters.search.setText(text)
    view._apply_filter(view.filter.with_text_rows(rows.astype(np.int64)), refresh_search=False)


def test_search_matches_stand_out_among_dimmed_markers(qtbot: QtBot, columns: TimelineColumns) -> None:
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    view.plot.set_view_range(ViewRange.around(float(np.median(columns.time_ms)), 30 * DAY_MS))
    _paint(view)
    frame = view.plot.layer.last_frame
    assert frame is not None and frame.rows is not None and len(frame.rows) > 20
    matches = frame.rows[::7]
    _search(view, matches)
    assert len(view.index) == len(columns)  # nothing hidden
    _paint(view)
    image = view.plot.grab().toImage()
    np.testing.assert_array_equal(np.sort(view.plot.layer.last_matches), matches)
    for row in matches[:5]:  # a yellow halo around each match's marker
        x, y = _marker_at(view, int(row))
        yellow = 0
        for px in range(x - 12, x + 13):
            for py in range(y - 12, y + 13):
                c = QColor(image.pixel(px, py))
                yellow += c.red() > 230 and 170 < c.green() < 235 and c.blue() < 140
        assert yellow >= 40, (row, yellow)


def _marker_at(view: TimelineView, row: int) -> tuple[int, int]:
    """Viewport pixel of a row's marker."""
    lane_y = view.plot.lane_layout.y_of(EventType.from_lane(int(view.columns.lane[row])))
    assert lane_y is not None
    scene = view.plot.view_box.mapViewToScene(QPointF(float(view.columns.time_ms[row]) / 1000.0, lane_y))
    point = view.plot.mapFromScene(scene)
    return point.x(), point.y()


def test_search_matches_are_findable_over_density_bars(qtbot: QtBot) -> None:
    big = synthetic_history(40_000, seed=9, years=2.0).columns(seed=9)
    view = make_view(qtbot, big, float(big.time_ms[-1]))
    matches = np.arange(100, len(big), 2_000)  # twenty scattered matches
    _search(view, matches)
    _paint(view)
    frame = view.plot.layer.last_frame
    assert frame is not None and frame.rows is None  # density bars
    drawn = view.plot.layer.last_matches
    assert 0 < len(drawn) <= len(matches) and set(drawn.tolist()) <= set(matches.tolist())
    level = frame.level
    starred = {(int(big.time_ms[r]) >> level, int(big.lane[r])) for r in drawn}
    for row in matches:  # every match shares its lane and bucket with a drawn one
        assert (int(big.time_ms[row]) >> level, int(big.lane[row])) in starred
    image = view.plot.grab().toImage()
    seen = {image.pixel(px, py) for px in range(0, image.width(), 2) for py in range(0, image.height(), 2)}
    assert FADED_BUCKET_COLOURS[Importance.NORMAL].rgb() in seen  # the rest recedes
    assert BUCKET_COLOURS[Importance.NORMAL].rgb() not in seen
    view.filters.search.clear()
    _paint(view)
    assert view.plot.layer.highlight is None and not len(view.plot.layer.last_matches)


def test_an_svg_sets_its_text_at_the_screens_size(qtbot: QtBot, columns: TimelineColumns) -> None:
    """At the SVG generator's own 72 dpi the lane names and axis labels were a quarter smaller, out of place."""
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    _paint(view)
    svg = render_svg(view, caption_for(view)).decode("utf-8")
    sizes = {float(size) for size in re.findall(r'font-size="([0-9.]+)"', svg)}
    points = view.plot.lane_axis.style["tickFont"].pointSizeF()  # the lane names' and axis labels' 9 pt
    on_screen = points * view.logicalDpiY() / 72  # 12 px at 96 dpi
    assert any(abs(size - on_screen) < 0.5 for size in sizes)
    assert not any(abs(size - points) < 0.01 for size in sizes)  # what 72 dpi made of them


def test_svg_and_pdf_exports_draw_markers_as_shapes(qtbot: QtBot, columns: TimelineColumns) -> None:
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    view.plot.set_view_range(ViewRange.around(float(np.median(columns.time_ms)), 60 * DAY_MS))
    _paint(view)
    frame = view.plot.layer.last_frame
    assert frame is not None and frame.rows is not None and len(frame.rows) > 100
    svg = render_svg(view, caption_for(view))
    assert svg.count(b"<image") == 0  # no marker, padlock or legend mark as a picture
    assert svg.count(b"<path") >= len(frame.rows) + len(Importance) + 1
    pdf = render_pdf(view, caption_for(view))
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Subtype /Image") == 0
    _paint(view)  # and the screen goes on with sprites
    assert view.plot.layer._vector_scale is None


def _doubled(block: npt.NDArray[np.int64]) -> bool:
    """Whether ``block`` is made of 2x2 squares of one colour (at some alignment): 1x pixels doubled."""
    for dy in (0, 1):
        for dx in (0, 1):
            h, w = (block.shape[0] - dy) // 2 * 2, (block.shape[1] - dx) // 2 * 2
            squares = block[dy : dy + h, dx : dx + w].reshape(h // 2, 2, w // 2, 2)
            if (squares == squares[:, :1, :, :1]).all():
                return True
    return False


def test_a_png_export_at_twice_the_screen_ratio_draws_markers_at_that_ratio(qtbot: QtBot) -> None:
    """A 2x PNG from a 1x screen: markers drawn from 2x sprites, not 1x sprites doubled (soft on paper)."""
    columns = _dense_private(1, 60_000, EventType.NOTE, Importance.NORMAL)
    columns = TimelineColumns(
        columns.ids, columns.time_ms, columns.lane, columns.importance, columns.flags * 0
    )
    view = make_view(qtbot, columns, float(columns.time_ms[-1]) + 400 * DAY_MS)  # no today line near it
    view.plot.background.setVisible(False)  # nor grid lines: the marker alone on the sheet's white
    _paint(view)
    assert view.plot.devicePixelRatioF() == 1.0
    caption = caption_for(view)
    image = render_png(view, caption, ratio=2.0).convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint32).reshape(image.height(), image.width())
    # Where the marker is on the sheet, in its device pixels (the plot sits at the sheet's margin).
    scene = view.plot.view_box.mapViewToScene(
        QPointF(
            float(columns.time_ms[0]) / 1000.0, float(view.plot.lane_layout.y_table()[EventType.NOTE.lane])
        )
    )
    at = view.plot.mapFromScene(scene)
    x, y = 2 * (MARGIN + at.x()), 2 * (sheet_layout(view, caption).plot_top + at.y())
    marker = pixels[y - 14 : y + 14, x - 14 : x + 14].astype(np.int64)  # the 9 px dot, and lane around it
    fill = QColor(IMPORTANCE_STYLES[Importance.NORMAL].brush).rgb()
    assert np.count_nonzero(marker == fill) > 40  # the marker is there, a disc of device pixels
    assert not _doubled(marker)
    # The legend's mark too.
    icon = view.legend.findChild(QWidget, "legendNormalMarker")
    corner = icon.mapTo(view.legend, QPoint(0, 0))
    left, top = 2 * (MARGIN + corner.x()), 2 * (sheet_layout(view, caption).legend_top + corner.y())
    legend_mark = pixels[top : top + 2 * icon.height(), left : left + 2 * icon.width()].astype(np.int64)
    assert np.count_nonzero(legend_mark == fill) > 40
    assert not _doubled(legend_mark)
    _paint(view)  # and the screen goes back to its own sprites
    assert view.plot.layer._ratio == 1.0


@pytest.mark.parametrize("ratio", [1.0, 2.0, 1.5])
@pytest.mark.parametrize("share", [1.0, 0.37, 0.0123, 0.00071])
def test_every_pixel_of_the_lanes_and_margins_is_painted(
    qtbot: QtBot, columns: TimelineColumns, share: float, ratio: float
) -> None:
    """The viewport paints opaque with no clearing: margins and lanes are filled apart, each pixel once.

    Rendered over magenta without Qt's own background fill, so a pixel nobody
    paints stays magenta (fractional view-box edges and windows included), into
    an image of each pixel ratio: a device pixel left out at ratio 2 would show
    whatever the last frame left there.
    """
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    first, last = float(columns.time_ms[0]), float(columns.time_ms[-1])
    span = (last - first) * share
    start = first + (last - first - span) * 0.61 + 0.3
    view.plot.set_view_range(ViewRange(start, start + span))
    viewport = view.plot.viewport()
    image = QImage(viewport.size() * ratio, QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(ratio)
    image.fill(QColor("#FF00FF"))
    viewport.render(image, renderFlags=QWidget.RenderFlag.DrawChildren)
    pixels = np.frombuffer(image.constBits(), np.uint32).reshape(image.height(), image.width())
    assert not (pixels == 0xFFFF00FF).any()


def lane_names_as_copied_and_as_drawn(view: TimelineView) -> list[tuple[str, bool]]:
    """Per lane layout: whether the lane axis copied from its image equals the axis drawn afresh.

    Also run at pixel ratio 2 in a process of its own (``_at_pixel_ratio lane_names``): a
    QApplication's ratio is fixed when it starts.
    """
    axis = view.plot.lane_axis

    def grab(cached: bool) -> QImage:
        axis.cached = cached
        view.plot.viewport().repaint()
        return view.plot.grab().toImage()

    results = []
    moved = view.plot.lane_layout.hiding(EventType.NOTE).moved(EventType.SESSION, 3)
    for layout in (view.plot.lane_layout, moved):
        view.set_lane_layout(layout)
        grab(True)  # the first paint makes the image, the second copies it
        copied, drawn = grab(True), grab(False)
        made = axis._cache is not None and len(axis._cache[1]) >= 2  # the opaque image and its overhang
        results.append((",".join(t.name for t in layout.order), made and copied == drawn))
    axis.cached = True
    return results


def test_lane_names_copied_from_their_image_look_as_drawn(qtbot: QtBot, columns: TimelineColumns) -> None:
    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    assert all(same for _layout, same in lane_names_as_copied_and_as_drawn(view))


def at_pixel_ratio_two(check: str) -> Any:
    """What a check of ``tests/ui/_at_pixel_ratio.py`` finds in a process of its own at pixel ratio 2."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.ui._at_pixel_ratio", check],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["ratio"] == 2.0
    return results["found"]


def test_lane_names_copied_from_their_image_look_as_drawn_at_pixel_ratio_two() -> None:
    layouts = at_pixel_ratio_two("lane_names")
    assert len(layouts) == 2 and all(same for _layout, same in layouts)


def lock_marks(view: TimelineView) -> dict[str, list[list[float]]]:
    """Where the locks go, in screen pixels, over dense private markers and over density bars.

    Also run at pixel ratio 2 in a process of its own (``_at_pixel_ratio locks``): the marks must sit
    where they sit at ratio 1, the same screen pixels from their markers and from each other.
    """
    marks = {}
    dense = _dense_private(300, 60_000, EventType.NOTE, Importance.NORMAL)
    bars = synthetic_history(40_000, seed=9, years=2.0).columns(seed=9)
    for name, columns in (("markers", dense), ("bars", bars)):
        show_columns(view, columns, float(columns.time_ms[-1]))
        deadline = time.monotonic() + 30
        QApplication.processEvents()
        while not view.lod_ready and time.monotonic() < deadline:
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        assert view.lod_ready
        view.plot.set_view_range(
            ViewRange(float(columns.time_ms[0]) - 60_000, float(columns.time_ms[-1]) + 60_000)
        )
        _paint(view)
        x, y = view.plot.layer.last_locks
        marks[name] = [x.round(3).tolist(), y.round(3).tolist()]
    return marks


def test_locks_sit_the_same_screen_pixels_from_their_marks_at_pixel_ratio_two(qtbot: QtBot) -> None:
    view = TimelineView(OperationRunner())
    qtbot.addWidget(view)
    view.resize(*SIZE)
    view.body.setSizes([SIZE[0], 0])
    view.show()
    at_one = lock_marks(view)
    at_two = at_pixel_ratio_two("locks")
    for name in ("markers", "bars"):
        assert len(at_one[name][0]) > 10, name
        assert at_two[name] == at_one[name], name


def test_a_widget_rendered_at_another_ratio_draws_its_lane_names_afresh(
    qtbot: QtBot, columns: TimelineColumns
) -> None:
    """Into an image of another pixel ratio (a print, say) the names are drawn, not scaled from the copy."""

    view = make_view(qtbot, columns, float(columns.time_ms[-1]))
    viewport = view.plot.viewport()
    axis = view.plot.lane_axis
    images = []
    for cached in (True, False):
        axis.cached = cached
        image = QImage(viewport.size() * 2, QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(2.0)
        viewport.render(image, renderFlags=QWidget.RenderFlag.DrawChildren)
        images.append(image)
    axis.cached = True
    assert images[0] == images[1]
