"""A row of control groups that wraps onto more lines when the window is too narrow for one.

The filter bar's two rows set the window's least width: 1,082 px at 9 pt and
1,576 at 18 pt, wider than a laptop screen, so Reset filters, Lanes and the
detail pane's buttons fell off its right edge.  Groups stay whole (a date
range is never split from its "to"); the last group may keep to the right
end of its line, as the filter summary and Reset do.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLayout, QLayoutItem, QWidget


class FlowRow(QLayout):
    """Groups of widgets left to right while they fit, then on further lines.

    Each group is a plain ``QHBoxLayout`` (``add_group``); ``gap`` pixels
    separate groups on a line, ``line_gap`` separates lines.  With
    ``keep_last_right`` the last group sits at the right end of its line and
    may shrink to its minimum (an elided summary) before it wraps.
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        spacing: int = 2,
        gap: int = 14,
        line_gap: int = 2,
        keep_last_right: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setContentsMargins(0, 0, 0, 0)
        self._items: list[QLayoutItem] = []
        self._gaps: dict[QLayoutItem, int] = {}  # before each group on a shared line
        self._spacing = spacing
        self._gap = gap
        self._line_gap = line_gap
        self._keep_last_right = keep_last_right

    def add_group(self, *widgets: QWidget, gap: int | None = None) -> QHBoxLayout:
        """A group of ``widgets``, side by side ``spacing`` apart; never split across lines.

        ``gap``: the space before it on a shared line (the row's ``gap`` by default).
        """
        group = QHBoxLayout()
        group.setContentsMargins(0, 0, 0, 0)
        group.setSpacing(self._spacing)
        self.addChildLayout(group)
        for widget in widgets:
            group.addWidget(widget)
        self._items.append(group)
        self._gaps[group] = self._gap if gap is None else gap
        self.invalidate()
        return group

    # -- QLayout ---------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), place=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, place=True)

    def sizeHint(self) -> QSize:
        """Everything on one line."""
        shown = self._shown()
        if not shown:
            return QSize(0, 0)
        width = sum(item.sizeHint().width() for item in shown) + sum(
            self._gap_before(item) for item in shown[1:]
        )
        return QSize(width, max(item.sizeHint().height() for item in shown))

    def minimumSize(self) -> QSize:
        """The widest group alone on a line (the last one at its narrowest)."""
        shown = self._shown()
        if not shown:
            return QSize(0, 0)
        widths = [self._least_width(item) for item in shown]
        return QSize(max(widths), max(item.minimumSize().height() for item in shown))

    # -- placing ---------------------------------------------------------------------
    def _gap_before(self, item: QLayoutItem) -> int:
        return self._gaps.get(item, self._gap)

    def _shown(self) -> list[QLayoutItem]:
        return [item for item in self._items if not item.isEmpty()]

    def _least_width(self, item: QLayoutItem) -> int:
        if self._keep_last_right and item is self._shown()[-1]:
            return item.minimumSize().width()
        return max(item.minimumSize().width(), item.sizeHint().width())

    def _arrange(self, rect: QRect, *, place: bool) -> int:
        """Lay the groups out in ``rect``'s width (or only measure); the height they take."""
        shown = self._shown()
        if not shown:
            return 0
        width = max(rect.width(), 1)
        lines: list[list[tuple[QLayoutItem, int]]] = [[]]
        used = 0
        last = shown[-1]
        for item in shown:
            hint = item.sizeHint().width()
            before = self._gap_before(item) if lines[-1] else 0
            if item is last and self._keep_last_right:
                least = item.minimumSize().width()
                room = width - used - before
                if lines[-1] and room < least:
                    lines.append([])
                    room = width
                lines[-1].append((item, max(min(hint, room), least)))
                break
            if lines[-1] and used + before + hint > width:
                lines.append([])
                used, before = 0, 0
            lines[-1].append((item, min(hint, width)))
            used += before + min(hint, width)
        top = rect.y()
        for number, line in enumerate(lines):
            height = max(item.sizeHint().height() for item, _width in line)
            if place:
                x = rect.x()
                for index, (item, item_width) in enumerate(line):
                    if index:
                        x += self._gap_before(item)
                    if item is last and self._keep_last_right:
                        x = rect.x() + width - item_width
                    item.setGeometry(QRect(x, top, item_width, height))
                    x += item_width
            top += height + (self._line_gap if number < len(lines) - 1 else 0)
        return top - rect.y()


class WrappingPanel(QWidget):
    """A widget laid out by :class:`FlowRow`\\s that asks for the height its lines take at its width.

    A window's least height counts each row as one line: at its narrowest the
    filter rows wrapped onto more lines than that, and the overview strip below
    covered the plot's dates.
    """

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth():
            needed = layout.totalHeightForWidth(self.width())
            if needed != self.minimumHeight():
                self.setMinimumHeight(needed)
