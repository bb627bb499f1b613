"""The retention service: stored events older than `event_retention_seconds` are deleted.

Every `server_retention_interval` seconds it prunes the `event` table and the automations'
finished firings of that age (`EventStore.prune_events`). Run-state events are the run
history itself (state rows) and are not pruned here.
"""

from __future__ import annotations

import logging
import time

from mainspring.server.services.loop import ServiceLoop
from mainspring.settings import Settings
from mainspring.store.events import EventStore

logger = logging.getLogger("mainspring.server.retention")


class RetentionService(ServiceLoop):
    """Prunes every `interval` seconds in a daemon thread (`start`/`stop`)."""

    thread_name = "mainspring-retention"
    failure_message = "The retention service could not prune"
    logger = logger
    log_each_failure = True  # a round an hour or so: each failure is news

    def __init__(self, store: EventStore, retention: float, interval: float) -> None:
        if retention <= 0 or interval <= 0:
            raise ValueError(f"retention and interval must be positive: {retention}, {interval}")
        super().__init__(interval)
        self.store = store
        self.retention = retention

    @classmethod
    def from_settings(cls, store: EventStore, settings: Settings) -> RetentionService:
        return cls(store, settings.event_retention_seconds, settings.server_retention_interval)

    def prune(self, now: float | None = None) -> int:
        """Delete what is older than the retention period; return how many events."""
        now = time.time() if now is None else now
        pruned = self.store.prune_events(now - self.retention)
        if pruned:
            logger.info("Retention: deleted %d events older than %g s", pruned, self.retention)
        return pruned

    def run_once(self) -> None:
        self.prune()
