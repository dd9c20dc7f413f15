"""Which lanes the timeline shows, and in what order, top to bottom.

A therapist may hide the lanes they never use (an emptied lane gives its
height to the others) and move the lane that matters most to the top.  The
layout is plain data; the plot asks it where a lane's row is, and which lane
sits at a height, so drawing and hit-testing always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from viewer.domain import EventType

_DEFAULT_ORDER: tuple[EventType, ...] = tuple(sorted(EventType, key=lambda t: t.lane))


@dataclass(frozen=True)
class LaneLayout:
    """Visible lanes, top first.  Row ``0`` is the bottom lane (y grows upwards in the plot)."""

    order: tuple[EventType, ...] = _DEFAULT_ORDER

    def __post_init__(self) -> None:
        if len(set(self.order)) != len(self.order):
            raise ValueError("a lane appears twice in the layout")

    @property
    def rows(self) -> int:
        return len(self.order)

    @property
    def hidden(self) -> tuple[EventType, ...]:
        return tuple(t for t in _DEFAULT_ORDER if t not in self.order)

    @property
    def is_default(self) -> bool:
        return self.order == _DEFAULT_ORDER

    def y_of(self, event_type: EventType) -> float | None:
        """The row (y) of a lane, or None when it is hidden."""
        if event_type not in self.order:
            return None
        return float(self.rows - 1 - self.order.index(event_type))

    def y_table(self) -> npt.NDArray[np.float64]:
        """y per lane index (``EventType.lane``), NaN for hidden lanes: one gather maps events to rows."""
        table = np.full(len(_DEFAULT_ORDER), np.nan)
        for event_type in self.order:
            table[event_type.lane] = self.y_of(event_type)
        return table

    def visible_lanes(self) -> npt.NDArray[np.bool_]:
        """Per lane index, whether it is shown."""
        shown = np.zeros(len(_DEFAULT_ORDER), dtype=np.bool_)
        for event_type in self.order:
            shown[event_type.lane] = True
        return shown

    def lane_at(self, y: float, slack: float = 0.4) -> EventType | None:
        """The lane whose row is nearest to ``y``, if within ``slack`` of its centre."""
        row = round(y)
        if abs(y - row) > slack or not 0 <= row < self.rows:
            return None
        return self.order[self.rows - 1 - row]

    def moved(self, event_type: EventType, steps: int) -> LaneLayout:
        """The layout with a lane moved ``steps`` places down (negative: up), clamped to the ends."""
        if event_type not in self.order:
            return self
        order = list(self.order)
        at = order.index(event_type)
        order.pop(at)
        order.insert(min(max(at + steps, 0), len(order)), event_type)
        return LaneLayout(tuple(order))

    def hiding(self, event_type: EventType) -> LaneLayout:
        """The layout without a lane; the last visible lane cannot be hidden."""
        if event_type not in self.order or self.rows == 1:
            return self
        return LaneLayout(tuple(t for t in self.order if t is not event_type))

    def showing(self, event_type: EventType) -> LaneLayout:
        """The layout with a hidden lane back, at the bottom."""
        if event_type in self.order:
            return self
        return LaneLayout((*self.order, event_type))
