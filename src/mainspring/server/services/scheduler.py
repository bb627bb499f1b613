"""The scheduler service: the server's loop over `deploy.scheduler.Scheduler.tick`.

Every `server_scheduler_interval` seconds it ticks: deployments whose runs are not created far
enough ahead are planned, runs not started on time are marked Late (or Skipped by their
deployment's max_lateness and catch-up policy), and claims no worker took up are returned to
their queue. The tick is the same one `serve()` runs when there is no server; two servers on
one PostgreSQL both ticking create each run once (the store's unique index). A tick's work is
bounded (deploy/scheduler.py); one that left work is followed by the next at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mainspring.deploy.scheduler import Scheduler, TickFigures
from mainspring.settings import Settings
from mainspring.store.base import Store

logger = logging.getLogger("mainspring.server.scheduler")


class SchedulerService:
    """Ticks every `interval` seconds in a daemon thread (`start`/`stop`)."""

    def __init__(self, store: Store, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self.scheduler = Scheduler(store)
        self.interval = interval
        #: called (from this thread) after a tick that created runs: the app wakes the
        #: claims waiting at the server for runs (server/run_signal.py)
        self.on_created: Callable[[], None] | None = None
        self.last: TickFigures | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> SchedulerService:
        return cls(store, settings.server_scheduler_interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="mainspring-scheduler")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            more = False
            try:
                self.last = self.scheduler.tick()
            except Exception:
                if not self._failing:  # once per streak of failures
                    logger.exception("The scheduler could not tick; retrying")
                self._failing = True
            else:
                if self._failing or self.last.created or self.last.late or self.last.expired:
                    logger.info("Scheduler: %s", self.last)
                if self.last.created and self.on_created is not None:
                    self.on_created()
                self._failing = False
                more = self.last.more
            # a tick that left work (a backlog: a first planning of many deployments, a
            # catch-up after downtime) is followed by the next at once, each one bounded
            if self._stop.wait(0.0 if more else self.interval):
                return
