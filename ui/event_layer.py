"""Draws a timeline frame: markers as pixmap fragments, density as rectangles.

The layer paints in device pixels (it resets the painter's transform and maps
times to pixels itself), so markers keep their size at any zoom, and a whole
frame is drawn with a handful of C++ calls: one ``drawPixmapFragments`` per
marker sprite and one ``drawRects`` per importance colour, never a Python
loop per event.  What to draw comes from a frame provider (the LOD pyramid,
or brute force for the naive baseline).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
import shiboken6
from pyqtgraph.Qt import internals
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPaintEngine, QPainter, QPen, QTransform
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from ui.marker_shapes import Sprite, halo, lock, marker
from ui.style import IMPORTANCE_STYLES
from viewer.domain import EventType, Importance
from viewer.lane_layout import LaneLayout
from viewer.services.timeline_query import TimelineColumns
from viewer.timeline_frame import Buckets, Frame, one_critical_per_bucket, rows_in_window
from viewer.timeline_marks import spaced

log = logging.getLogger(__name__)
LANE_COUNT = len(EventType)
LOCK_GAP_PX = 16  # padlocks (10 px wide) at least this far apart in a lane
FADED_OPACITY = 0.3
# Where marks go out as paths: files, printers, and a picture recorded for a printer (ui.export).
VECTOR_ENGINES = frozenset(
    {QPaintEngine.Type.SVG, QPaintEngine.Type.Pdf, QPaintEngine.Type.MacPrinter, QPaintEngine.Type.Picture}
)
MAX_BAR_FRACTION = 0.72  # the busiest density bar fills this much of its lane's height
FrameProvider = Callable[[float, float, int], Frame]
FloatArray = npt.NDArray[np.float64]


def _tint(colour: str, alpha: float) -> QColor:
    """``colour`` as if drawn at ``alpha`` over white, but opaque (cheap to fill)."""
    base = QColor(colour)
    return QColor(
        round(255 - (255 - base.red()) * alpha),
        round(255 - (255 - base.green()) * alpha),
        round(255 - (255 - base.blue()) * alpha),
    )


BUCKET_COLOURS = {level: _tint(style.colour, 0.8) for level, style in IMPORTANCE_STYLES.items()}
# While a search highlights its matches, everything else recedes to these.
FADED_BUCKET_COLOURS = {level: _tint(style.colour, 0.25) for level, style in IMPORTANCE_STYLES.items()}


class Bars(NamedTuple):
    """Density bars in whole screen pixels (per bucket), and each lane's vertical centre."""

    left: FloatArray
    right: FloatArray
    top: FloatArray
    height: FloatArray
    centre: FloatArray  # per lane index


class IntRectArray:
    """Integer rectangles in one C array, any slice of it filled with one ``QPainter.drawRects`` call.

    QPainter fills QRect arrays much faster than QRectF arrays.  pyqtgraph's
    ``PrimitiveArray`` always stores float64, which is QRectF's layout, not
    QRect's (four ints: x1, y1, x2, y2 with x2 = x + width - 1): handed over
    as QRects its memory drew garbage, so this class keeps int32 rows.
    """

    def __init__(self) -> None:
        self._array = np.empty((0, 4), dtype=np.int32)

    def fill_edges(
        self,
        left: FloatArray,
        top: FloatArray,
        right: FloatArray,
        bottom: FloatArray,
        scale: int,
        order: npt.NDArray[np.intp],
    ) -> None:
        """Hold the rectangles with these whole-pixel edges, times ``scale``, in ``order``.

        The edges go into a contiguous array one edge per row (a numpy pass
        writing contiguous memory is twice as fast as one writing every fourth
        int), then move over as QRect rows in ``order`` in one pass.
        """
        n = len(left)
        if len(self._array) < n:
            self._array = np.empty((max(n, 2 * len(self._array)), 4), dtype=np.int32)
        edges = np.empty((4, n), dtype=np.int32)
        edges[0] = left
        edges[1] = top
        edges[2] = right
        edges[3] = bottom
        if scale != 1:
            edges *= scale
        edges[2:] -= 1  # QRect's right and bottom are the last pixel inside
        np.take(edges.T, order, axis=0, out=self._array[:n], mode="clip")  # "clip": unbuffered

    def draw(self, painter: QPainter, start: int, end: int) -> None:
        """Fill the held rectangles ``[start, end)`` with the painter's brush, in one call."""
        if end > start:
            first = shiboken6.wrapInstance(self._array.ctypes.data + start * self._array.strides[0], QRect)
            painter.drawRects(first, end - start)


class EventLayer(pg.GraphicsObject):
    """The markers and density of one patient's (filtered) events."""

    def __init__(self) -> None:
        super().__init__()
        self.columns = TimelineColumns.empty()
        self.provider: FrameProvider | None = None
        self.selected_row: int | None = None
        self.highlight: npt.NDArray[np.bool_] | None = None  # per row: a search match (while searching)
        self.match_rows: npt.NDArray[np.int64] | None = None  # the same, as sorted rows
        self.last_matches = np.empty(0, np.int64)  # the match rows the last frame drew, for tests
        self.last_frame: Frame | None = None
        self.last_locks: tuple[FloatArray, FloatArray] = (np.empty(0), np.empty(0))  # device px, for tests
        self.paint_error: Exception | None = None
        self._lane_y = LaneLayout().y_table()
        self._rows = LANE_COUNT
        self._bounds = QRectF(0, -0.5, 1, LANE_COUNT)
        self._ratio = 0.0
        self._unit = 1.0
        self._sprites: dict[Importance, Sprite] = {}
        self._faded: dict[Importance, Sprite] = {}
        self._halo: Sprite | None = None
        self._lock: Sprite | None = None
        self._faded_lock: Sprite | None = None
        self._vector_scale: float | None = None  # set while painting on an SVG or PDF device
        self._fragments = internals.PrimitiveArray(QPainter.PixmapFragment, 10)
        self._rects = IntRectArray()

    def set_data(self, columns: TimelineColumns, provider: FrameProvider | None) -> None:
        self.columns = columns
        self.provider = provider
        self.selected_row = None
        self.highlight = None
        self.match_rows = None
        self._update_bounds()

    def set_matches(self, rows: npt.NDArray[np.int64] | None) -> None:
        """Search matches (sorted rows) to highlight among dimmed events; None ends the search."""
        self.match_rows = rows
        if rows is None:
            self.highlight = None
        else:
            self.highlight = np.zeros(len(self.columns), dtype=np.bool_)
            self.highlight[rows] = True
        self.update()

    def set_lane_rows(self, lane_y: npt.NDArray[np.float64], rows: int) -> None:
        """Where each lane's markers go (y per lane index; hidden lanes are filtered out upstream)."""
        self._lane_y = np.nan_to_num(lane_y, nan=-10.0)
        self._rows = rows
        self._update_bounds()

    def _update_bounds(self) -> None:
        self.prepareGeometryChange()
        if len(self.columns):
            first, last = float(self.columns.time_ms[0]) / 1000, float(self.columns.time_ms[-1]) / 1000
            self._bounds = QRectF(first - 1, -0.5, max(last - first, 1) + 2, self._rows)
        else:
            self._bounds = QRectF(0, -0.5, 1, self._rows)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def _ensure_sprites(self, ratio: float) -> None:
        if ratio == self._ratio:
            return
        self._ratio = ratio
        self._sprites = {importance: marker(importance, ratio) for importance in Importance}
        self._faded = {importance: marker(importance, ratio, FADED_OPACITY) for importance in Importance}
        self._halo = halo(ratio)
        self._lock = lock(ratio)
        self._faded_lock = lock(ratio, 0.45)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        view = self.getViewBox()
        if view is None or self.provider is None or not len(self.columns):
            self.last_frame = None
            return
        (x0, x1), _ = view.viewRange()
        width_px = max(int(view.width()), 1)
        frame = self.provider(x0 * 1000.0, x1 * 1000.0, width_px)
        self.last_frame = frame
        transform = painter.transform()  # item (data) coordinates to device pixels
        sx, dx = transform.m11(), transform.m31()
        sy, dy = transform.m22(), transform.m32()
        engine = painter.paintEngine()
        vector = engine is not None and engine.type() in VECTOR_ENGINES
        if vector:  # exports: marks as paths, sized by how many device units a screen pixel became
            ratio = abs(sx) * (x1 - x0) / max(view.width(), 1.0)
        else:  # the device pixels per screen pixel of what is painted on: the screen, or a 2x PNG export
            ratio = round(abs(painter.deviceTransform().m11() / sx), 6) if sx else 1.0
        self._vector_scale = ratio if vector else None
        # How far apart marks sit, in drawing units per screen pixel: the painter draws in screen
        # pixels (the device scales them to its own), an export in its own units.  A lock 8 px
        # beside its marker is 8 screen px at every pixel ratio.
        self._unit = ratio if vector else 1.0
        self._ensure_sprites(1.0 if vector else ratio)
        clip = transform.mapRect(self.mapRectFromScene(view.sceneBoundingRect()))  # in device units
        painter.save()
        painter.resetTransform()
        # Sprites are rendered at the device's pixel ratio and land 1:1 on device pixels; smoothing
        # would only blur them and sends Qt down a per-fragment path ~50x slower.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        # A plain rectangle clip: a first paint exposes a complex region, and clipping thousands of
        # fragments against a region is ~50x slower than against the view box's rectangle.
        painter.setClipRect(clip, Qt.ClipOperation.ReplaceClip)
        searching = self.highlight is not None
        self.last_matches = np.empty(0, np.int64)
        if frame.rows is None:
            bars = self._bucket_bars(frame.buckets, sx, dx, sy, dy)
            self._paint_buckets(painter, frame.buckets, bars, faded=searching)
            if self.highlight is not None and self.match_rows is not None:
                critical = frame.critical_rows
                self._paint_markers(painter, critical[~self.highlight[critical]], sx, dx, sy, dy, faded=True)
                in_window = rows_in_window(self.match_rows, self.columns, x0 * 1000.0, x1 * 1000.0)
                self._paint_matches(
                    painter, one_critical_per_bucket(self.columns, in_window, frame.level), sx, dx, sy, dy
                )
            else:  # every one critical: one sprite, no sorting by level
                x, y = self._positions(frame.critical_rows, sx, dx, sy, dy)
                self._draw_fragments(painter, self._sprites[Importance.CRITICAL], x, y)
            # Locks on one row above the tallest bars of each lane, so they read as a line of marks,
            # each over the middle of its bucket.
            buckets = frame.buckets
            if len(buckets):
                private = buckets.private
                half_ms = float(buckets.end_ms[0] - buckets.start_ms[0]) / 2
                lock_x = (buckets.start_ms[private] + half_ms) * (sx / 1000.0) + dx
                lane = buckets.lane[private]
                lift = np.round(abs(sy) * MAX_BAR_FRACTION / 2) + 3 * self._unit
                self._paint_locks(painter, lock_x, bars.centre[lane] - lift, lane)
            else:
                self.last_locks = (np.empty(0), np.empty(0))
        else:
            if self.highlight is not None:
                hit = self.highlight[frame.rows]
                self._paint_markers(painter, frame.rows[~hit], sx, dx, sy, dy, faded=True)
                self._paint_matches(painter, frame.rows[hit], sx, dx, sy, dy)
            else:
                self._paint_markers(painter, frame.rows, sx, dx, sy, dy)
            private = frame.rows[self.columns.is_private[frame.rows]]
            x, y = self._positions(private, sx, dx, sy, dy)
            self._paint_locks(painter, x + 8 * self._unit, y - 9 * self._unit, self.columns.lane[private])
        self._paint_selection(painter, sx, dx, sy, dy)
        painter.restore()

    def _positions(
        self, rows: npt.NDArray[np.int64], sx: float, dx: float, sy: float, dy: float
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        x = self.columns.time_ms[rows].astype(np.float64) * (sx / 1000.0) + dx
        y = self._lane_y[self.columns.lane[rows]] * sy + dy
        return x, np.asarray(y)

    def _draw_fragments(
        self, painter: QPainter, sprite: Sprite | None, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> None:
        if not len(x) or sprite is None:
            return
        if self._vector_scale is not None:
            scale = self._vector_scale
            for px, py in zip(x.tolist(), y.tolist(), strict=True):
                sprite.vector(painter, px, py, scale)
            return
        pixmap = sprite.pixmap
        width = pixmap.width()
        height = pixmap.height()
        ratio = pixmap.devicePixelRatio()
        # At a whole pixel ratio the fragments go over in device pixels under a 1/ratio transform, as
        # the bars do: Qt then blits each sprite 1:1 instead of through its scaling loop (which it
        # takes for any scaled transform, even one that lands 1:1), the same pixels a tenth of a
        # millisecond sooner per frame at ratio 2.
        device = painter.device()
        device_ratio = device.devicePixelRatioF() if device is not None else 1.0
        scale = int(ratio) if ratio > 1 and ratio.is_integer() and ratio == device_ratio else 1
        self._fragments.resize(len(x))
        frags = self._fragments.ndarray()
        frags[:, 0] = x * scale
        frags[:, 1] = y * scale
        frags[:, 2:4] = 0  # source x, y
        frags[:, 4] = width
        frags[:, 5] = height
        frags[:, 6] = scale / ratio  # the sprite is rendered at device resolution
        frags[:, 7] = scale / ratio
        frags[:, 8] = 0  # rotation
        frags[:, 9] = 1  # opacity
        if scale == 1:
            painter.drawPixmapFragments(*self._fragments.drawargs(), pixmap)
            return
        transform = painter.worldTransform()
        painter.setWorldTransform(QTransform.fromScale(1 / scale, 1 / scale), True)
        painter.drawPixmapFragments(*self._fragments.drawargs(), pixmap)
        painter.setWorldTransform(transform)

    def _paint_markers(
        self,
        painter: QPainter,
        rows: npt.NDArray[np.int64],
        sx: float,
        dx: float,
        sy: float,
        dy: float,
        *,
        faded: bool = False,
    ) -> None:
        if not len(rows):
            return
        x, y = self._positions(rows, sx, dx, sy, dy)
        importance = self.columns.importance[rows]
        sprites = self._faded if faded else self._sprites
        for level in Importance:  # low first, so critical markers end up on top
            chosen = importance == int(level)
            self._draw_fragments(painter, sprites[level], x[chosen], y[chosen])

    def _paint_matches(
        self, painter: QPainter, rows: npt.NDArray[np.int64], sx: float, dx: float, sy: float, dy: float
    ) -> None:
        """Search matches: a halo, then the marker at full strength, over the dimmed rest."""
        self.last_matches = rows
        if not len(rows):
            return
        x, y = self._positions(rows, sx, dx, sy, dy)
        self._draw_fragments(painter, self._halo, x, y)
        self._paint_markers(painter, rows, sx, dx, sy, dy)

    def _paint_locks(
        self,
        painter: QPainter,
        x: npt.NDArray[np.float64],
        y: npt.NDArray[np.float64],
        lane: npt.NDArray[np.int8],
    ) -> None:
        """Padlocks at (x, y), one per cluster: overlapping locks used to pile into black blobs."""
        if not len(x):
            self.last_locks = (x, y)
            return
        keep = spaced(x, lane, LOCK_GAP_PX * self._unit)
        self.last_locks = (x[keep], y[keep])
        lock = self._lock if self.highlight is None else self._faded_lock  # a search dims them too
        self._draw_fragments(painter, lock, x[keep], y[keep])

    def _bucket_bars(self, buckets: Buckets, sx: float, dx: float, sy: float, dy: float) -> Bars:
        """Each bucket's bar in whole screen pixels, in as few passes over the buckets as numpy allows.

        A repaint of a million events draws some 5,000 bars; each numpy pass
        over them costs a few microseconds whatever it computes, so the bars'
        edges are computed in place and the lanes' centres once per lane.
        """
        centre = np.round(self._lane_y * sy + dy)  # per lane, not per bar
        if not len(buckets):
            empty = np.empty(0)
            return Bars(empty, empty, empty, empty, centre)
        scale = sx / 1000.0
        left = buckets.start_ms * scale
        left += dx
        right = left + float(buckets.end_ms[0] - buckets.start_ms[0]) * scale  # buckets share a width
        np.floor(left, out=left)
        np.ceil(right, out=right)
        np.maximum(right, left + 1.0, out=right)  # at least a pixel wide
        # Height grows with the log of the count so one busy bucket does not flatten the rest.
        height = np.log10(np.maximum(buckets.count, 1))
        height /= 4.0
        height += 0.25
        np.clip(height, 0.25, 0.9, out=height)
        height *= abs(sy) * (MAX_BAR_FRACTION / 0.9)
        np.round(height, out=height)
        top = centre[buckets.lane] - np.floor(height / 2)
        return Bars(left, right, top, height, centre)

    def _paint_buckets(self, painter: QPainter, buckets: Buckets, bars: Bars, *, faded: bool = False) -> None:
        if not len(buckets):
            return
        # At a whole pixel ratio (2) the rectangles go over in device pixels with nothing left to
        # scale, which QPainter fills a tenth faster; whole pixels times a whole ratio are the very
        # same device pixels.  A fractional ratio, SVG, PDF and printers draw as given.
        device = painter.device()
        ratio = device.devicePixelRatioF() if device is not None else 1.0
        scale = int(ratio) if ratio > 1 and ratio.is_integer() else 1
        # Low importance first, so the higher ones end up on top where neighbours share a pixel column;
        # a stable sort keeps the buckets' order within a level.  One array for all levels, sorted
        # once, then one drawRects per level over its slice.
        order = np.argsort(buckets.max_importance, kind="stable")
        self._rects.fill_edges(bars.left, bars.top, bars.right, bars.top + bars.height, scale, order)
        levels = buckets.max_importance[order]
        values = np.arange(len(Importance))
        starts = np.searchsorted(levels, values, side="left").tolist()
        ends = np.searchsorted(levels, values, side="right").tolist()
        colours = FADED_BUCKET_COLOURS if faded else BUCKET_COLOURS
        # Whole device pixels, opaque, no antialiasing: blended antialiased rectangles cost four
        # times as much to fill for no visible gain.
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        transform = painter.worldTransform()
        painter.setWorldTransform(QTransform.fromScale(1 / scale, 1 / scale), True)
        for level in Importance:
            if ends[level] > starts[level]:
                painter.setBrush(colours[level])
                self._rects.draw(painter, starts[level], ends[level])
        painter.setWorldTransform(transform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)

    def _paint_selection(self, painter: QPainter, sx: float, dx: float, sy: float, dy: float) -> None:
        if self.selected_row is None:
            return
        rows = np.array([self.selected_row], dtype=np.int64)
        x, y = self._positions(rows, sx, dx, sy, dy)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor("#111111"), 2))
        painter.drawEllipse(QPointF(x[0], y[0]), 12, 12)
