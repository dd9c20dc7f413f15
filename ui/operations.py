"""Background operations with success/failure callbacks, after Anki's ``QueryOp``.

The GUI thread never waits on the database, a file or the network: work runs
in a ``QThreadPool`` and its result (or exception) comes back as a queued
signal, so callbacks always run on the GUI thread.  Operations submitted under
the same ``key`` supersede each other: when the user switches patient, the
stale load is told to cancel and its late result is dropped.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class CancelToken:
    """Checked by long work between steps; set when a newer operation supersedes it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits, Qt queues the call across threads.

    Signals:
        finished(int, bool, object): operation id, succeeded?, result or exception.
        progress(int, object): operation id, a progress value from the work.
    """

    finished = Signal(int, bool, object)
    progress = Signal(int, object)


class _Job(QRunnable):
    def __init__(
        self,
        op_id: int,
        work: Callable[[CancelToken, Callable[[object], None]], Any],
        token: CancelToken,
        relay: _Relay,
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._op_id = op_id
        self._work = work
        self._token = token
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._work(self._token, lambda value: self._relay.progress.emit(self._op_id, value))
        except BaseException as exc:  # delivered to the failure callback on the GUI thread
            self._relay.finished.emit(self._op_id, False, exc)
        else:
            self._relay.finished.emit(self._op_id, True, result)


@dataclass(frozen=True)
class _Pending:
    success: Callable[[Any], None]
    failure: Callable[[BaseException], None]
    progress: Callable[[Any], None] | None
    key: str | None
    token: CancelToken


class OperationRunner(QObject):
    """Runs work off the GUI thread and calls back on it.

    Signals:
        busyChanged(bool): whether any operation is running (for a busy indicator).
    """

    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_finished)
        self._relay.progress.connect(self._on_progress)
        self._ids = itertools.count(1)
        self._pending: dict[
            int,
            tuple[
                Callable[[Any], None],
                Callable[[BaseException], None],
                Callable[[Any], None] | None,
                str | None,
            ],
        ] = {}
        self._latest_by_key: dict[str, tuple[int, CancelToken]] = {}

    def run(
        self,
        work: Callable[[CancelToken, Callable[[object], None]], Any],
        *,
        success: Callable[[Any], None],
        failure: Callable[[BaseException], None],
        progress: Callable[[Any], None] | None = None,
        key: str | None = None,
    ) -> CancelToken:
        """Start ``work(token, report_progress)`` in the pool; returns its cancel token."""
        op_id = next(self._ids)
        token = CancelToken()
        if key is not None:
            previous = self._latest_by_key.get(key)
            if previous is not None:
                previous[1].cancel()
            self._latest_by_key[key] = (op_id, token)
        was_busy = bool(self._pending)
        self._pending[op_id] = _Pending(success, failure, progress, key, token)
        if not was_busy:
            self.busyChanged.emit(True)
        self._pool.start(_Job(op_id, work, token, self._relay))
        return token

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def cancel_all(self) -> None:
        """Every running operation's result is dropped (sign-out: nothing of the session may land)."""
        for entry in self._pending.values():
            entry.token.cancel()
        self._latest_by_key.clear()

    def running(self, key: str) -> bool:
        """Whether the latest operation started under ``key`` has not called back yet."""
        return key in self._latest_by_key

    def wait_for_done(self, msecs: int = 30_000) -> bool:
        """Block until the pool is idle: for application shutdown only, never during use."""
        return self._pool.waitForDone(msecs)

    def _on_progress(self, op_id: int, value: object) -> None:
        entry = self._pending.get(op_id)
        if entry is None or entry.progress is None or entry.token.cancelled:
            return
        entry.progress(value)

    def _on_finished(self, op_id: int, ok: bool, payload: object) -> None:
        entry = self._pending.pop(op_id)
        if entry.key is not None and self._latest_by_key.get(entry.key, (None,))[0] == op_id:
            del self._latest_by_key[entry.key]
        if not self._pending:
            self.busyChanged.emit(False)
        if entry.token.cancelled:  # superseded by a newer operation with the same key
            log.debug("dropped the result of superseded operation %s", op_id)
            return
        if ok:
            entry.success(payload)
        else:
            assert isinstance(payload, BaseException)
            entry.failure(payload)
