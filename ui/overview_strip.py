"""The overview strip: the whole history as density per lane, the visible window as a box."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QWidget

from ui.time_axis import CalendarAxis
from viewer.lane_layout import LaneLayout
from viewer.timeline_index import TimelineIndex
from viewer.view_range import ViewRange


def density_image(
    index: TimelineIndex, history: ViewRange, layout: LaneLayout, bins: int = 400
) -> np.ndarray:
    """RGBA shading of each shown lane by how many visible events fall in each of ``bins`` time slices.

    Rows follow the lane layout, so the strip reads like the lanes above it.
    Pure numpy (no Qt), so a big history's strip is computed off the GUI thread.
    """
    columns = index.columns
    rows = index.visible_rows
    lanes = layout.rows
    span = max(int(history.span_ms), 1)
    slot = (columns.time_ms[rows] - int(history.start_ms)) * bins // span
    np.clip(slot, 0, bins - 1, out=slot)
    row_of_lane = np.nan_to_num(layout.y_table(), nan=0).astype(np.int64)
    cell = row_of_lane[columns.lane[rows]] * bins + slot
    density = np.bincount(cell, minlength=lanes * bins).reshape(lanes, bins)
    shade = np.log1p(density.astype(np.float64))
    peak = float(shade.max()) or 1.0
    rgba = np.zeros((lanes, bins, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = 0, 90, 160
    rgba[..., 3] = (255 * shade / peak).astype(np.uint8)
    return rgba


CLICK_SLACK_PX = 5  # a click this close to the box is a missed grab of its edge, not a jump


class OverviewStrip(pg.PlotWidget):
    """The whole history, density per lane, with the visible window as a draggable box.

    Signals:
        windowMoved(object): the user dragged the box to a new ``ViewRange``.
    """

    windowMoved = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="#FAFAFA", axisItems={"bottom": CalendarAxis()})
        self.setObjectName("timelineOverview")
        self.setAccessibleName("Timeline overview")
        # A little smaller than the lanes' labels, growing with the app's font; the strip grows by what
        # its labels grow (78 px at the usual 8 pt).
        font = QFont(QApplication.font())
        font.setPointSizeF(max(font.pointSizeF() - 1.0, 6.0))
        self.setFixedHeight(
            78 + max(0, QFontMetrics(font).height() - QFontMetrics(QFont("Sans Serif", 8)).height())
        )
        item = self.getPlotItem()
        item.hideAxis("left")
        item.hideButtons()
        item.setMenuEnabled(False)
        item.getAxis("bottom").setStyle(tickFont=font)
        item.getAxis("bottom").setTextPen(pg.mkPen("#5A5A5A"))  # pyqtgraph's grey was 2.8:1 on the strip
        self.getViewBox().setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image)
        self.window_box = pg.LinearRegionItem(
            brush=pg.mkBrush(0, 114, 178, 45), pen=pg.mkPen("#0072B2", width=1.5)
        )
        self.window_box.setZValue(10)
        item.addItem(self.window_box)
        self._updating = False
        self.window_box.sigRegionChanged.connect(self._on_region)
        self.window_box.sigRegionChangeFinished.connect(self._on_region)  # a drag's last step comes only here
        self.window_box.sigRegionChangeFinished.connect(self._fit)
        self.scene().sigMouseClicked.connect(self._on_click)
        self._history: ViewRange | None = None
        self._span: tuple[float, float] | None = None  # the strip's time range now, in seconds

    def set_density(self, index: TimelineIndex, history: ViewRange, layout: LaneLayout) -> None:
        """Compute and show the density now (small histories)."""
        self.show_density(density_image(index, history, layout), history)

    def clear_density(self, history: ViewRange, lanes: int) -> None:
        """An empty strip over ``history`` while the density is computed in the background."""
        self.show_density(np.zeros((lanes, 1, 4), dtype=np.uint8), history)

    def show_density(self, rgba: np.ndarray, history: ViewRange) -> None:
        self._history = history
        lanes = rgba.shape[0]
        self.image.setImage(rgba, autoLevels=False)
        self.image.setRect(history.start_ms / 1000, 0, history.span_ms / 1000, lanes)
        self.getViewBox().setRange(yRange=(0, lanes), padding=0)
        self._span = None
        self._fit()

    def show_window(self, view: ViewRange) -> None:
        self._updating = True
        try:
            self.window_box.setRegion((view.start_ms / 1000, view.end_ms / 1000))
        finally:
            self._updating = False
        self._fit()

    def _on_click(self, event: Any) -> None:
        """A click beside the box moves the window there, centred on the click (its span kept)."""
        if event.button() != Qt.MouseButton.LeftButton or self._history is None:
            return
        view_box = self.getViewBox()
        if not view_box.sceneBoundingRect().contains(event.scenePos()):
            return
        at = float(view_box.mapSceneToView(event.scenePos()).x())
        low, high = self.window_box.getRegion()
        slack = (
            CLICK_SLACK_PX
            * (view_box.viewRange()[0][1] - view_box.viewRange()[0][0])
            / max(view_box.width(), 1)
        )
        if low - slack <= at <= high + slack:
            return  # on the box or its edge: dragging them is their own gesture
        span = (high - low) * 1000.0
        self.windowMoved.emit(ViewRange.around(at * 1000.0, span))

    def _dragging(self) -> bool:
        return bool(self.window_box.moving or any(line.moving for line in self.window_box.lines))

    def _fit(self) -> None:
        """Span the history, and the window too where it reaches past it, so the box stays whole.

        Pan and zoom may go a little beyond the history; the box then ran off the
        strip, its edges out of sight and out of reach.  While the box is dragged
        the strip holds still (rescaling under the pointer would move the box
        away from it), and fits once the drag ends.
        """
        if self._history is None or self._dragging():
            return
        low, high = self.window_box.getRegion()
        span = (min(self._history.start_ms / 1000, low), max(self._history.end_ms / 1000, high))
        if span != self._span:
            self._span = span
            self.getViewBox().setXRange(*span, padding=0)

    def _on_region(self) -> None:
        if self._updating:
            return
        start, end = self.window_box.getRegion()
        if end > start:
            self.windowMoved.emit(ViewRange(start * 1000.0, end * 1000.0))
