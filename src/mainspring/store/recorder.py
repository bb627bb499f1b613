"""The recorder: the engine's only writer, batching state changes and logs off the hot path.

A task call must cost microseconds, so it never waits for the database, and not even for a
lock: each change is one `deque.append` of a small tuple (atomic in CPython). A daemon thread
drains the queue every `recorder_flush_interval` seconds (at once when someone calls
`flush()`, as a top-level flow run does, briefly, when it starts running; for a store that
writes in another process, a server, as soon as `EAGER_BATCH` changes wait, so that the
server works while the flow does), folds it into a `Batch` (the latest snapshot of each run,
its state rows, logs and edges) and writes that in one transaction: a 1,000-task flow makes a
handful of transactions, not thousands. The store is opened lazily (by the first top-level
flow run, or in that thread), so merely importing or defining flows never loads SQLAlchemy.

Nothing is lost: a write that fails for a transient reason (a `StoreError`: a database locked,
a server restarting) keeps the batch and retries it unchanged with backoff (up to `MAX_BACKOFF`
seconds apart), so a store that is briefly unreachable gets everything once it is back;
`flush()` waits until everything recorded before it has been written (the engine calls it when
a top-level flow run ends, fails or crashes); an `atexit` hook flushes what is left, waiting
at most `EXIT_FLUSH_TIMEOUT` seconds. A process that exits while its store stays unreachable
longer than that loses what was not written, and says so on stderr.

A write the store refuses for good is never retried, since retrying it would hold back
everything recorded after it: `StoreRejected` (records the database or server will not take,
the others stored; no or a read-only API key), `StoreFull` (a full disk), or any error that
is not a `StoreError` (the same batch would fail the same way). Those records are set aside
in the dead-letter file (store/dead_letter.py) with a one-line message on stderr, once per
reason; if even that file cannot be written (the same full disk), they are counted as lost.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

from mainspring.exceptions import StoreError, StoreFull, StoreRejected
from mainspring.model import (
    FlowRecord,
    FlowRun,
    LogRecord,
    State,
    StateRecord,
    TaskRun,
    TaskRunEdge,
)
from mainspring.store.base import Batch, Store
from mainspring.store.dead_letter import set_aside
from mainspring.store.results.storage import ResultRef

MAX_BACKOFF = 5.0
#: How long a process exiting waits for its run history to reach the store.
EXIT_FLUSH_TIMEOUT = 60.0

# Kinds of queued items: the first element of each tuple. Plain tuples rather than objects:
# building one is the whole cost of recording a change on the hot path. The `Literal` kinds
# let a type checker tell the shapes apart where the writer thread unpacks them.
_TASK_RUN: Final = 0
_FLOW_RUN: Final = 1
_LOG: Final = 2
_EDGE: Final = 3
_FLOW: Final = 4
_MARK: Final = 5
#: a run's snapshot, and the state it just entered (None: record the snapshot only)
_TaskRunItem = tuple[Literal[0], TaskRun, State | None]
_FlowRunItem = tuple[Literal[1], FlowRun, State | None]
#: a log line: LogRecord's fields but its id (flow_run_id, task_run_id, level, logger, message, ts)
_LogItem = tuple[Literal[2], str | None, str | None, int, str, str, float]
_EdgeItem = tuple[Literal[3], TaskRunEdge]
_FlowItem = tuple[Literal[4], FlowRecord]
#: a flush() call's marker, set once everything queued before it is stored
_MarkItem = tuple[Literal[5], threading.Event]
_Item = _TaskRunItem | _FlowRunItem | _LogItem | _EdgeItem | _FlowItem | _MarkItem
#: For an eager store (see `Store.eager`): how many queued changes wake the writer.
EAGER_BATCH = 500
#: Distinct reasons of refusal reported on stderr, after which records are set aside silently.
MAX_REASONS_SHOWN = 10
_FULL = "disk full"
#: A full disk said once is said again only after this many seconds of writes succeeding: small
#: writes (a run's Running state) often still fit on a full disk, and must not repeat the note.
FULL_NOTE_QUIET = 60.0


class Recorder:
    """Collects changes from any thread and writes them to a store in the background."""

    def __init__(
        self,
        store_factory: Callable[[], Store],
        interval: float = 0.05,
        dead_letter_home: Path | None = None,
    ) -> None:
        self._store_factory = store_factory
        self._store: Store | None = None
        self._interval = interval
        self._queue: deque[_Item] = deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._store_lock = threading.RLock()  # re-entrant: opening a store may record a log
        self._closed = False
        self._busy = False  # the writer holds drained changes it has not stored yet
        #: A batch being written: after a failed write it is retried unchanged (same `id`, so a
        #: store that did apply it, its answer lost, skips it), and new changes wait in the
        #: queue meanwhile rather than joining it.
        self._pending: Batch | None = None
        self.last_error: BaseException | None = None
        self.dropped = 0  # changes the store refused for good (set aside or lost)
        self.lost = 0  # of those, changes that could not be set aside either
        self._drop_reasons: set[str] = set()  # reported on stderr already
        self._full_noted = 0.0  # when a full disk last refused a write (time.monotonic)
        #: where the dead-letter folder goes (default: MAINSPRING_HOME)
        self._dead_letter_home = dead_letter_home
        #: Queue length at which recording wakes the writer early; 0 (never) until the store,
        #: opened by the writer thread, turns out to be eager.
        self._wake_at = 0

    # -- recording (hot path: one append, no lock, no I/O) -----------------------------------
    def flow(self, flow: FlowRecord) -> None:
        self._queue.append((_FLOW, flow))
        self._ensure_thread()

    def flow_run(self, run: FlowRun, with_state: bool = True) -> None:
        """Record the run's current snapshot and, unless told otherwise, its state transition."""
        queue = self._queue
        queue.append((_FLOW_RUN, run, run.state if with_state else None))
        if len(queue) == self._wake_at:
            self._wake.set()
        elif self._thread is None:
            self._ensure_thread()

    def task_run(self, run: TaskRun, with_state: bool = True) -> None:
        queue = self._queue
        queue.append((_TASK_RUN, run, run.state if with_state else None))
        if len(queue) == self._wake_at:
            self._wake.set()
        elif self._thread is None:
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
        queue = self._queue
        queue.append((_LOG, flow_run_id, task_run_id, level, logger, message, ts))
        if len(queue) == self._wake_at:
            self._wake.set()
        elif self._thread is None:
            self._ensure_thread()

    def edge(self, edge: TaskRunEdge) -> None:
        self._queue.append((_EDGE, edge))

    # -- writing ------------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything recorded so far is in the store; False if `timeout` passed."""
        if not self._queue and not self._busy:
            return True  # nothing queued, and the writer holds nothing it has not stored
        done = threading.Event()
        self._queue.append((_MARK, done))
        self._ensure_thread()
        self._wake.set()
        return done.wait(timeout)

    def open_store(self) -> None:
        """Open the store in the calling thread if it is not open yet (a database's schema
        checked, its dead runs ended: see `Store.open`), so that the writer's first write
        does not wait for it; cheap once it is open. A failure is left to the writer, which
        reports and retries."""
        with contextlib.suppress(Exception):
            self.store.open()

    @property
    def store(self) -> Store:
        if self._store is None:
            # a flow's thread (open_store) and the writer may both get here first: one store
            with self._store_lock:
                if self._store is None:
                    store = self._store_factory()
                    self._wake_at = EAGER_BATCH if store.eager else 0
                    self._store = store
        return self._store

    def _ensure_thread(self) -> None:
        if self._thread is not None or self._closed:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="mainspring-recorder", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        waiting: list[threading.Event] = []  # flush() calls answered once `_pending` is stored
        backoff = self._interval
        while True:
            if self._pending is None:
                self._wake.wait(self._interval)
                self._wake.clear()
                self._busy = True
                self._pending = Batch()
                waiting.extend(self._drain_into(self._pending))
            batch = self._pending
            if batch:
                try:
                    self.store.write(batch)
                    if time.monotonic() - self._full_noted > FULL_NOTE_QUIET:
                        self._drop_reasons.discard(_FULL)  # full again, long after: news again
                except StoreRejected as exc:  # refused for good: retrying cannot help
                    self._set_aside(batch, exc)
                except StoreError as exc:  # keep the batch; retry it unchanged (same id)
                    self._report(exc)
                    time.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                except Exception as exc:  # not a store's transient failure: it would recur
                    self._set_aside(batch, StoreRejected(f"{type(exc).__name__}: {exc}"))
            self._pending, backoff, self.last_error = None, self._interval, None
            self._busy = False
            for event in waiting:
                event.set()
            waiting.clear()
            if self._closed and not self._queue:
                return

    def _drain_into(self, batch: Batch) -> list[threading.Event]:
        """Fold queued changes into `batch`; return the flush markers met on the way."""
        queue, marks = self._queue, []
        task_runs, flow_runs, states = batch.task_runs, batch.flow_runs, batch.states
        while queue:
            item = queue.popleft()
            # `item[0] == kind` (not a local `kind`) so that mypy narrows `item` in each branch
            if item[0] == _TASK_RUN:
                task_run, state = item[1], item[2]
                task_runs[task_run.id] = task_run
                if state is not None:
                    states.append(_state_record(task_run.id, True, state))
            elif item[0] == _LOG:
                batch.logs.append(LogRecord(*item[1:]))
            elif item[0] == _FLOW_RUN:
                flow_run, state = item[1], item[2]
                flow_runs[flow_run.id] = flow_run
                if state is not None:
                    states.append(_state_record(flow_run.id, False, state))
            elif item[0] == _EDGE:
                batch.edges.append(item[1])
            elif item[0] == _FLOW:
                batch.flows.setdefault(item[1].name, item[1])
            else:
                marks.append(item[1])
        return marks

    def _set_aside(self, batch: Batch, exc: StoreRejected) -> None:
        """Write what the store refused for good (the whole batch, or the parts `exc` names
        when it stored the others) to the dead-letter file, saying so once per reason."""
        parts = exc.parts if exc.parts is not None else [(batch, str(exc))]
        count = sum(part.size() for part, _ in parts)
        self.dropped += count
        try:
            path = set_aside(parts, self._home())
        except Exception as error:  # (a full disk, mostly) the writer thread must live on
            self.lost += count
            where = f"they could not be set aside either ({error}) and are lost"
        else:
            where = f"they are set aside in {path}"
        key = _FULL if isinstance(exc, StoreFull) else "; ".join(sorted({w for _, w in parts}))
        if key == _FULL:
            self._full_noted = time.monotonic()
        if key in self._drop_reasons or len(self._drop_reasons) > MAX_REASONS_SHOWN:
            return
        self._drop_reasons.add(key)
        if len(self._drop_reasons) > MAX_REASONS_SHOWN:
            print(
                f"mainspring: more run history was refused; {where} (no more messages)",
                file=sys.stderr,
            )
            return
        records = "1 record" if count == 1 else f"{count} records"
        print(f"mainspring: {records} of run history not stored: {exc}; {where}", file=sys.stderr)

    def _home(self) -> Path:
        if self._dead_letter_home is None:
            from mainspring.settings import get_settings

            return get_settings().home
        return self._dead_letter_home

    def unwritten(self) -> int:
        """Roughly how many changes are recorded but not yet stored (flush markers count)."""
        pending = self._pending
        return len(self._queue) + (pending.size() if pending is not None else 0)

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


def _state_record(run_id: str, is_task: bool, state: State) -> StateRecord:
    data = state.data
    result = data if type(data) is ResultRef else None  # a persisted result's address
    s = state
    return StateRecord(run_id, is_task, s.type, s.name, s.message, s.ts, None, result)


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
    if recorder is None or _recorder_pid != os.getpid():
        return
    if not recorder.flush(timeout=EXIT_FLUSH_TIMEOUT):
        error = recorder.last_error
        print(
            f"mainspring: about {recorder.unwritten()} records of run history could not be "
            f"written before exit and are lost"
            + (f" ({type(error).__name__}: {error})" if error else ""),
            file=sys.stderr,
        )
