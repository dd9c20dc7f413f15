"""The patient's timeline: one lane per event type, markers by importance, on pyqtgraph.

A thin adapter: it receives ``TimelineColumns`` (numpy arrays) and draws them;
it never touches the database.  Time runs left to right in the viewer's local
time zone (pyqtgraph's ``DateAxisItem`` with the local UTC offset); the x unit
is seconds since the epoch.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from ui.style import IMPORTANCE_STYLES, LANE_BAND_COLOURS, PRIVATE_OUTLINE, TODAY_COLOUR
from viewer.domain import EventType, Importance
from viewer.services.timeline_query import TimelineColumns

LANE_COUNT = len(EventType)
_DAY_S = 86_400.0


def lane_y(lane: np.ndarray | int) -> np.ndarray | int:
    """Sessions on top, external events at the bottom."""
    return (LANE_COUNT - 1) - lane


class _LaneAxis(pg.AxisItem):
    def __init__(self) -> None:
        super().__init__("left")
        ticks = [(lane_y(t.lane), t.label) for t in EventType]
        self.setTicks([ticks, []])
        self.setWidth(110)


class TimelinePlot(pg.PlotWidget):
    """The plot itself: lane bands, a today line, one scatter per importance level.

    Signals:
        rendered(int): emitted after new data is drawn, with the number of markers.
    """

    rendered = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        date_axis = pg.DateAxisItem(orientation="bottom")  # ticks in the local time zone
        super().__init__(parent, background="w", axisItems={"bottom": date_axis, "left": _LaneAxis()})
        self.setObjectName("timelinePlot")
        self.setAccessibleName("Patient timeline")
        item = self.getPlotItem()
        item.showGrid(x=True, y=False, alpha=0.15)
        item.setMenuEnabled(False)
        item.hideButtons()
        view = item.getViewBox()
        view.setMouseEnabled(x=True, y=False)
        view.setLimits(yMin=-0.7, yMax=LANE_COUNT - 0.3)
        view.setYRange(-0.6, LANE_COUNT - 0.4, padding=0)
        for axis in ("left", "bottom"):
            item.getAxis(axis).setTextPen(pg.mkPen("#333"))
            item.getAxis(axis).setPen(pg.mkPen("#999"))
            item.getAxis(axis).setStyle(tickFont=QFont("Sans Serif", 9))
        for lane in range(LANE_COUNT):
            band = pg.LinearRegionItem(
                values=(lane - 0.5, lane + 0.5),
                orientation="horizontal",
                movable=False,
                brush=pg.mkBrush(LANE_BAND_COLOURS[lane % 2]),
                pen=pg.mkPen(None),
            )
            band.setZValue(-20)
            item.addItem(band)
        self._today = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(TODAY_COLOUR, width=1.5, style=Qt.PenStyle.DashLine),
            label="today",
            labelOpts={"position": 0.97, "color": TODAY_COLOUR},
        )
        self._today.setZValue(-5)
        item.addItem(self._today)
        self._scatters: dict[Importance, pg.ScatterPlotItem] = {}
        for importance in Importance:
            style = IMPORTANCE_STYLES[importance]
            scatter = pg.ScatterPlotItem(
                symbol=style.symbol,
                size=style.size,
                pxMode=True,
                brush=pg.mkBrush(style.colour),
                pen=pg.mkPen(style.outline, width=1),
            )
            scatter.setZValue(int(importance))
            item.addItem(scatter)
            self._scatters[importance] = scatter
        self._private = pg.ScatterPlotItem(
            symbol="s", size=5, pxMode=True, brush=pg.mkBrush(PRIVATE_OUTLINE), pen=pg.mkPen(None)
        )
        self._private.setZValue(10)
        item.addItem(self._private)

    def set_columns(self, columns: TimelineColumns) -> None:
        self._today.setValue(time.time())
        x = columns.time_ms.astype(np.float64) / 1000.0
        y = lane_y(columns.lane.astype(np.float64))
        for importance, scatter in self._scatters.items():
            mask = columns.importance == int(importance)
            scatter.setData(x=x[mask], y=y[mask])
        private = columns.is_private
        self._private.setData(x=x[private], y=np.asarray(y)[private] + 0.28)
        if len(columns):
            span = max(float(x[-1] - x[0]), _DAY_S)
            self.getPlotItem().getViewBox().setXRange(x[0] - span * 0.02, x[-1] + span * 0.02, padding=0)
        self.rendered.emit(len(columns))


class _LegendSwatch(QLabel):
    def __init__(self, importance: Importance, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style = IMPORTANCE_STYLES[importance]
        glyph = {"o": "●", "t1": "▲", "star": "★"}.get(style.symbol, "●")
        self.setText(
            f"<span style='color:{style.colour}; font-size:{style.size + 4}px'>{glyph}</span> "
            f"{importance.label}"
        )
        self.setObjectName(f"legend{importance.label}")
        self.setAccessibleName(f"Legend: {importance.label} importance")


class TimelineView(QWidget):
    """Timeline with its header, legend and empty/loading/error states."""

    MESSAGE_PAGE = 0
    PLOT_PAGE = 1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelineView")
        self.setAccessibleName("Timeline")
        self.header = QLabel("", self)
        self.header.setObjectName("timelineHeader")
        self.header.setAccessibleName("Selected patient")
        header_font = self.header.font()
        header_font.setPointSize(header_font.pointSize() + 3)
        header_font.setBold(True)
        self.header.setFont(header_font)
        self.summary = QLabel("", self)
        self.summary.setObjectName("timelineSummary")
        self.summary.setAccessibleName("Timeline summary")
        self.summary.setStyleSheet("color:#555;")

        self.plot = TimelinePlot(self)
        self.message = QLabel(self)
        self.message.setObjectName("timelineMessage")
        self.message.setAccessibleName("Timeline status")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#555; font-size:15px;")
        self.stack = QStackedWidget(self)
        self.stack.setObjectName("timelineStack")
        self.stack.setAccessibleName("Timeline area")
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.plot)

        legend = QHBoxLayout()
        legend.setContentsMargins(0, 0, 0, 0)
        legend_title = QLabel("Importance:", self)
        legend_title.setObjectName("legendTitle")
        legend_title.setAccessibleName("Legend")
        legend.addWidget(legend_title)
        for importance in Importance:
            legend.addWidget(_LegendSwatch(importance, self))
        lock = QLabel(
            "<span style='font-size:11px'>■</span> private (only its author and their supervisor)", self
        )
        lock.setObjectName("legendPrivate")
        lock.setAccessibleName("Legend: private event mark")
        legend.addWidget(lock)
        legend.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.header)
        layout.addWidget(self.summary)
        layout.addWidget(self.stack, 1)
        layout.addLayout(legend)
        self.show_message("Choose a patient on the left to see their timeline.")

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color:{'#A12B00' if error else '#555'}; font-size:15px;")
        self.stack.setCurrentIndex(self.MESSAGE_PAGE)

    def show_columns(self, columns: TimelineColumns) -> None:
        if not len(columns):
            self.show_message("No events recorded for this patient yet.")
            self.plot.set_columns(columns)
            return
        self.stack.setCurrentIndex(self.PLOT_PAGE)
        self.plot.set_columns(columns)
