"""The recorder: the engine's only writer, batching state changes and logs off the hot path.

A task call must cost microseconds, so it never waits for the database: it appends to an
in-memory `Batch` under a lock and returns. A daemon thread writes the batch every
`recorder_flush_interval` seconds (and at once when someone calls `flush()`), so a 1,000-task
flow makes a few dozen transactions instead of thousands. The store is opened lazily in that
thread, so merely importing or defining flows never loads SQLAlchemy.

Nothing is lost: a failed write puts the batch back and is retried with backoff; `flush()`
waits until everything recorded before it has been written (the engine calls it when a
top-level flow run ends, fails or crashes); an `atexit` hook flushes what is left.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable

from mainspring.model import FlowRecord, FlowRun, LogRecord, StateRecord, TaskRun, TaskRunEdge
from mainspring.store.base import Batch, Store

MAX_BACKOFF = 5.0


class Recorder:
    """Collects changes from any thread and writes them to a store in the background."""

    def __init__(self, store_factory: Callable[[], Store], interval: float = 0.05) -> None:
        self._store_factory = store_factory
        self._store: Store | None = None
        self._interval = interval
        self._lock = threading.Lock()
        self._pending = Batch()
        self._wake = threading.Event()
        self._written = threading.Condition()
        self._enqueued = 0  # count of record calls made
        self._done = 0  # count of record calls whose changes are in the store
        self._thread: threading.Thread | None = None
        self._closed = False
        self.last_error: BaseException | None = None

    # -- recording (hot path: no I/O) ---------------------------------------------------------
    def flow(self, flow: FlowRecord) -> None:
        with self._lock:
            self._pending.flows.setdefault(flow.name, flow)
            self._enqueued += 1
        self._ensure_thread()

    def flow_run(self, run: FlowRun, with_state: bool = True) -> None:
        """Record the run's current snapshot and, unless told otherwise, its state transition."""
        state = run.state
        with self._lock:
            self._pending.flow_runs[run.id] = run
            if with_state:
                self._pending.states.append(
                    StateRecord(run.id, False, state.type, state.name, state.message, state.ts)
                )
            self._enqueued += 1
        self._ensure_thread()

    def task_run(self, run: TaskRun, with_state: bool = True) -> None:
        state = run.state
        with self._lock:
            self._pending.task_runs[run.id] = run
            if with_state:
                self._pending.states.append(
                    StateRecord(run.id, True, state.type, state.name, state.message, state.ts)
                )
            self._enqueued += 1
        if self._thread is None:
            self._ensure_thread()

    def log(
        self,
        flow_run_id: str | None,
        task_run_id: str | None,
        level: int,
        logger: str,
        message: str,
        ts: float,
    ) -> None:
        record = LogRecord(flow_run_id, task_run_id, level, logger, message, ts)
        with self._lock:
            self._pending.logs.append(record)
            self._enqueued += 1
        if self._thread is None:
            self._ensure_thread()

    def edge(self, edge: TaskRunEdge) -> None:
        with self._lock:
            self._pending.edges.append(edge)
            self._enqueued += 1

    # -- writing ------------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything recorded so far is in the store; False if `timeout` passed."""
        with self._lock:
            target = self._enqueued
        if self._done >= target:
            return True
        self._ensure_thread()
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._written:
            while self._done < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._written.wait(remaining if remaining is not None else 1.0)
                if self._thread is None or not self._thread.is_alive():
                    return self._done >= target
        return True

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def _ensure_thread(self) -> None:
        if self._thread is not None or self._closed:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="mainspring-recorder", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        backoff = self._interval
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            with self._lock:
                batch, self._pending = self._pending, Batch()
                upto = self._enqueued
            if not batch:
                self._mark_done(upto)
                if self._closed:
                    return
                continue
            try:
                self.store.write(batch)
            except Exception as exc:  # keep the batch; the next pass retries it
                self._requeue(batch)
                self._report(exc)
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = self._interval
            self.last_error = None
            self._mark_done(upto)

    def _mark_done(self, upto: int) -> None:
        with self._written:
            if upto > self._done:
                self._done = upto
            self._written.notify_all()

    def _requeue(self, batch: Batch) -> None:
        """Put a batch that failed to write back in front of what arrived since."""
        with self._lock:
            newer = self._pending
            batch.flows.update(newer.flows)
            batch.flow_runs.update(newer.flow_runs)
            batch.task_runs.update(newer.task_runs)
            batch.states.extend(newer.states)
            batch.logs.extend(newer.logs)
            batch.edges.extend(newer.edges)
            self._pending = batch

    def _report(self, exc: Exception) -> None:
        first = self.last_error is None
        self.last_error = exc
        if first:
            print(
                f"mainspring: could not record run history ({type(exc).__name__}: {exc}); "
                "retrying in the background",
                file=sys.stderr,
            )

    def close(self, timeout: float | None = 30.0) -> None:
        """Flush and stop the writer thread."""
        self.flush(timeout)
        self._closed = True
        self._wake.set()


_recorder: Recorder | None = None
_recorder_pid: int | None = None
_recorder_lock = threading.Lock()


def get_recorder() -> Recorder:
    """The process's recorder, writing to the default store (a new one in a forked child)."""
    global _recorder, _recorder_pid
    recorder = _recorder
    if recorder is not None and _recorder_pid == os.getpid():
        return recorder
    with _recorder_lock:
        if _recorder is None or _recorder_pid != os.getpid():
            from mainspring.settings import get_settings
            from mainspring.store import get_store

            _recorder = Recorder(get_store, get_settings().recorder_flush_interval)
            _recorder_pid = os.getpid()
        return _recorder


def reset_recorder() -> None:
    """Flush and forget the process's recorder (tests and settings changes use this)."""
    global _recorder, _recorder_pid
    with _recorder_lock:
        if _recorder is not None and _recorder_pid == os.getpid():
            _recorder.close()
        _recorder, _recorder_pid = None, None


@atexit.register
def _flush_at_exit() -> None:
    recorder = _recorder
    alive = recorder is not None and _recorder_pid == os.getpid()
    if alive and not recorder.flush(timeout=60.0):  # type: ignore[union-attr]
        print("mainspring: some run history could not be written before exit", file=sys.stderr)
