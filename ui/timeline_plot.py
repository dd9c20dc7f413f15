"""The zoomable lanes: a view box that zooms in time only, the lane axis, the calendar axis.

``TimelinePlot`` owns what is drawn (lane bands and grid, the today line,
the event layer) and turns keys and gestures into new ``ViewRange``s or
named actions; ``TimelineView`` decides what those actions mean.
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFocusEvent,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QNativeGestureEvent,
    QPaintEngine,
    QPainter,
    QPen,
    QPicture,
    QRegion,
    QTransform,
)
from PySide6.QtWidgets import QApplication, QGraphicsView, QLabel, QStyleOptionGraphicsItem, QWidget

from ui.event_layer import EventLayer
from ui.style import FOCUS_COLOUR, LANE_BAND_COLOURS, TODAY_COLOUR, TODAY_TEXT_COLOUR
from ui.time_axis import CalendarAxis, LaneBackground
from viewer.domain import EventType
from viewer.lane_layout import LaneLayout
from viewer.view_range import MAX_SPAN_MS, MIN_SPAN_MS, PAN_STEP, ZOOM_STEP, ViewRange

_KEY_ACTIONS: dict[Qt.Key, str] = {
    Qt.Key.Key_Left: "previous",
    Qt.Key.Key_Right: "next",
    Qt.Key.Key_Return: "open",
    Qt.Key.Key_Enter: "open",
    Qt.Key.Key_Escape: "clear",
    Qt.Key.Key_D: "preset-day",
    Qt.Key.Key_1: "preset-week",
    Qt.Key.Key_2: "preset-month",
    Qt.Key.Key_3: "preset-year",
    Qt.Key.Key_0: "preset-all",
    Qt.Key.Key_F3: "search-next",
}


class LaneAxis(pg.AxisItem):
    """Lane names beside their rows; right-click asks the plot for the lane menu.

    Signals:
        laneMenuRequested(object, object): the ``EventType`` under the click (or None) and the global ``QPoint``.
    """

    laneMenuRequested = Signal(object, object)

    def __init__(self, background: str) -> None:
        super().__init__("left")
        metrics = QFontMetrics(plot_font())
        longest = max(metrics.horizontalAdvance(event_type.label) for event_type in EventType)
        self.setWidth(max(LANE_AXIS_PX, longest + LANE_AXIS_PAD_PX))
        self.layout = LaneLayout()
        # The names change only when lanes are hidden, moved or resized, never on a pan or zoom, so
        # a frame copies them from an opaque image of the axis on the view's background.  An opaque
        # copy is a plain memory copy; Qt's own item cache keeps a transparent pixmap, which every
        # frame blends (about 0.15 ms at pixel ratio 2).  Exports turn this off to get text.
        self.cached = True
        self._background = QColor(background)
        self._cache: tuple[QPicture, list[tuple[QPointF, QImage]], tuple[QRectF, QRectF, float]] | None = None
        self.set_layout(self.layout)

    def set_layout(self, layout: LaneLayout) -> None:
        self.layout = layout
        self.setTicks([[(float(layout.y_of(t) or 0.0), t.label) for t in layout.order], []])

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        to_device = p.deviceTransform()  # the item's coordinates to device pixels, pixel ratio included
        ratio = to_device.m11()
        engine = p.paintEngine()
        # The axis' rectangle, its tick marks and text overhang, and a pixel more for antialiased edges.
        bound = self.boundingRect().adjusted(-1, -1, 1, 1)
        area = self.mapRectFromParent(self.geometry())  # the axis' own rectangle, on the margins
        corners = (to_device.map(bound.topLeft()), to_device.map(area.topLeft()))
        if (
            not self.cached
            or widget is None
            or ratio != widget.devicePixelRatioF()  # rendered at another scale (a print): draw afresh
            or to_device.type().value > QTransform.TransformationType.TxScale.value
            or to_device.m22() != ratio
            or engine is None
            or engine.type() != QPaintEngine.Type.Raster
            or not all(c.x().is_integer() and c.y().is_integer() for c in corners)
            or not bound.contains(area)
            or area.isEmpty()
        ):
            super().paint(p, opt, widget)
            return
        key = (bound, area, ratio)
        if (
            self.picture is None
            or self._cache is None
            or self._cache[0] is not self.picture
            or self._cache[2] != key
        ):
            self._cache = (*self._render(opt, widget, bound, area, ratio), key)
        for at, image in self._cache[1]:
            p.drawImage(at, image)

    def _render(
        self,
        opt: QStyleOptionGraphicsItem,
        widget: QWidget | None,
        bound: QRectF,
        area: QRectF,
        ratio: float,
    ) -> tuple[QPicture, list[tuple[QPointF, QImage]]]:
        """The axis as an opaque image of its own rectangle plus transparent strips of what overhangs it.

        The overhang (tick marks reaching into the lanes, the axis line's ends)
        lies over other items' pixels, so only there is anything blended.
        """
        full = QImage(
            round(bound.width() * ratio),
            round(bound.height() * ratio),
            QImage.Format.Format_ARGB32_Premultiplied,
        )
        full.setDevicePixelRatio(ratio)
        full.fill(Qt.GlobalColor.transparent)
        painter = QPainter(full)
        painter.translate(-bound.topLeft())
        super().paint(painter, opt, widget)  # renders pyqtgraph's picture, made anew if it was dropped
        painter.end()

        def device_rect(rect: QRectF) -> QRect:
            moved = rect.translated(-bound.topLeft())
            return QRect(
                round(moved.x() * ratio),
                round(moved.y() * ratio),
                round(moved.width() * ratio),
                round(moved.height() * ratio),
            )

        # Drawn straight onto the margins' colour, as on screen: text antialiased onto a transparent
        # image and blended afterwards comes out a shade bolder.
        opaque = QImage(round(area.width() * ratio), round(area.height() * ratio), QImage.Format.Format_RGB32)
        opaque.setDevicePixelRatio(ratio)
        opaque.fill(self._background)
        painter = QPainter(opaque)
        painter.translate(-area.topLeft())
        super().paint(painter, opt, widget)
        painter.end()
        source = device_rect(area)
        parts = [(area.topLeft(), opaque)]
        strips = QRegion(device_rect(bound)).subtracted(QRegion(source))
        for strip in strips:
            parts.append((bound.topLeft() + QPointF(strip.x(), strip.y()) / ratio, full.copy(strip)))
        return self.picture, parts

    def mouseClickEvent(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.RightButton:
            super().mouseClickEvent(event)
            return
        event.accept()
        view = self.linkedView()
        lane = self.layout.lane_at(view.mapSceneToView(event.scenePos()).y(), slack=0.5) if view else None
        self.laneMenuRequested.emit(lane, event.screenPos().toPoint())


class TimelineViewBox(pg.ViewBox):
    """x-only zooming and panning, Shift+drag range zoom, clicks reported in data coordinates.

    Signals:
        clicked(object): a single left click at a view ``QPointF`` (x seconds, y lane position).
        doubleClicked(object): a double left click at a view ``QPointF``.
        contextRequested(object, object): a right click: view ``QPointF`` and global ``QPoint``.
    """

    clicked = Signal(object)
    doubleClicked = Signal(object)
    contextRequested = Signal(object, object)
    wheelZoomed = Signal(float, float)  # factor (< 1 zooms in), time under the pointer (epoch ms)
    wheelPanned = Signal(float)  # fraction of the window (positive: later)

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=True, y=False)

    def wheelEvent(self, ev: Any, axis: int | None = None) -> None:
        """A notch zooms as ``+``/``-`` do; a sideways swipe or tilt pans as ``Shift+←/→`` do.

        pyqtgraph's own wheel zoomed on sideways swipes too, by its own step, and
        at the 10-minute limit re-centred the window, so each further notch slid
        the time under the pointer away.  The plot applies these through
        :class:`ViewRange`, which keeps the anchor and the limits.
        """
        notches = ev.delta() / 120.0
        if ev.orientation() == Qt.Orientation.Horizontal:
            self.wheelPanned.emit(-notches * PAN_STEP)  # tilted left (positive) goes back in time
        else:
            anchor = self.mapSceneToView(ev.scenePos()).x() * 1000.0
            self.wheelZoomed.emit(ZOOM_STEP**-notches, anchor)
        ev.accept()

    def mouseClickEvent(self, ev: Any) -> None:
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            self.contextRequested.emit(self.mapSceneToView(ev.scenePos()), ev.screenPos().toPoint())
            return
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        point = self.mapSceneToView(ev.scenePos())
        (self.doubleClicked if ev.double() else self.clicked).emit(point)

    def mouseDragEvent(self, ev: Any, axis: int | None = None) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            ev.accept()
            if ev.isFinish():
                self.rbScaleBox.hide()
                start = self.mapToView(ev.buttonDownPos()).x()
                end = self.mapToView(ev.pos()).x()
                if abs(end - start) * 1000 >= MIN_SPAN_MS:
                    self.setXRange(min(start, end), max(start, end), padding=0)
            else:
                self.updateScaleBox(ev.buttonDownPos(), ev.pos())
            return
        super().mouseDragEvent(ev, axis)


MIN_LANE_PX = 20  # the lane names' line height, with a little air, at the usual 9 pt
TODAY_LABEL_AT = 0.98  # how far up the "today" line its label sits (a fraction of the lanes' height)
LANE_AIR_PX = 6  # above and below a lane name, at any font size
AXIS_ALLOWANCE_PX = 56  # the time axis and the plot's top margin, at 9 pt
LANE_AXIS_PX = 112  # the lane names' column at 9 pt ...
LANE_AXIS_PAD_PX = 21  # ... the longest name's width plus this, at any size


def plot_font() -> QFont:
    """The application's font, for lane names and tick labels.

    They were a fixed 9 pt: under a 14 pt app font (a clinician who needs
    larger text) everything grew but the timeline's own words.
    """
    return QFont(QApplication.font())


class TimelinePlot(pg.PlotWidget):
    """The zoomable lanes: bands, today line and the event layer.

    Signals:
        keyAction(str): a key the plot does not handle itself (navigation, presets, open).
    """

    keyAction = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        self.view_box = TimelineViewBox()
        self.time_axis = CalendarAxis()  # local calendar ticks: hours, days, weeks, months, years
        self.lane_axis = LaneAxis(LANE_BAND_COLOURS[0])  # on the margins' colour
        super().__init__(
            parent,
            background=LANE_BAND_COLOURS[0],  # the margins; the lanes paint their own bands
            viewBox=self.view_box,
            axisItems={"bottom": self.time_axis, "left": self.lane_axis},
        )
        # pyqtgraph caches the view's background as a pixmap; for a plain colour, copying that
        # viewport-sized pixmap costs more than filling (about 0.3 ms a frame at pixel ratio 2).
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        # The view fills every pixel itself (the margins in drawBackground, the lanes' bands in
        # LaneBackground), so Qt need not clear the viewport before each paint (about 0.25 ms a
        # frame at pixel ratio 2).
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setObjectName("timelinePlot")
        self.setAccessibleName("Patient timeline")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        item = self.getPlotItem()
        item.hideButtons()
        # The hidden top and right axes still follow the range; without SI prefixes (which they never
        # show) a range change no longer re-typesets their labels, on every frame.
        for axis in ("top", "right"):
            item.getAxis(axis).enableAutoSIPrefix(False)
        for axis in ("left", "bottom"):
            item.getAxis(axis).setTextPen(pg.mkPen("#333"))
            item.getAxis(axis).setPen(pg.mkPen("#999"))
            item.getAxis(axis).setStyle(tickFont=plot_font())
        self.background = LaneBackground(self.time_axis)
        item.addItem(self.background, ignoreBounds=True)
        # The dashed line lies under the events; its label over them, on a light backing, so the top
        # lane's padlocks on a busy history no longer cover it.  Two lines at one value, one drawn each.
        self.today_line = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(TODAY_COLOUR, width=1.5, style=Qt.PenStyle.DashLine)
        )
        self.today_line.setZValue(-5)
        item.addItem(self.today_line, ignoreBounds=True)
        self.today = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(None),
            label="today",
            labelOpts={"position": TODAY_LABEL_AT, "color": TODAY_TEXT_COLOUR, "fill": (255, 255, 255, 240)},
        )
        self.today.setZValue(20)
        item.addItem(self.today, ignoreBounds=True)
        self.view_box.sigXRangeChanged.connect(self._place_today)
        self.view_box.sigResized.connect(self._fit_today_label)
        self.view_box.wheelZoomed.connect(self.zoom)
        self.view_box.wheelPanned.connect(
            lambda fraction: self.set_view_range(self.view_range().panned(fraction))
        )
        self.layer = EventLayer()
        item.addItem(self.layer)
        self.viewport().setObjectName("timelinePlotViewport")
        self.viewport().setAccessibleName("Patient timeline lanes")
        self.hint = QLabel(self.viewport())
        self.hint.setObjectName("timelineEmptyHint")
        self.hint.setAccessibleName("Nothing in view")
        # A little larger than the app's font (a fixed 14 px stayed small under an 18 pt font).
        self.hint.setStyleSheet(
            "background: rgba(255, 255, 255, 225); color: #444; border: 1px solid #C9D1DA;"
            f" border-radius: 4px; padding: 6px 12px; font-size: {QApplication.font().pointSizeF() + 1.5:g}pt;"
        )
        self.hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hint.hide()
        self._pinch_filter = _PinchFilter(self)
        self.viewport().installEventFilter(self._pinch_filter)
        self.lane_layout = LaneLayout()
        self.focus_frame = True  # off while an export draws the plot: the frame is the screen's only
        self.bounds: ViewRange | None = None
        self.set_lane_layout(self.lane_layout)
        self.set_bounds(None)

    def set_lane_layout(self, layout: LaneLayout) -> None:
        """Show the lanes of ``layout``: rows, labels, bands and where the markers go."""
        self.lane_layout = layout
        rows = layout.rows
        self.lane_axis.set_layout(layout)
        self.background.set_rows(rows)
        self.layer.set_lane_rows(layout.y_table(), rows)
        self.view_box.setLimits(yMin=-0.6, yMax=rows - 0.4, minXRange=MIN_SPAN_MS / 1000)
        self.view_box.setYRange(-0.55, rows - 0.45, padding=0)
        # Lane names are one line of text each: below about 20 px a lane (at 9 pt) they printed over
        # each other.
        self.setMinimumHeight(rows * self.min_lane_px() + self.axis_allowance_px())

    def min_lane_px(self) -> int:
        """The least height a lane needs to keep its name clear of its neighbours', in this font."""
        return max(MIN_LANE_PX, QFontMetrics(plot_font()).height() + LANE_AIR_PX)

    def axis_allowance_px(self) -> int:
        """Room for the time axis (its labels grow with the font) and the plot's top margin."""
        return AXIS_ALLOWANCE_PX + max(0, QFontMetrics(plot_font()).height() - 14)

    def set_today(self, now_ms: float) -> None:
        """Where the "today" line goes (epoch ms)."""
        self.today.setValue(now_ms / 1000.0)
        self.today_line.setValue(now_ms / 1000.0)
        self._place_today()

    def _place_today(self, *_args: object) -> None:
        """Show the line and its label only while today is in view.

        The label is a child of the line placed beside it, so with today just
        off screen it used to peek in, clipped ("toc"), at the edge.
        """
        (x0, x1), _ = self.view_box.viewRange()
        shown = x0 <= float(self.today.value()) <= x1
        self.today.setVisible(shown)
        self.today_line.setVisible(shown)
        self.today.label.setVisible(shown)

    def _fit_today_label(self, *_args: object) -> None:
        """Its middle near the top, all of it inside the lanes (at 18 pt its top was cut off).

        On a resize only: a pan or zoom leaves the lanes' height, and the frame its time.
        """
        height = max(self.view_box.height(), 1.0)
        half = self.today.label.boundingRect().height() / 2 + 2
        place = min(TODAY_LABEL_AT, 1.0 - half / height)
        if place != self.today.label.orthoPos:
            self.today.label.setPosition(place)

    def show_hint(self, text: str | None) -> None:
        """A note in the middle of the lanes (an empty window), or none."""
        if not text:
            self.hint.hide()
            return
        self.hint.setText(text)
        self.hint.adjustSize()
        self.place_hint()
        self.hint.show()

    def place_hint(self) -> None:
        rect = self.view_box.sceneBoundingRect()
        centre = self.mapFromScene(rect.center())
        self.hint.move(centre.x() - self.hint.width() // 2, centre.y() - self.hint.height() // 2)

    # -- range -------------------------------------------------------------------------
    def set_bounds(self, bounds: ViewRange | None) -> None:
        """Keep every pan and zoom (keys, wheel, drag, pinch, overview) within ``bounds``."""
        self.bounds = bounds
        if bounds is None:
            self.view_box.setLimits(xMin=None, xMax=None, maxXRange=MAX_SPAN_MS / 1000)
        else:
            self.view_box.setLimits(
                xMin=bounds.start_ms / 1000, xMax=bounds.end_ms / 1000, maxXRange=bounds.span_ms / 1000
            )

    def view_range(self) -> ViewRange:
        (x0, x1), _ = self.view_box.viewRange()
        return ViewRange(x0 * 1000.0, x1 * 1000.0)

    def set_view_range(self, view: ViewRange) -> None:
        view = view.clamped(self.bounds)
        self.view_box.setXRange(view.start_ms / 1000.0, view.end_ms / 1000.0, padding=0)

    def cursor_time_ms(self) -> float | None:
        """The time under the mouse, if the mouse is over the plot."""
        pos = self.mapFromGlobal(self.cursor().pos())
        if not self.rect().contains(pos):
            return None
        scene = self.mapToScene(pos)
        if not self.view_box.sceneBoundingRect().contains(scene):
            return None
        return float(self.view_box.mapSceneToView(scene).x()) * 1000.0

    def zoom(self, factor: float, anchor_ms: float | None = None) -> None:
        self.set_view_range(self.view_range().zoomed(factor, anchor_ms))

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        """Fill ``rect`` but for the lanes, which :class:`LaneBackground` fills whole (each pixel once)."""
        brush = self.backgroundBrush()
        lanes = self.view_box.sceneBoundingRect()
        # Inward to whole pixels: the lanes' own fill covers the edge pixels they share with margins.
        inner = QRect(
            math.ceil(lanes.left()),
            math.ceil(lanes.top()),
            max(math.floor(lanes.right()) - math.ceil(lanes.left()), 0),
            max(math.floor(lanes.bottom()) - math.ceil(lanes.top()), 0),
        )
        exposed = rect.toAlignedRect() if isinstance(rect, QRectF) else rect
        for part in QRegion(exposed).subtracted(QRegion(inner)):
            painter.fillRect(part, brush)

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        """A frame round the lanes while the keys go to the timeline: nothing showed where they went."""
        super().drawForeground(painter, rect)
        if not (self.focus_frame and self.hasFocus()):
            return
        painter.save()
        painter.resetTransform()  # viewport pixels
        pen = QPen(QColor(FOCUS_COLOUR), 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        lanes = self.mapFromScene(self.view_box.sceneBoundingRect()).boundingRect()
        painter.drawRect(QRectF(lanes).adjusted(1, 1, -1, -1))
        painter.restore()

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.viewport().update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.viewport().update()

    # -- input -------------------------------------------------------------------------
    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """The Menu key or Shift+F10 (a right click goes to the scene, as before)."""
        if event.reason() == QContextMenuEvent.Reason.Keyboard:
            event.accept()
            self.keyAction.emit("menu")
            return
        super().contextMenuEvent(event)

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        key = ev.key()
        shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_view_range(self.view_range().zoom_in(self.cursor_time_ms()))
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.set_view_range(self.view_range().zoom_out(self.cursor_time_ms()))
        elif shift and key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.set_view_range(self.view_range().panned(-PAN_STEP if key == Qt.Key.Key_Left else PAN_STEP))
        elif key == Qt.Key.Key_F3 and shift:
            self.keyAction.emit("search-previous")
        elif key == Qt.Key.Key_Menu or (shift and key == Qt.Key.Key_F10):
            # Qt turns the Menu key into a context-menu event on some platforms only, Shift+F10 on none.
            self.keyAction.emit("menu")
        elif key in _KEY_ACTIONS:
            self.keyAction.emit(_KEY_ACTIONS[Qt.Key(key)])
        else:
            super().keyPressEvent(ev)
            return
        ev.accept()

    def pinch(self, value: float, position: QPointF) -> None:
        """Zoom for a trackpad pinch of ``value`` (positive spreads the fingers) at a viewport position."""
        scene = self.mapToScene(position.toPoint())
        anchor = float(self.view_box.mapSceneToView(scene).x()) * 1000.0
        self.zoom(min(max(1.0 - value, 0.2), 5.0), anchor)


class _PinchFilter(QObject):
    """Trackpad pinch arrives at the viewport as a native zoom gesture; pass it to the plot.

    An event filter rather than a ``viewportEvent`` override: overriding that
    virtual on a QGraphicsView crashed PySide while painting.  It also keeps
    the empty-window hint centred when the viewport is resized.
    """

    def __init__(self, plot: TimelinePlot) -> None:
        super().__init__(plot)
        self._plot = plot

    def eventFilter(self, watched: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Resize and self._plot.hint.isVisible():
            self._plot.place_hint()
            return False
        if ev.type() == QEvent.Type.NativeGesture:
            assert isinstance(ev, QNativeGestureEvent)
            if ev.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
                self._plot.pinch(ev.value(), ev.position())
                return True
        return False
