"""Run by a test in a process of its own: the lane names' image against drawing them, at the process' pixel ratio.

Prints one JSON line: the plot's pixel ratio and, per lane layout, whether the two agree.
"""

from __future__ import annotations

import json

from PySide6.QtWidgets import QApplication

from tests.ui.test_timeline_drawing import lane_names_as_copied_and_as_drawn, show_columns
from ui.operations import OperationRunner
from ui.timeline_view import TimelineView
from viewer.services.bench_data import synthetic_history


def main() -> None:
    app = QApplication.instance() or QApplication([])
    columns = synthetic_history(2_500, seed=5, years=2.0).columns(seed=5)
    runner = OperationRunner()
    view = TimelineView(runner)
    view.resize(1200, 640)
    view.show()
    show_columns(view, columns, float(columns.time_ms[-1]))
    app.processEvents()
    results = lane_names_as_copied_and_as_drawn(view)
    print(json.dumps({"ratio": view.plot.devicePixelRatioF(), "layouts": results}))
    view.close()
    runner.wait_for_done()


if __name__ == "__main__":
    main()
