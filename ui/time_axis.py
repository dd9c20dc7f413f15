"""The time axis and what sits behind the markers: calendar ticks, lane bands, grid lines.

``CalendarAxis`` asks :mod:`viewer.time_ticks` for local-calendar ticks
(minutes to centuries, weeks on Mondays).  ``LaneBackground`` paints the
alternating lane bands and the vertical grid at the axis' major ticks in
device pixels with a handful of calls: pyqtgraph's own grid is drawn through
a QPicture across the whole plot and cost about half of every repaint.  For
the same reason the axis lays out its ticks and labels itself (pyqtgraph's
algorithm without its per-tick Python objects), and the axis and the grid
share one :class:`~viewer.time_ticks.TickCache`.
"""

from __future__ import annotations

import math
from datetime import tzinfo
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QPicture
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from ui.style import GRID_COLOUR, LANE_BAND_COLOURS
from ui.window_fit import USUAL_LINE_PX
from viewer.time_ticks import TickCache, choose_units, fit_dated_label


class TickRun(NamedTuple):
    """The ticks of one level: one pen, x positions in axis coordinates, from ``top`` to ``bottom``."""

    pen: QPen
    x: npt.NDArray[np.float64]
    top: float
    bottom: float


LABEL_GAP_PX = 2.0  # between a bottom axis' labels and its lower edge, at the least


class CalendarAxis(pg.AxisItem):
    """A bottom axis in epoch seconds labelled in local calendar terms."""

    def __init__(self, tz: tzinfo | None = None, orientation: str = "bottom") -> None:
        super().__init__(orientation)
        self.tz = tz
        self.enableAutoSIPrefix(False)
        self.tick_cache = TickCache()  # shared with the lane background's grid
        self._labels: dict[float, str] = {}
        self._text_sizes: dict[str, tuple[float, float]] = {}  # label -> (width, height) in _text_font
        self._text_font = QFont()
        self._lines = internals.PrimitiveArray(QLineF, 4)
        self._specs: Any = None  # the last generateDrawSpecs, while pyqtgraph's picture stands
        self.label_scale = 1.0  # how much wider than at 9 pt its labels are (see setStyle)

    def setStyle(self, **kwargs: Any) -> None:
        """pyqtgraph's, and how much larger than 9 pt the labels' font is.

        Tick units and the dated label's room are budgeted in 9 pt pixels; at 18
        pt "Thu 29 Oct, 21:00" ran 79 px into "Fri 30 Oct".  The axis measures in
        those pixels by dividing its width by this.
        """
        super().setStyle(**kwargs)
        font = self.style.get("tickFont")
        height = QFontMetricsF(font if font is not None else QFont()).height()
        self.label_scale = max(1.0, height / USUAL_LINE_PX)

    def usual_px(self, width_px: float) -> float:
        """``width_px`` of screen in the 9 pt pixels the tick units are budgeted in."""
        return width_px / self.label_scale

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        size = self.usual_px(size)
        major, minor = choose_units((maxVal - minVal) * 1000.0, size)
        majors = fit_dated_label(
            self.tick_cache.ticks(minVal * 1000.0, maxVal * 1000.0, major, self.tz),
            minVal * 1000.0,
            maxVal * 1000.0,
            size,
            self.tz,
        )
        self._labels = {t / 1000.0: label for t, label in majors}
        levels = [(major.approx_ms / 1000.0, list(self._labels))]
        if minor is not None:
            taken = {t for t, _ in majors}
            minors = [
                t / 1000.0
                for t, _ in self.tick_cache.ticks(
                    minVal * 1000.0, maxVal * 1000.0, minor, self.tz, labels=False
                )
            ]
            levels.append((minor.approx_ms / 1000.0, [t for t in minors if t * 1000.0 not in taken]))
        return levels

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [self._labels.get(value, "") for value in values]

    def _updateHeight(self) -> None:
        """pyqtgraph's height, or room for a whole line of the tick font if that is more.

        pyqtgraph reserves 0.8 of a label's height (and 18 px at the least,
        plenty at 9 pt); from about 12 pt on the dates lost their descenders
        ("Apr", "Jul") at the widget's edge.
        """
        super()._updateHeight()
        if self.orientation != "bottom" or self.fixedHeight is not None or not self.style["showValues"]:
            return
        font = self.style["tickFont"] if self.style["tickFont"] is not None else QFont()
        line = QFontMetricsF(font).height()
        needed = math.ceil(
            line + self.style["tickTextOffset"][1] + max(0, self.style["tickLength"]) + LABEL_GAP_PX
        )
        if needed > self.maximumHeight():
            self.setMaximumHeight(needed)
            self.setMinimumHeight(needed)

    def _lean(self) -> bool:
        """Whether :meth:`generateDrawSpecs` can take the short way: a plain bottom axis, as here."""
        style = self.style
        return (
            self.orientation == "bottom"
            and self._tickLevels is None
            and self.grid is False
            and style["showValues"]
            and style["tickAlpha"] is None
            and tuple(style["stopAxisAtTick"]) == (False, False)
        )

    def _measure(self, painter: QPainter) -> dict[str, tuple[float, float]]:
        """Label sizes as pyqtgraph measures them (height trimmed to 0.8), remembered per string and font."""
        font = painter.font()
        if font != self._text_font:
            self._text_sizes.clear()
            self._text_font = QFont(font)
        return self._text_sizes

    def generateDrawSpecs(self, p: QPainter) -> Any:
        """pyqtgraph's tick and label layout for a bottom axis, without its per-tick overhead.

        pyqtgraph's general version builds two ``Point``s per tick (a window has up
        to 250 minor ticks), measures every label with ``QPainter.boundingRect``
        and recomputes the axis' bounding rectangle per label, on every frame:
        about a fifth of a repaint.  This is the same algorithm for the one case
        used here (tested to give the same ticks and labels as pyqtgraph's), with
        the ticks of a level as one array (:class:`TickRun`, drawn with one
        ``drawLines``) and label sizes remembered per string.  Minor ticks have
        empty labels, which pyqtgraph measures as 0 x 0 and draws as nothing, so
        they are skipped.  Any other configuration goes to pyqtgraph.
        """
        if not self._lean():
            return super().generateDrawSpecs(p)
        style = self.style
        if style["tickFont"] is not None:
            p.setFont(style["tickFont"])
        bounds = self.mapRectFromParent(self.geometry())
        device = self.deviceTransform_()
        if device is None:
            return None
        span = (bounds.topLeft() + QPointF(-1.0, 1.0), bounds.topRight() + QPointF(1.0, 1.0))
        start, end = device.map(span[0]), device.map(span[1])
        length = math.hypot(end.x() - start.x(), end.y() - start.y())
        if length == 0:
            return None
        low, high = self.range
        levels = self.tickValues(low, high, length)
        dif = high - low
        x_scale = bounds.width() / dif if dif else 1.0
        offset = low * x_scale if dif else 0.0
        x_min, x_max = sorted((low * x_scale - offset, high * x_scale - offset))
        top = bounds.top()
        tick_length = style["tickLength"]
        runs: list[TickRun] = []
        positions: list[tuple[list[float], list[bool]]] = []
        for i, (_spacing, values) in enumerate(levels):
            pen = self.tickPen()
            if pen.brush().style() == Qt.BrushStyle.SolidPattern:
                pen = QPen(pen)
                colour = QColor(pen.color())
                colour.setAlpha(int(255 / (i + 1)))
                pen.setColor(colour)
            xs = np.asarray(values, dtype=np.float64) * x_scale - offset
            inside = (xs >= x_min) & (xs <= x_max)
            runs.append(TickRun(pen, xs[inside], top, top + tick_length / (i * 0.5 + 1.0)))
            positions.append((xs.tolist(), inside.tolist()))
        axis_spec = (self.pen(), span[0], span[1])

        text_top = top + (max(0, tick_length) + style["tickTextOffset"][1])
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextDontClip
        clip = self.boundingRect()
        sizes = self._measure(p)
        filled = 0.0  # label widths so far; all multiples of 1/64 px, so any order sums them exactly
        tallest = 0.0
        text_specs: list[tuple[QRectF, Any, str]] = []
        for i in range(min(len(levels), style["maxTextLevel"] + 1)):
            spacing, values = levels[i]
            strings = self.tickStrings(values, self.autoSIPrefixScale * self.scale, spacing)
            xs, inside = positions[i]
            placed: list[tuple[float, str, float, float]] = []
            for x, shown, text in zip(xs, inside, strings, strict=True):
                if not shown or not text:
                    continue
                size = sizes.get(text)
                if size is None:
                    rect = p.boundingRect(QRectF(0, 0, 100, 100), Qt.AlignmentFlag.AlignCenter, text)
                    size = sizes[text] = (rect.width(), rect.height() * 0.8)
                placed.append((x, text, *size))
            if not placed:
                continue
            level_filled = filled + sum(width for _x, _text, width, _height in placed)
            if i > 0 and any(
                len(text_specs) >= count and level_filled / length >= limit
                for count, limit in style["textFillLimits"]
            ):
                break  # too crowded: this level and finer ones stay unlabelled
            filled = level_filled
            tallest = max(tallest, *(height for _x, _text, _width, height in placed))
            for x, text, width, height in placed:
                rect = QRectF(x - width / 2.0, text_top, width, height)
                if clip & rect == rect:
                    text_specs.append((rect, flags, text))
        self._updateMaxTextSize(tallest)
        return axis_spec, runs, text_specs

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        """Draw straight onto the view, not through pyqtgraph's ``QPicture``.

        pyqtgraph records the axis into a picture and replays it; the range
        changes every frame of a pan or zoom, so each frame paid for recording,
        serialising and replaying the same lines and labels.  The specs are kept
        until pyqtgraph drops its picture (range, size or style changed), so a
        repaint for any other reason (hover, selection) reuses them.
        """
        if not self._lean():
            super().paint(p, opt, widget)
            return
        if self.picture is None or self._specs is None:
            p.save()
            if self.style["tickFont"]:
                p.setFont(self.style["tickFont"])
            self._specs = self.generateDrawSpecs(p)
            p.restore()
            self.picture = (
                QPicture()
            )  # an empty stand-in: pyqtgraph resets it to None when the specs go stale
        if self._specs is None:
            return
        p.save()
        if self.style["tickFont"]:
            p.setFont(self.style["tickFont"])
        self.drawPicture(p, *self._specs)
        p.restore()

    def drawPicture(self, p: QPainter, axisSpec: Any, tickSpecs: Any, textSpecs: Any) -> None:
        """pyqtgraph's drawing of the specs, with each :class:`TickRun` as one ``drawLines`` call."""
        if not tickSpecs or not isinstance(tickSpecs[0], TickRun):
            super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        pen, start, end = axisSpec
        p.setPen(pen)
        p.drawLine(start, end)
        for run in tickSpecs:
            if not len(run.x):
                continue
            p.setPen(run.pen)
            self._lines.resize(len(run.x))
            lines = self._lines.ndarray()
            lines[:, 0] = lines[:, 2] = run.x
            lines[:, 1] = run.top
            lines[:, 3] = run.bottom
            p.drawLines(*self._lines.drawargs())
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setPen(self.textPen())
        p.setClipRect(self.boundingRect().toAlignedRect())
        for rect, flags, text in textSpecs:
            p.drawText(rect, int(flags), text)


class LaneBackground(pg.GraphicsObject):
    """Alternating lane bands and major-tick grid lines behind the events."""

    def __init__(self, axis: CalendarAxis) -> None:
        super().__init__()
        self.axis = axis
        self.rows = 8
        self.setZValue(-20)
        self._band_colours = [QColor(c) for c in LANE_BAND_COLOURS]
        self._grid_pen = QPen(QColor(GRID_COLOUR), 1)
        self._grid_pen.setCosmetic(True)

    def set_rows(self, rows: int) -> None:
        self.prepareGeometryChange()
        self.rows = rows
        self.update()

    def boundingRect(self) -> QRectF:
        # Any time at all: the bands run across whatever the view shows (seconds, about +-300k years).
        return QRectF(-1e13, -0.5, 2e13, max(self.rows, 1))

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        view = self.getViewBox()
        if view is None:
            return
        (x0, x1), _ = view.viewRange()
        transform = painter.transform()
        sx, dx, sy, dy = transform.m11(), transform.m31(), transform.m22(), transform.m32()
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(Qt.PenStyle.NoPen)
        left, right = x0 * sx + dx, x1 * sx + dx
        # Every pixel of the lanes is filled here, once, in whole device pixels (the fast path); the
        # view fills only the margins around them (``TimelinePlot.drawBackground``).  Filling the
        # lanes with the background first and then every other band wrote a third more bytes a
        # frame (7 MB at pixel ratio 2), which shows when the memory bus is busy.
        area = transform.mapRect(self.mapRectFromScene(view.sceneBoundingRect())).toAlignedRect()
        x, width = area.left(), area.width()  # to the view box's edges, partial pixels included
        plain = self._band_colours[0]
        edges = [round((row - 0.5) * sy + dy) for row in range(self.rows + 1)]
        bands_top, bands_bottom = min(edges[0], edges[-1]), max(edges[0], edges[-1])
        top, bottom = area.top(), area.bottom() + 1
        if top < bands_top:
            painter.fillRect(QRect(x, top, width, min(bands_top, bottom) - top), plain)
        for row in range(self.rows):
            a, b = edges[row], edges[row + 1]
            painter.fillRect(QRect(x, min(a, b), width, abs(b - a)), self._band_colours[row % 2])
        if bands_bottom < bottom:
            start = max(bands_bottom, top)
            painter.fillRect(QRect(x, start, width, bottom - start), plain)
        major, _minor = choose_units((x1 - x0) * 1000.0, self.axis.usual_px(max(right - left, 1.0)))
        # The axis' own labelled ticks when it chose the same unit: the cache computes them once.
        ticks = self.axis.tick_cache.ticks(x0 * 1000.0, x1 * 1000.0, major, self.axis.tz)
        if ticks:
            xs = np.array([t for t, _ in ticks], dtype=np.float64) * (sx / 1000.0) + dx
            top, bottom = (self.rows - 0.5) * sy + dy, -0.5 * sy + dy
            painter.setPen(self._grid_pen)
            painter.drawLines([QLineF(x, top, x, bottom) for x in xs])
        painter.restore()
