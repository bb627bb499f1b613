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
from collections.abc import Callable

from mainspring.deploy.scheduler import Scheduler, TickFigures
from mainspring.server.services.loop import ServiceLoop
from mainspring.settings import Settings
from mainspring.store.base import Store

logger = logging.getLogger("mainspring.server.scheduler")


class SchedulerService(ServiceLoop):
    """Ticks every `interval` seconds in a daemon thread (`start`/`stop`)."""

    thread_name = "mainspring-scheduler"
    failure_message = "The scheduler could not tick"
    logger = logger

    def __init__(self, store: Store, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        super().__init__(interval)
        self.scheduler = Scheduler(store)
        #: called (from this thread) after a tick that created runs: the app wakes the
        #: claims waiting at the server for runs (server/run_signal.py)
        self.on_created: Callable[[], None] | None = None
        self.last: TickFigures | None = None

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> SchedulerService:
        return cls(store, settings.server_scheduler_interval)

    def run_once(self) -> bool:
        """One tick; true when it left work (a backlog: a first planning of many deployments,
        a catch-up after downtime), so the next follows at once, each one bounded."""
        recovering = self._failing
        self.last = figures = self.scheduler.tick()
        if recovering or figures.created or figures.late or figures.expired:
            logger.info("Scheduler: %s", figures)
        if figures.created and self.on_created is not None:
            self.on_created()
        return figures.more
