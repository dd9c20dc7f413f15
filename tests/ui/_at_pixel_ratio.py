"""Run by a test in a process of its own (a QApplication's pixel ratio is fixed when it starts).

``python -m tests.ui._at_pixel_ratio CHECK`` prints one JSON line: the plot's
pixel ratio and what the check found there.  ``lane_names``: per lane layout,
whether the lane names' image equals drawing them; ``locks``: where
:func:`lock_marks` puts the padlocks.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from PySide6.QtWidgets import QApplication

from tests.ui.test_timeline_drawing import SIZE, lane_names_as_copied_and_as_drawn, lock_marks, show_columns
from ui.operations import OperationRunner
from ui.timeline_view import TimelineView
from viewer.services.bench_data import synthetic_history


def _lane_names(view: TimelineView) -> Any:
    columns = synthetic_history(2_500, seed=5, years=2.0).columns(seed=5)
    show_columns(view, columns, float(columns.time_ms[-1]))
    QApplication.processEvents()
    return lane_names_as_copied_and_as_drawn(view)


CHECKS = {"lane_names": _lane_names, "locks": lock_marks}


def main() -> None:
    app = QApplication.instance() or QApplication([])
    runner = OperationRunner()
    view = TimelineView(runner)
    view.resize(*SIZE)
    view.body.setSizes([SIZE[0], 0])
    view.show()
    app.processEvents()
    found = CHECKS[sys.argv[1]](view)
    print(json.dumps({"ratio": view.plot.devicePixelRatioF(), "found": found}))
    view.close()
    runner.wait_for_done()


if __name__ == "__main__":
    main()
