"""The claim-and-run loop that `serve()` and `mainspring worker start` share.

Each turn: tick the scheduler when this process schedules (no server), claim as many due runs
of the pool as the runner has room for (`claim_runs`: atomic, so several loops on one pool
start each run once), start each one whose claim is still this worker's (`start_claimed_run`:
a slow worker whose claim was released as stale and taken by another does not run it twice),
account for the subprocesses, heartbeat the worker. Then it
sleeps until the next scheduled time it knows of (given by `next_due`), or `poll_interval` at
most, so a run on a 1-second schedule is claimed within milliseconds of its time rather than
at the next poll. The sleep is an Event wait: `stop()` (a signal handler) ends it at once.
With `claim_wait` (what `serve()` and workers use) the claim itself waits instead: a long poll
the server answers as soon as a run is due, or on the embedded store a wait in this process
until the pool's next run is due or another process commits (a run made by `deployment run`),
so a run is claimed within milliseconds of its time; `stop()` then takes effect when that
claim returns (`claim_wait` seconds at most). With `prefetch` (a forked runner, on the
embedded store or through a server: MAINSPRING_WORKER_PREFETCH_SECONDS) a run is claimed
and its process started that long before its time, and the process waits for it
(deploy/execute.py): what is left at the scheduled time is the timer and the Running write.

Only `DeploymentStore` and `Store` calls: the same loop runs over a SqlStore or an ApiStore.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mainspring.deploy.scheduler import Scheduler
from mainspring.deploy.workers.base import FlowRunRunner
from mainspring.store.base import Store
from mainspring.store.deployments import DeploymentStore

__all__ = ["RunLoop", "claim_wait", "stop_on_signals"]

logger = logging.getLogger("mainspring.deploy.loop")

HEARTBEAT_EVERY = 10.0
TICK_EVERY = 5.0
#: Through a server, how long one claim waits there for a run (a long poll): short enough
#: that Ctrl-C, the runs' exits and the heartbeat are seen within about that long.
REMOTE_CLAIM_WAIT = 2.0
#: On the embedded store the claim waits in this process (until the pool's next run is due,
#: or another process commits: store/sql/sqlite.py's data_version watch), so a shorter wait
#: costs little and Ctrl-C is seen sooner.
LOCAL_CLAIM_WAIT = 0.5


def claim_wait(remote: bool) -> float:
    """How long a loop's claim waits for a run, through a server or on the embedded store."""
    return REMOTE_CLAIM_WAIT if remote else LOCAL_CLAIM_WAIT


class RunLoop:
    """Claims the pool's due runs and runs them until `stop()` (module docstring)."""

    def __init__(
        self,
        store: Store,
        pool_name: str,
        runner: FlowRunRunner,
        *,
        worker_name: str | None = None,
        queues: Sequence[str] | None = None,
        scheduler: Scheduler | None = None,
        next_due: Callable[[float], float | None] | None = None,
        poll_interval: float = 0.5,
        claim_wait: float = 0.0,
        on_start: Callable[[str, str], None] | None = None,
        prefetch: float = 0.0,
    ) -> None:
        if not isinstance(store, DeploymentStore):
            raise TypeError(
                f"running deployments needs a store that keeps them, got {type(store).__name__}"
            )
        self.store = store
        self.deployments: DeploymentStore = store
        self.pool_name = pool_name
        self.runner = runner
        self.worker_name = worker_name or f"{socket.gethostname()}-{threading.get_native_id()}"
        self.queues = queues
        self.scheduler = scheduler
        self.next_due = next_due
        self.poll_interval = poll_interval
        self.claim_wait = claim_wait
        self.on_start = on_start
        #: claim runs this many seconds before their time when the runner's processes can
        #: wait for it (a forked child: `FlowRunRunner.prefetches`), so a run's process is
        #: started and its code loaded by then
        self.prefetch = prefetch if runner.prefetches else 0.0
        self.started = 0
        self._stop = threading.Event()
        self._next_tick = 0.0
        self._next_heartbeat = 0.0
        self._claim_waited = False  # this turn's claim was a long poll: no sleep after it

    def stop(self) -> None:
        """Ask the loop to end after its current turn (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def turn(self) -> None:
        """One turn: tick if due, claim and start, check the subprocesses, heartbeat."""
        now = time.time()
        if self.scheduler is not None and now >= self._next_tick:
            figures = self.scheduler.tick(now)
            if (
                figures.created
                or figures.late
                or figures.expired
                or figures.released
                or figures.requeued
            ):
                logger.debug("Scheduler tick: %s", figures)
            # a tick bounded by its time budget that left work: the next one follows at once
            self._next_tick = now if figures.more else now + TICK_EVERY
        if now >= self._next_heartbeat:
            self.deployments.worker_heartbeat(self.pool_name, self.worker_name, now)
            self._next_heartbeat = now + HEARTBEAT_EVERY
        self.runner.prepare()
        room = self.runner.free_slots
        self._claim_waited = bool(room) and self.claim_wait > 0
        if room:
            for claimed in self.deployments.claim_runs(
                self.pool_name,
                self.queues,
                self.worker_name,
                room,
                time.time(),
                wait=self.claim_wait,
                ahead=self.prefetch,
            ):
                run = claimed.run
                # a slow worker's claim may have been released as stale and taken by another
                # worker meanwhile: start only a run whose claim is still this worker's
                if not self.deployments.start_claimed_run(run.id, self.worker_name):
                    logger.warning(
                        "Flow run %r (%s): its claim was released before this worker started "
                        "it; not starting it",
                        run.name,
                        run.id,
                    )
                    continue
                label = f"{run.name!r} ({run.id})"
                ahead = claimed.expected_start_time if self.prefetch else None
                self.runner.start(run.id, label, not_before=ahead)
                self.started += 1
                if self.on_start is not None:
                    self.on_start(run.id, run.name)
        self.runner.check()

    def wait(self) -> None:
        """Sleep until the next known scheduled time (just after it), at most `poll_interval`;
        not at all after a claim that waited at the server."""
        if self._claim_waited:
            return
        now = time.time()
        wake = now + self.poll_interval
        if self.next_due is not None:
            due = self.next_due(now)
            if due is not None:
                wake = min(wake, due - self.prefetch + 0.001)
        self._stop.wait(max(0.0, wake - time.time()))

    def run(self, should_stop: Callable[[], bool] | None = None) -> None:
        """Turn until `stop()` (or `should_stop()` is true); failures of the store are logged
        once per streak and retried."""
        failing = False
        while not self._stop.is_set() and not (should_stop is not None and should_stop()):
            try:
                self.turn()
            except Exception:
                if not failing:
                    logger.exception("Could not claim or start runs; retrying")
                failing = True
            else:
                failing = False
            self.wait()


@contextlib.contextmanager
def stop_on_signals(loop: RunLoop) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop the loop (main thread only: elsewhere the caller stops it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signum: int, _frame: Any) -> None:
        loop.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
