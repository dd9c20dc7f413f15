"""Export the timeline as the user sees it: PNG, SVG or PDF, and print it.

Every sheet carries its caption (:mod:`viewer.export_caption`): the patient,
the time range, the filters, the legend and a confidentiality footer.  The
sheet is painted on the GUI thread (widgets can only be painted there) into
memory; encoding and writing the file happen on a worker thread, so a slow
disk never freezes the window.  SVG and PDF sheets are vector drawings: the
lanes draw their markers as paths there (:mod:`ui.marker_shapes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QPoint, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPicture,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsView, QWidget

from ui.operations import CancelToken
from ui.timeline_view import TimelineView
from viewer.export_caption import ExportCaption, export_caption
from viewer.private_file import private_file
from viewer.services.errors import ServiceError

MARGIN = 16
# Sizes in the sheet's own pixels, not points: a point is more device pixels on a 300 dpi PDF than on
# a screen, and the sheet is laid out (and then scaled to the page) in one unit.
TITLE_PX = 20
TEXT_PX = 12
FOOTER_PX = 11
WRAP = Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap


class ExportFormat(Enum):
    PNG = "png"
    SVG = "svg"
    PDF = "pdf"

    @classmethod
    def from_path(cls, path: Path) -> ExportFormat:
        try:
            return cls(path.suffix.lower().lstrip("."))
        except ValueError:
            raise ExportFailed(path, "use a .png, .svg or .pdf file name") from None


def with_export_suffix(path: Path, fmt: str) -> Path:
    """``path`` as typed if it names a format, else with ``.fmt`` added.

    "Mr. Kilnsey timeline" or "timeline v1.2" has a suffix to ``pathlib`` but
    no format: it used to be refused where a name without a dot got the
    extension added.
    """
    if path.suffix.lower().lstrip(".") in {f.value for f in ExportFormat}:
        return path
    return path.with_name(f"{path.name}.{fmt}")


class ExportFailed(ServiceError):
    """The export could not be written (a user-fixable problem: folder, permissions, name)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"could not export to {path.name}: {reason}")
        self.path = path


@dataclass(frozen=True)
class SheetLayout:
    """Where the parts of a sheet go, in logical pixels; the caption's lines wrap, never cut off."""

    width: int
    height: int
    title: QRect
    range_line: QRect
    filter_line: QRect
    plot_top: int
    legend_top: int
    footer: QRect


def sheet_font(pixels: int, *, bold: bool = False) -> QFont:
    """A font of the sheet, sized in its pixels."""
    font = QFont("Sans Serif")
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font


def _text_box(font: QFont, left: int, top: int, width: int, text: str) -> QRect:
    """The rectangle ``text`` fills wrapped at ``width``, from ``(left, top)``."""
    needed = QFontMetrics(font).boundingRect(QRect(0, 0, width, 1_000_000), WRAP, text)
    return QRect(left, top, width, max(needed.height(), QFontMetrics(font).height()))


def caption_for(view: TimelineView, now: datetime | None = None) -> ExportCaption:
    assert view.patient is not None
    return export_caption(
        view.patient.display_name,
        view.plot.view_range(),
        view.filter,
        view.plot.lane_layout,
        len(view.index),
        len(view.columns),
        _in_view(view),
        now or datetime.now(UTC),
    )


def _in_view(view: TimelineView) -> int:
    a, b = view.rows_in_view()
    return b - a


def sheet_layout(view: TimelineView, caption: ExportCaption) -> SheetLayout:
    plot, legend = view.plot.size(), view.legend.sizeHint()
    width = max(plot.width(), legend.width()) + 2 * MARGIN
    inner = width - 2 * MARGIN
    title = _text_box(sheet_font(TITLE_PX, bold=True), MARGIN, MARGIN, inner, caption.title)
    range_line = _text_box(sheet_font(TEXT_PX), MARGIN, title.bottom() + 5, inner, caption.range_line)
    filter_line = _text_box(sheet_font(TEXT_PX), MARGIN, range_line.bottom() + 2, inner, caption.filter_line)
    plot_top = filter_line.bottom() + 10
    legend_top = plot_top + plot.height() + 6
    footer = _text_box(sheet_font(FOOTER_PX), MARGIN, legend_top + legend.height() + 8, inner, caption.footer)
    return SheetLayout(
        width, footer.bottom() + 1 + MARGIN, title, range_line, filter_line, plot_top, legend_top, footer
    )


def paint_sheet(painter: QPainter, view: TimelineView, caption: ExportCaption) -> None:
    """Caption, the plot as drawn now, legend and footer, at logical size ``sheet_layout(view)``."""
    layout = sheet_layout(view, caption)
    painter.fillRect(QRect(0, 0, layout.width, layout.height), QColor("white"))
    painter.setPen(QColor("#111111"))
    painter.setFont(sheet_font(TITLE_PX, bold=True))
    painter.drawText(layout.title, WRAP, caption.title)
    painter.setFont(sheet_font(TEXT_PX))
    painter.setPen(QColor("#333333"))
    painter.drawText(layout.range_line, WRAP, caption.range_line)
    painter.drawText(layout.filter_line, WRAP, caption.filter_line)
    view.plot.scene().prepareForPaint()
    # QWidget.render: the plot as on screen (pyqtgraph's own render() is QGraphicsView's scene render).
    # Without the view's background cache, an SVG or PDF gets the lane bands as shapes, not an image.
    # Nor the lane names' pixmap cache: they go out as text.
    cache = view.plot.cacheMode()
    view.plot.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
    view.plot.lane_axis.cached = False
    view.plot.focus_frame = False  # where the keys go is the screen's business, not the page's
    try:
        QWidget.render(view.plot, painter, QPoint(MARGIN, layout.plot_top))
    finally:
        view.plot.setCacheMode(cache)
        view.plot.lane_axis.cached = True
        view.plot.focus_frame = True
    legend_size = view.legend.sizeHint()
    view.legend.resize(legend_size)
    view.legend.render(
        painter, QPoint(MARGIN, layout.legend_top), renderFlags=QWidget.RenderFlag.DrawChildren
    )
    painter.setPen(QColor("#666666"))
    painter.setFont(sheet_font(FOOTER_PX))
    painter.drawText(layout.footer, WRAP, caption.footer)


def render_png(view: TimelineView, caption: ExportCaption, ratio: float = 2.0) -> QImage:
    """The sheet as an image at ``ratio`` device pixels per logical pixel (2 = crisp on paper)."""
    layout = sheet_layout(view, caption)
    image = QImage(
        QSize(round(layout.width * ratio), round(layout.height * ratio)), QImage.Format.Format_ARGB32
    )
    image.setDevicePixelRatio(ratio)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    paint_sheet(painter, view, caption)
    painter.end()
    return image


def render_svg(view: TimelineView, caption: ExportCaption) -> bytes:
    layout = sheet_layout(view, caption)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(layout.width, layout.height))
    generator.setViewBox(QRect(0, 0, layout.width, layout.height))
    # The screen's dots per inch, not the generator's 72: the lane names, axis labels and legend are
    # sized in points, and at 72 dpi they came out a quarter smaller than on screen and out of place.
    generator.setResolution(view.logicalDpiY())
    generator.setTitle(caption.title)
    generator.setDescription(f"{caption.range_line}. {caption.filter_line}. {caption.footer}")
    painter = QPainter(generator)
    paint_sheet(painter, view, caption)
    painter.end()
    return bytes(buffer.data().data())


def _fit_on_page(painter: QPainter, page_px: QRect, layout: SheetLayout) -> None:
    """Scale the painter so the sheet fits the page, centred: it sat against the left margin."""
    scale = min(page_px.width() / layout.width, page_px.height() / layout.height)
    painter.translate(
        page_px.left() + (page_px.width() - layout.width * scale) / 2,
        page_px.top() + (page_px.height() - layout.height * scale) / 2,
    )
    painter.scale(scale, scale)


def paint_on_page(painter: QPainter, page_px: QRect, view: TimelineView, caption: ExportCaption) -> None:
    """Scale the sheet to fit a printer or PDF page."""
    _fit_on_page(painter, page_px, sheet_layout(view, caption))
    paint_sheet(painter, view, caption)


def print_on_page(painter: QPainter, page_px: QRect, view: TimelineView, caption: ExportCaption) -> None:
    """The sheet on a printer's page, as vector drawing.

    ``QWidget.render`` onto a printer renders through an image, at the
    printer's resolution: an 11034 x 7709 pixel page, 0.7 GB and two seconds
    with the window frozen, printed as a picture.  Recorded into a
    :class:`QPicture` first, the same drawing goes to the printer as paths and
    text (the lanes draw markers as paths on a picture, as on SVG and PDF).
    """
    picture = QPicture()
    recorder = QPainter(picture)
    paint_sheet(recorder, view, caption)
    recorder.end()
    _fit_on_page(painter, page_px, sheet_layout(view, caption))
    # A picture plays scaled by the device's dots per inch over its own (96 on a 1200 dpi printer:
    # 12.5 times too big); the sheet is already scaled to the page.
    device = painter.device()
    if device is not None:
        painter.scale(
            picture.logicalDpiX() / device.logicalDpiX(), picture.logicalDpiY() / device.logicalDpiY()
        )
    painter.drawPicture(0, 0, picture)


def render_pdf(view: TimelineView, caption: ExportCaption) -> bytes:
    """An A4 landscape PDF page with the sheet scaled to fit."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle(caption.title)
    writer.setCreator("Caseline")
    writer.setResolution(300)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape, QMarginsF(10, 10, 10, 10)
        )
    )
    painter = QPainter(writer)
    paint_on_page(
        painter,
        writer.pageLayout()
        .paintRectPixels(writer.resolution())
        .translated(-writer.pageLayout().paintRectPixels(writer.resolution()).topLeft()),
        view,
        caption,
    )
    painter.end()
    buffer.close()
    return bytes(data.data())


def export_work(
    view: TimelineView, path: Path, now: datetime | None = None
) -> Callable[[CancelToken, Callable[[object], None]], Path]:
    """Paint the sheet now (GUI thread); return the work that encodes and writes it (worker thread)."""
    fmt = ExportFormat.from_path(path)
    caption = caption_for(view, now)
    if fmt is ExportFormat.PNG:
        image = render_png(view, caption)

        def encode() -> bytes:
            buffer = QBuffer()
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            if not image.save(buffer, "PNG"):
                raise ExportFailed(path, "the image could not be encoded")
            return bytes(buffer.data().data())

    else:
        payload = render_svg(view, caption) if fmt is ExportFormat.SVG else render_pdf(view, caption)

        def encode() -> bytes:
            return payload

    def work(_token: CancelToken, _report: Callable[[object], None]) -> Path:
        data = encode()
        try:
            with private_file(path) as handle:  # the owner's only, and never half-written
                handle.write(data)
        except OSError as exc:
            raise ExportFailed(path, exc.strerror or type(exc).__name__) from None
        return path

    return work
