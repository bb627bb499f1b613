"""Between a flow's pool threads and a Dask client: submissions and results in batches.

Each task run's thread could call `client.submit(...).result()` itself, but every such call is
a hop into the client's event loop and a message to the scheduler of its own: mapping 1,000
tasks spent twice Dask's own time there. Here a thread queues its payload and waits on a
light future; one submitter thread sends whatever is queued as one `client.map` (one graph
update for the batch, as raw `client.map` does), and one collector thread fetches finished
results with one `client.gather` per batch and hands each to its waiting thread. Only public
`distributed` API is used.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError
from typing import Any

from mainspring.engine.runners.remote import WAIT_SLICE
from mainspring.engine.runners.run_future import RunFuture

#: How long the submitter waits for more of a burst of submissions before sending a batch; a
#: lone submission (a chain of dependent tasks) is sent at once.
BURST_LINGER = 0.002


class DaskBridge:
    def __init__(self, client: Any, function: Callable[[bytes], bytes]) -> None:
        self._client = client
        self._function = function
        self._queued: deque[tuple[bytes, str, RunFuture]] = deque()
        self._submit_wake = threading.Event()
        #: the Dask future and waiting RunFuture of each submitted key, until delivered
        self._running: dict[str, tuple[Any, RunFuture]] = {}
        self._done: deque[Any] = deque()
        self._collect_wake = threading.Event()
        self._closed = False
        self._threads = [
            threading.Thread(target=loop, name=f"mainspring-dask-{name}", daemon=True)
            for name, loop in (("submit", self._submit_loop), ("collect", self._collect_loop))
        ]
        for thread in self._threads:
            thread.start()

    # -- the pool threads' side ---------------------------------------------------------------
    def start(self, payload: bytes, key: str) -> tuple[str, RunFuture]:
        waiter = RunFuture()
        self._queued.append((payload, key, waiter))
        self._submit_wake.set()
        return key, waiter

    @staticmethod
    def wait(handle: tuple[str, RunFuture]) -> bytes:
        waiter = handle[1]
        while not waiter.wait(WAIT_SLICE):  # in slices: an interrupt lands between them
            pass
        return waiter.result()  # type: ignore[no-any-return]

    def abandon(self, handle: tuple[str, RunFuture]) -> None:
        key, waiter = handle
        if waiter.cancel():  # still queued here: never submitted
            return
        entry = self._running.pop(key, None)
        if entry is not None:
            with contextlib.suppress(Exception):
                entry[0].cancel()

    def close(self) -> None:
        self._closed = True
        self._submit_wake.set()
        self._collect_wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for _, waiter in list(self._running.values()):  # only after an abandoned shutdown
            if not waiter.done():
                waiter.set_exception(CancelledError("the Dask task runner was shut down"))

    # -- the bridge's threads -----------------------------------------------------------------
    def _submit_loop(self) -> None:
        queued = self._queued
        last = 0
        while True:
            self._submit_wake.wait()
            self._submit_wake.clear()
            if self._closed:
                return
            if last > 1:  # in a burst (a map): let more of it arrive than one wake-up brings
                time.sleep(BURST_LINGER)
            batch = []
            while queued:
                item = queued.popleft()
                if item[2].set_running_or_notify_cancel():
                    batch.append(item)
            if batch:
                self._submit(batch)
            last = len(batch)

    def _submit(self, batch: list[tuple[bytes, str, RunFuture]]) -> None:
        try:
            futures = self._client.map(
                self._function,
                [payload for payload, _, _ in batch],
                key=[key for _, key, _ in batch],
                pure=False,
            )
        except BaseException as exc:  # e.g. the client lost its scheduler
            for _, _, waiter in batch:
                waiter.set_exception(exc)
            return
        for future, (_, key, waiter) in zip(futures, batch, strict=True):
            self._running[key] = (future, waiter)
            future.add_done_callback(self._finished)

    def _finished(self, future: Any) -> None:
        """Dask's callback thread: note the future; the collector gathers in batches."""
        self._done.append(future)
        self._collect_wake.set()

    def _collect_loop(self) -> None:
        done = self._done
        while True:
            self._collect_wake.wait()
            self._collect_wake.clear()
            batch = []
            while done:
                batch.append(done.popleft())
            if batch:
                self._deliver(batch)
            if self._closed and not done:
                return

    def _deliver(self, batch: list[Any]) -> None:
        finished = []
        for future in batch:
            entry = self._running.pop(future.key, None)
            if entry is None:
                continue  # abandoned by its thread
            if future.status == "finished":
                finished.append((future, entry[1]))
            else:
                self._fail(future, entry[1])
        if not finished:
            return
        try:
            outcomes = self._client.gather([future for future, _ in finished])
        except BaseException:  # one result could not be fetched: fetch each on its own
            for future, waiter in finished:
                try:
                    waiter.set_result(future.result())
                except BaseException as exc:
                    waiter.set_exception(exc)
            return
        for (_, waiter), outcome in zip(finished, outcomes, strict=True):
            waiter.set_result(outcome)

    @staticmethod
    def _fail(future: Any, waiter: RunFuture) -> None:
        """A future that erred in Dask itself (a worker died: KilledWorker) or was cancelled;
        the task's own exceptions come back as outcomes."""
        if future.status == "cancelled":
            waiter.set_exception(CancelledError(f"Dask cancelled {future.key}"))
            return
        try:
            error = future.exception()
        except BaseException as exc:
            error = exc
        waiter.set_exception(error or RuntimeError(f"Dask task {future.key} failed"))
