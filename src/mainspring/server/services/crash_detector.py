"""The crash detector: flow runs whose heartbeats stopped are marked Crashed, saying why.

A running flow run's process sends a heartbeat every `heartbeat_interval` seconds
(engine/stopping/heartbeats.py). A process killed with SIGKILL, lost with its machine or frozen
stops sending them, and its run would stay Running forever. Every `server_crash_check_interval`
seconds this service looks for Running and Cancelling flow runs whose last sign of life (the
later of their last heartbeat and when they entered their state) is older than
`server_crash_timeout` seconds, and moves each to Crashed with a message naming the silence and
the timeout. (Runs of the server's own host whose process is gone are ended sooner, when the
server opens its store: store/sql/dead_runs.py; this service is what catches the others.)

Nothing is crashed twice or wrongly:
- the move goes through the orchestration rules with a compare-and-set (transitions.set_state)
  that also requires the run to be still silent: a run that finished meanwhile (a terminal
  state is never crashed), one whose heartbeat landed between the scan and the write, and a
  second detector racing this one all leave the run alone, so its timeline has one Crashed row;
- a late heartbeat from a finished run changes nothing (Store.heartbeat skips terminal runs);
- a run whose process was only slow (a long call holding the GIL) and then reports its real
  outcome gets it: the store lets a terminal state from the process replace a presumed Crashed.

A detector that has just started (a server starting, or restarting after an outage) crashes
nothing until it has listened for one timeout: while the server was away, clients' heartbeats
failed through no fault of theirs, and a run is presumed dead only when a whole timeout passed
without a heartbeat while someone was listening.

The crashed run's task runs that had not finished are marked Crashed too (its process is
gone, they will never finish), so the run's page shows no zombie Running tasks. The flow's
on_crashed hooks cannot run here: they are code of the dead process.

One query per scan, on the `state_type` index: it touches the running runs only, however many
finished runs the database holds.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import partial
from typing import Any

import sqlalchemy as sa

from mainspring.model import StateType
from mainspring.model.states import Crashed
from mainspring.server.db import read_connection
from mainspring.server.transitions import last_sign_of_life, set_state
from mainspring.settings import Settings
from mainspring.store.sql import SqlStore
from mainspring.store.sql.dead_runs import end_unfinished_task_runs
from mainspring.store.sql.schema import flow_run

logger = logging.getLogger("mainspring.server.crash_detector")

WATCHED = (StateType.RUNNING.value, StateType.CANCELLING.value)


class CrashDetector:
    """Scans for silent runs every `interval` seconds in a daemon thread (`start`/`stop`)."""

    def __init__(self, store: SqlStore, timeout: float, interval: float) -> None:
        if timeout <= 0 or interval <= 0:
            raise ValueError(f"timeout and interval must be positive, got {timeout}, {interval}")
        self.store = store
        self.timeout = timeout
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.listening_since: float | None = None  # set by start(): see the module's docstring

    @classmethod
    def from_settings(cls, store: SqlStore, settings: Settings) -> CrashDetector:
        return cls(store, settings.server_crash_timeout, settings.server_crash_check_interval)

    # -- one scan ------------------------------------------------------------------------------
    def scan(self, now: float | None = None) -> list[str]:
        """Crash every watched run silent for longer than the timeout; return their ids."""
        now = time.time() if now is None else now
        cutoff = now - self.timeout
        if self.listening_since is not None and cutoff < self.listening_since:
            return []  # not listened for a whole timeout yet: no silence can be held against a run
        c = flow_run.c
        last = last_sign_of_life(flow_run)
        query = sa.select(c.id, c.state_name, c.heartbeat, last.label("last")).where(
            c.state_type.in_(WATCHED), last < cutoff
        )
        with read_connection(self.store) as conn:
            silent = list(conn.execute(query))
        crashed = []
        for row in silent:
            silence = now - float(row.last)
            since = "No heartbeat" if row.heartbeat is not None else "No heartbeat at all"
            message = (
                f"{since} for {silence:.0f} s (crash timeout {self.timeout:g} s) while "
                f"{row.state_name}: the process running this flow run is presumed dead"
            )
            crashed_tasks: dict[str, int] = {}  # filled in set_state's transaction
            outcome = set_state(
                self.store,
                row.id,
                Crashed(message=message),
                is_task=False,
                silent_since=cutoff,
                on_accepted=partial(_crash_task_runs, flow_run_id=row.id, counts=crashed_tasks),
            )
            if outcome.decision.accepted:
                crashed.append(row.id)
                count = crashed_tasks[row.id]
                logger.warning(
                    "Flow run %s marked Crashed (%d task runs with it): %s", row.id, count, message
                )
        return crashed

    # -- the loop ------------------------------------------------------------------------------
    def start(self) -> None:
        self.listening_since = time.time()
        self._thread = threading.Thread(target=self._loop, name="mainspring-crash-detector")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            try:
                self.scan()
            except Exception:
                if not self._failing:  # once per streak of failures, not every few seconds
                    logger.exception("The crash detector could not scan; retrying")
                self._failing = True
            else:
                self._failing = False
            if self._stop.wait(self.interval):
                return


def _crash_task_runs(
    conn: sa.Connection, crashed: Any, *, flow_run_id: str, counts: dict[str, int]
) -> None:
    """Crash the flow run's unfinished task runs (its process is gone; they never finish), in
    the transaction that crashed the flow run: both are stored, or neither. Counts them."""
    counts[flow_run_id] = end_unfinished_task_runs(conn, flow_run_id, crashed)
