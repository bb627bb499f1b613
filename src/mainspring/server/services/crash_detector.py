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
- the move goes through the orchestration rules with a compare-and-set
  (`Store.crash_silent_flow_run`) that also requires the run to be still silent: a run that
  finished meanwhile (a terminal state is never crashed), one whose heartbeat landed between
  the scan and the write, and a second detector racing this one all leave the run alone, so
  its timeline has one Crashed row;
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
import time

from mainspring.model.states import Crashed
from mainspring.server.services.loop import ServiceLoop
from mainspring.settings import Settings
from mainspring.store.base import Store

logger = logging.getLogger("mainspring.server.crash_detector")


class CrashDetector(ServiceLoop):
    """Scans for silent runs every `interval` seconds in a daemon thread (`start`/`stop`)."""

    thread_name = "mainspring-crash-detector"
    failure_message = "The crash detector could not scan"
    logger = logger

    def __init__(self, store: Store, timeout: float, interval: float) -> None:
        if timeout <= 0 or interval <= 0:
            raise ValueError(f"timeout and interval must be positive, got {timeout}, {interval}")
        super().__init__(interval)
        self.store = store
        self.timeout = timeout
        self.listening_since: float | None = None  # set by start(): see the module's docstring

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> CrashDetector:
        return cls(store, settings.server_crash_timeout, settings.server_crash_check_interval)

    # -- one scan ------------------------------------------------------------------------------
    def scan(self, now: float | None = None) -> list[str]:
        """Crash every watched run silent for longer than the timeout; return their ids."""
        now = time.time() if now is None else now
        cutoff = now - self.timeout
        if self.listening_since is not None and cutoff < self.listening_since:
            return []  # not listened for a whole timeout yet: no silence can be held against a run
        crashed = []
        for run in self.store.find_silent_flow_runs(cutoff):
            silence = now - run.last_sign_of_life
            since = "No heartbeat" if run.heartbeat is not None else "No heartbeat at all"
            message = (
                f"{since} for {silence:.0f} s (crash timeout {self.timeout:g} s) while "
                f"{run.state_name}: the process running this flow run is presumed dead"
            )
            count = self.store.crash_silent_flow_run(
                run.id, Crashed(message=message), silent_since=cutoff
            )
            if count is not None:
                crashed.append(run.id)
                logger.warning(
                    "Flow run %s marked Crashed (%d task runs with it): %s", run.id, count, message
                )
        return crashed

    # -- the loop ------------------------------------------------------------------------------
    def start(self) -> None:
        self.listening_since = time.time()
        super().start()

    def run_once(self) -> None:
        self.scan()
