"""The retention service: stored events older than `event_retention_seconds` are deleted.

Every `server_retention_interval` seconds it prunes the `event` table and the automations'
finished firings of that age (`EventStore.prune_events`). Run-state events are the run
history itself (state rows) and are not pruned here.
"""

from __future__ import annotations

import logging
import threading
import time

from mainspring.settings import Settings
from mainspring.store.events import EventStore

logger = logging.getLogger("mainspring.server.retention")


class RetentionService:
    """Prunes every `interval` seconds in a daemon thread (`start`/`stop`)."""

    def __init__(self, store: EventStore, retention: float, interval: float) -> None:
        if retention <= 0 or interval <= 0:
            raise ValueError(f"retention and interval must be positive: {retention}, {interval}")
        self.store = store
        self.retention = retention
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="mainspring-retention")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            try:
                self.prune()
            except Exception:
                logger.exception("The retention service could not prune; retrying")
            if self._stop.wait(self.interval):
                return
