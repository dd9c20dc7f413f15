"""Colours and marker shapes: how importance looks on screen.

Okabe–Ito colours are distinguishable with the common colour-vision
deficiencies, and each level also has its own shape (hollow diamond, dot,
triangle, star), so importance never rests on colour or size alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from viewer.domain import Importance


@dataclass(frozen=True)
class MarkerStyle:
    colour: str  # the level's colour: marker fill, density bars, legend
    symbol: str  # pyqtgraph symbol code
    size: int
    outline: str
    fill: str | None = None  # a hollow marker's inside; None fills it with ``colour``
    outline_width: float = 1.0

    @property
    def brush(self) -> str:
        return self.fill or self.colour


# Four shapes, not two sizes of one: low a hollow diamond (dark outline, readable on either lane
# band), normal a dot, high a triangle, critical a star.
IMPORTANCE_STYLES: dict[Importance, MarkerStyle] = {
    Importance.LOW: MarkerStyle("#6B7785", "d", 10, "#47515D", fill="#FFFFFF", outline_width=1.6),
    Importance.NORMAL: MarkerStyle("#0072B2", "o", 9, "#004C77"),
    Importance.HIGH: MarkerStyle("#E69F00", "t1", 12, "#8A5F00"),
    Importance.CRITICAL: MarkerStyle("#D55E00", "star", 16, "#6E3000"),
}

LANE_BAND_COLOURS = ("#F7F9FB", "#EEF2F6")
GRID_COLOUR = "#D9DEE4"
TODAY_COLOUR = "#CC79A7"
TODAY_TEXT_COLOUR = "#9E3D75"  # the same hue dark enough for text (the line's colour was 3:1)
PRIVATE_OUTLINE = "#222222"
BANNER_STYLE = "background:#FFF4CE; color:#5C4400; padding:6px 10px; border-bottom:1px solid #E8D9A0;"
ERROR_STYLE = "color:#A12B00;"
# Where the keys go: the timeline's frame while it has the focus (Okabe-Ito blue, as "normal" markers).
FOCUS_COLOUR = "#0072B2"
