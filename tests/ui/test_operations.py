"""The background runner: callbacks on the GUI thread, superseded results dropped, in any finish order."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from pytestqt.qtbot import QtBot

from ui.operations import CancelToken, OperationRunner

pytestmark = pytest.mark.ui


def test_success_and_failure_arrive_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = OperationRunner(max_threads=2)
    seen: list[tuple[str, object, bool]] = []
    main = threading.main_thread()

    def ok(_t: CancelToken, _p: Callable[[object], None]) -> str:
        assert threading.current_thread() is not main
        return "done"

    def boom(_t: CancelToken, _p: Callable[[object], None]) -> str:
        raise ValueError("expected")

    runner.run(
        ok, success=lambda r: seen.append(("ok", r, threading.current_thread() is main)), failure=seen.append
    )
    runner.run(
        boom,
        success=seen.append,
        failure=lambda e: seen.append(("failed", type(e).__name__, threading.current_thread() is main)),
    )
    qtbot.waitUntil(lambda: len(seen) == 2 and not runner.busy, timeout=10_000)
    assert sorted(seen) == [("failed", "ValueError", True), ("ok", "done", True)]


@pytest.mark.parametrize("newer_finishes_first", [True, False])
def test_superseded_result_is_dropped_whatever_the_finish_order(
    qtbot: QtBot, newer_finishes_first: bool
) -> None:
    runner = OperationRunner(max_threads=2)
    release_old, release_new = threading.Event(), threading.Event()
    results: list[str] = []

    def old(token: CancelToken, _p: Callable[[object], None]) -> str:
        assert release_old.wait(10)
        return "old"

    def new(_t: CancelToken, _p: Callable[[object], None]) -> str:
        assert release_new.wait(10)
        return "new"

    first_token = runner.run(old, success=results.append, failure=pytest.fail, key="k")
    runner.run(new, success=results.append, failure=pytest.fail, key="k")
    assert first_token.cancelled
    for event in (release_new, release_old) if newer_finishes_first else (release_old, release_new):
        event.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert results == ["new"]
    # The key is free again: a later operation is delivered normally.
    runner.run(lambda _t, _p: "later", success=results.append, failure=pytest.fail, key="k")
    qtbot.waitUntil(lambda: results[-1] == "later", timeout=10_000)
