"""RunSignal: wakes the claims waiting at this server (a long poll) when a run may be due.

A worker's claim that finds nothing waits up to its `wait` seconds. Runs made through this
server (a run asked for, a scheduler tick of the server's own) call `notify`, so the waiting
claim retries at once and the worker hears of the run within milliseconds; runs made by other
processes (another server on the same PostgreSQL, a `serve()`) are found by the claim's
re-check every `RECHECK` seconds. One asyncio.Event per generation: a waiter takes the current
one before it tries to claim, so a run made during that attempt still wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib

#: Seconds between the re-checks of a waiting claim (for runs other processes make).
RECHECK = 0.25


class RunSignal:
    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def generation(self) -> asyncio.Event:
        """The event the next `notify` sets; take it before looking for runs."""
        loop = asyncio.get_running_loop()
        if self._event is None or self._loop is not loop:
            self._event, self._loop = asyncio.Event(), loop
        return self._event

    async def wait(self, event: asyncio.Event, timeout: float) -> None:
        """Until `event` is set or `timeout` seconds pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    def notify(self) -> None:
        """Wake every waiting claim (call on the event loop)."""
        event, self._event = self._event, None
        if event is not None:
            event.set()

    def notify_threadsafe(self) -> None:
        """`notify` from a thread (a sync route, a service's thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.notify)
