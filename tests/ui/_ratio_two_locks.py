"""Run by a test in a process of its own: where the locks go at the process' pixel ratio.

Prints one JSON line: the plot's pixel ratio and the lock marks of :func:`lock_marks`.
"""

from __future__ import annotations

import json

from PySide6.QtWidgets import QApplication

from tests.ui.test_timeline_drawing import SIZE, lock_marks
from ui.operations import OperationRunner
from ui.timeline_view import TimelineView


def main() -> None:
    app = QApplication.instance() or QApplication([])
    runner = OperationRunner()
    view = TimelineView(runner)
    view.resize(*SIZE)
    view.body.setSizes([SIZE[0], 0])
    view.show()
    app.processEvents()
    marks = lock_marks(view)
    print(json.dumps({"ratio": view.plot.devicePixelRatioF(), "marks": marks}))
    view.close()
    runner.wait_for_done()


if __name__ == "__main__":
    main()
