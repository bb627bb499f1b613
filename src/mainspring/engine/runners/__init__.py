"""Task runners: where submitted task runs execute.

The engine hands a runner a zero-argument callable that drives one task run from Pending to a
final state and returns it; the runner returns a `concurrent.futures.Future` of that state.
A runner may also supply `invoke`, which replaces the direct call of the task's function: the
process pool uses it so that only the user's function crosses the process boundary, while the
run's lifecycle (states, retries, hooks, logs) stays in the flow's process.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from mainspring.engine.runners.run_future import RunFuture
from mainspring.model import State

Invoke = Callable[[Callable[..., Any], tuple, dict, dict], Any]


def default_max_workers() -> int:
    from mainspring.settings import get_settings

    configured = get_settings().task_runner_max_workers
    if configured:
        return configured
    return max(8, min(64, 4 * (os.cpu_count() or 1)))


class TaskRunner:
    """Base class: runs submitted task runs concurrently; one instance per flow run."""

    invoke: Invoke | None = None

    def duplicate(self) -> TaskRunner:
        """A fresh runner with the same settings, so concurrent flow runs never share one."""
        raise NotImplementedError

    def submit(self, call: Callable[[], State]) -> RunFuture:
        """Run `call` (one task run, start to final state) and return a future of its state."""
        raise NotImplementedError

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Stop accepting work; with `wait`, return once every started run has finished;
        with `cancel_futures`, runs still queued never start (their futures are cancelled)."""

    def __enter__(self) -> TaskRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(wait=True)


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


class ProcessPoolTaskRunner(ThreadPoolTaskRunner):
    """Runs each task's function in a pool of processes: right for CPU-bound Python code.

    The function, its arguments and its return value are sent with cloudpickle, so lambdas and
    closures work. Processes are started with `spawn` (the flow's process has threads, and
    forking a threaded process can deadlock). Logs and prints of the function are recorded by
    the worker process straight into the store.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__(max_workers)
        self._processes: cf.ProcessPoolExecutor | None = None

    def duplicate(self) -> ProcessPoolTaskRunner:
        return type(self)(max_workers=self.max_workers)

    def _process_pool(self) -> cf.ProcessPoolExecutor:
        if self._processes is None:
            with self._lock:
                if self._processes is None:
                    import multiprocessing

                    self._processes = cf.ProcessPoolExecutor(
                        self.max_workers or os.cpu_count() or 1,
                        mp_context=multiprocessing.get_context("spawn"),
                    )
        return self._processes

    def invoke(self, fn: Callable[..., Any], args: tuple, kwargs: dict, info: dict) -> Any:
        import cloudpickle

        from mainspring.engine.runners import process_worker

        payload = cloudpickle.dumps((fn, args, kwargs, info))
        outcome = self._process_pool().submit(process_worker.call, payload).result()
        return process_worker.unpack(outcome)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        super().shutdown(wait, cancel_futures)
        if self._processes is not None:
            self._processes.shutdown(wait=wait, cancel_futures=cancel_futures)

    def __repr__(self) -> str:
        return f"ProcessPoolTaskRunner(max_workers={self.max_workers})"
