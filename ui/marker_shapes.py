"""The marks the lanes draw (importance markers, padlocks, search halos), as sprites and as paths.

On screen and in PNG exports every mark is a pixmap rendered once at the
device's pixel ratio and stamped with ``drawPixmapFragments`` (a handful of
C++ calls per frame).  SVG and PDF exports (and printing) want shapes, not
an ``<image>`` per marker, so each sprite carries the same mark as vector
paths too; the layer draws those instead on a vector device, where a loop
over the marks is fine because it runs once per export.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPixmap, QTransform

from ui.style import IMPORTANCE_STYLES, PRIVATE_OUTLINE
from viewer.domain import Importance

FADED_OPACITY = 0.3  # everything but the matches while a search highlights them
HALO_COLOUR = QColor(255, 200, 0, 170)
HALO_DIAMETER = 24
LOCK_SIZE = 10

VectorMark = Callable[[QPainter, float, float, float], None]  # painter, centre x, y, scale


@dataclass(frozen=True)
class Sprite:
    """One mark: a pixmap at a pixel ratio, and a function drawing it as paths at any scale."""

    pixmap: QPixmap
    vector: VectorMark


def _vector(
    fills: list[tuple[QPainterPath, QBrush]], strokes: list[tuple[QPainterPath, QPen]], opacity: float
) -> VectorMark:
    """Paths in logical pixels around (0, 0), drawn centred on a point at a scale."""

    def draw(painter: QPainter, x: float, y: float, scale: float) -> None:
        painter.save()
        painter.translate(x, y)
        painter.scale(scale, scale)
        painter.setOpacity(opacity)
        for path, brush in fills:
            painter.fillPath(path, brush)
        for path, pen in strokes:
            painter.strokePath(path, pen)
        painter.restore()

    return draw


def faded_pixmap(pixmap: QPixmap, opacity: float) -> QPixmap:
    """A sprite drawn at ``opacity``, baked in, so the frame keeps the fast opaque-fragment path."""
    out = QPixmap(pixmap.size())
    out.setDevicePixelRatio(pixmap.devicePixelRatio())
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.setOpacity(opacity)
    painter.drawPixmap(0, 0, pixmap)
    painter.end()
    return out


def marker_sprite(importance: Importance, ratio: float) -> QPixmap:
    """The marker of an importance level at a device pixel ratio (the lanes and the legend share it)."""
    style = IMPORTANCE_STYLES[importance]
    pen = pg.mkPen(style.outline, width=style.outline_width * ratio)
    image = pg.graphicsItems.ScatterPlotItem.renderSymbol(
        style.symbol, style.size * ratio, pen, pg.mkBrush(style.brush)
    )
    pixmap = QPixmap.fromImage(image)
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def marker(importance: Importance, ratio: float, opacity: float = 1.0) -> Sprite:
    style = IMPORTANCE_STYLES[importance]
    symbol: QPainterPath = pg.graphicsItems.ScatterPlotItem.Symbols[style.symbol]
    path = QTransform.fromScale(style.size, style.size).map(symbol)
    pen = QPen(QColor(style.outline), style.outline_width)
    pixmap = marker_sprite(importance, ratio)
    return Sprite(
        pixmap if opacity == 1.0 else faded_pixmap(pixmap, opacity),
        _vector([(path, QBrush(QColor(style.brush)))], [(path, pen)], opacity),
    )


def _lock_paths() -> tuple[QPainterPath, QPainterPath]:
    """Shackle (stroked) and body (filled) of the padlock, in a 10 px box around (0, 0)."""
    half = LOCK_SIZE / 2
    shackle = QPainterPath()
    arc = QRectF(2.5 - half, 0.8 - half, 5, 6)
    shackle.arcMoveTo(arc, 0)
    shackle.arcTo(arc, 0, 180)
    body = QPainterPath()
    body.addRect(QRectF(1.5 - half, 4.2 - half, 7, 5.3))
    return shackle, body


def lock_sprite(ratio: float) -> QPixmap:
    """A small padlock drawn beside private markers."""
    size = int(LOCK_SIZE * ratio)
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate(size / 2, size / 2)
    painter.scale(ratio, ratio)
    shackle, body = _lock_paths()
    colour = QColor(PRIVATE_OUTLINE)
    painter.strokePath(shackle, QPen(colour, 1.4))
    painter.fillPath(body, colour)
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def lock(ratio: float, opacity: float = 1.0) -> Sprite:
    shackle, body = _lock_paths()
    colour = QColor(PRIVATE_OUTLINE)
    pixmap = lock_sprite(ratio)
    return Sprite(
        pixmap if opacity == 1.0 else faded_pixmap(pixmap, opacity),
        _vector([(body, QBrush(colour))], [(shackle, QPen(colour, 1.4))], opacity),
    )


def halo(ratio: float) -> Sprite:
    """The yellow disc behind a search match."""
    size = int(HALO_DIAMETER * ratio)
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(HALO_COLOUR)
    painter.drawEllipse(QRectF(0.5, 0.5, size - 1.0, size - 1.0))
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    disc = QPainterPath()
    radius = HALO_DIAMETER / 2 - 0.5
    disc.addEllipse(QRectF(-radius, -radius, 2 * radius, 2 * radius))
    return Sprite(pixmap, _vector([(disc, QBrush(HALO_COLOUR))], [], 1.0))
