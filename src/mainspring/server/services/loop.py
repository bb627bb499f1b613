"""ServiceLoop: what the server's background services share, a daemon thread that does one
round of the service's work every `interval` seconds until `stop`; a round that says it left
work (a backlog the service works through in bounded pieces) is followed by the next at once.

A round that raises is logged and tried again at the next interval: a database that is away
for a while must not end the service. Services that run every few seconds log only the first
failure of a streak (`log_each_failure = False`), so an outage is one traceback, not hundreds.
"""

from __future__ import annotations

import logging
import threading


class ServiceLoop:
    """Calls `run_once` every `interval` seconds in a daemon thread (`start`/`stop`)."""

    #: the thread's name (seen in py-spy, faulthandler dumps)
    thread_name: str
    #: the failure's log line, followed by "; retrying"
    failure_message: str
    logger: logging.Logger
    #: log every failed round, or only the first of a streak of failures
    log_each_failure = False

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def run_once(self) -> bool | None:
        """One round of the service's work; true when it left work for another round now."""
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.thread_name)
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
                more = bool(self.run_once())
            except Exception:
                if self.log_each_failure or not self._failing:
                    self.logger.exception("%s; retrying", self.failure_message)
                self._failing = True
            else:
                self._failing = False
            if self._stop.wait(0.0 if more else self.interval):
                return
