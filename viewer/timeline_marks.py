"""Thinning small marks (padlocks, search ticks) so dense lanes show one per cluster, not a smear.

A lane with a private note every few pixels used to draw a padlock for each,
and overlapping padlocks read as a black blob.  One mark per cluster says the
same thing ("private events here") legibly; the tooltip and the detail pane
say which.  Pure numpy over the marks of one frame (a few thousand at most),
so it adds no per-event Python work to a repaint.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def spaced(x_px: FloatArray, lane: npt.NDArray[np.integer], gap_px: float) -> IntArray:
    """Indices (ascending) of the marks to keep so no two in one lane are closer than ``gap_px``.

    Each lane is cut into cells ``gap_px`` wide; the leftmost mark of a cell is
    kept unless it is within ``gap_px`` of the previous cell's mark.  Kept
    marks are therefore at least ``gap_px`` apart, and no stretch of marks is
    left without one for more than about three gaps.
    """
    n = len(x_px)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    cell = np.floor(x_px / gap_px).astype(np.int64)
    cell -= int(cell.min())
    key = (lane.astype(np.int64) << 40) | cell
    # By lane, then cell, leftmost first.  Marks in time order (as frames hand them over) already
    # ascend in cell within a lane, so a stable sort by lane alone gives that order, in linear time.
    in_order = bool(np.all(x_px[1:] >= x_px[:-1]))
    order = np.argsort(lane, kind="stable") if in_order else np.lexsort((x_px, key))
    key, ordered_x = key[order], x_px[order]
    first = np.concatenate(([True], key[1:] != key[:-1]))
    candidates = order[first]
    cand_key, cand_x = key[first], ordered_x[first]
    same_lane = np.concatenate(([False], (cand_key[1:] >> 40) == (cand_key[:-1] >> 40)))
    crowded = same_lane & (np.concatenate(([np.inf], np.diff(cand_x))) < gap_px)
    return np.sort(candidates[~crowded]).astype(np.int64)
