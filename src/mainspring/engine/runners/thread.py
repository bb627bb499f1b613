"""The default task runner: a pool of threads drained from one queue."""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import threading
from collections import deque
from collections.abc import Callable

from mainspring.engine.runners.base import TaskRunner, default_max_workers
from mainspring.engine.runners.run_future import RunFuture
from mainspring.model import State


class ThreadPoolTaskRunner(TaskRunner):
    """Runs task runs in a pool of threads: right for I/O-bound work and most pipelines.

    Submitted runs wait in one queue that up to `max_workers` drainer threads empty. Handing
    each run to `ThreadPoolExecutor.submit` instead wakes a worker per run, and with the GIL
    every wake-up is a hand-off between threads: mapping 10,000 small tasks spent most of its
    time there. Here a burst of submissions costs an append each, and a pool thread is asked
    for only when fewer than `max_workers` drainers are running.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers
        self._executor: cf.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._queue: deque[tuple[RunFuture, contextvars.Context, Callable[[], State]]] = deque()
        self._drainers = 0
        self._limit = 0

    def duplicate(self) -> ThreadPoolTaskRunner:
        return type(self)(max_workers=self.max_workers)

    def _pool(self) -> cf.ThreadPoolExecutor:
        if self._executor is None:  # created on first submit: flows that never submit pay nothing
            with self._lock:
                if self._executor is None:
                    self._limit = self.max_workers or default_max_workers()
                    self._executor = cf.ThreadPoolExecutor(
                        self._limit, thread_name_prefix="mainspring-task"
                    )
        return self._executor

    def submit(self, call: Callable[[], State]) -> RunFuture:
        pool = self._pool()
        future = RunFuture()
        with self._lock:
            self._queue.append((future, contextvars.copy_context(), call))
            start = self._drainers < self._limit
            if start:
                self._drainers += 1
        if start:
            pool.submit(self._drain)
        return future

    def _drain(self) -> None:
        """Run queued task runs until the queue is empty, then let the thread go."""
        queue = self._queue
        while True:
            with self._lock:
                if not queue:
                    self._drainers -= 1
                    return
                future, context, call = queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued
            try:
                state = context.run(call)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(state)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        if cancel_futures:
            with self._lock:
                queued = list(self._queue)
                self._queue.clear()
            for future, _, _ in queued:
                future.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=wait)

    def __repr__(self) -> str:
        return f"ThreadPoolTaskRunner(max_workers={self.max_workers})"
