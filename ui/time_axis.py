"""The time axis and what sits behind the markers: calendar ticks, lane bands, grid lines.

``CalendarAxis`` asks :mod:`viewer.time_ticks` for local-calendar ticks
(minutes to centuries, weeks on Mondays).  ``LaneBackground`` paints the
alternating lane bands and the vertical grid at the axis' major ticks in
device pixels with a handful of calls: pyqtgraph's own grid is drawn through
a QPicture across the whole plot and cost about half of every repaint.
"""

from __future__ import annotations

import math
from datetime import tzinfo

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from ui.style import GRID_COLOUR, LANE_BAND_COLOURS
from viewer.time_ticks import choose_units, tick_times


class CalendarAxis(pg.AxisItem):
    """A bottom axis in epoch seconds labelled in local calendar terms."""

    def __init__(self, tz: tzinfo | None = None, orientation: str = "bottom") -> None:
        super().__init__(orientation)
        self.tz = tz
        self.enableAutoSIPrefix(False)
        self._labels: dict[float, str] = {}

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        major, minor = choose_units((maxVal - minVal) * 1000.0, size)
        majors = tick_times(minVal * 1000.0, maxVal * 1000.0, major, self.tz)
        self._labels = {t / 1000.0: label for t, label in majors}
        levels = [(major.approx_ms / 1000.0, list(self._labels))]
        if minor is not None:
            taken = {t for t, _ in majors}
            minors = [
                t / 1000.0
                for t, _ in tick_times(minVal * 1000.0, maxVal * 1000.0, minor, self.tz, labels=False)
            ]
            levels.append((minor.approx_ms / 1000.0, [t for t in minors if t * 1000.0 not in taken]))
        return levels

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [self._labels.get(value, "") for value in values]


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
        # The plot's own background is the first band colour, so only every other band is filled,
        # and with integer rectangles (the fast path): at pixel ratio 2 fills dominate a frame.
        for row in range(1, self.rows, 2):
            top = round((row + 0.5) * sy + dy)
            bottom = round((row - 0.5) * sy + dy)
            painter.fillRect(
                QRect(math.floor(left), min(top, bottom), math.ceil(right - left), abs(bottom - top)),
                self._band_colours[1],
            )
        major, _minor = choose_units((x1 - x0) * 1000.0, max(right - left, 1.0))
        ticks = tick_times(x0 * 1000.0, x1 * 1000.0, major, self.axis.tz, labels=False)
        if ticks:
            xs = np.array([t for t, _ in ticks], dtype=np.float64) * (sx / 1000.0) + dx
            top, bottom = (self.rows - 0.5) * sy + dy, -0.5 * sy + dy
            painter.setPen(self._grid_pen)
            painter.drawLines([QLineF(x, top, x, bottom) for x in xs])
        painter.restore()
