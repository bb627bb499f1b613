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
from collections.abc import Callable
from typing import Any

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

    def submit(self, call: Callable[[], State]) -> cf.Future:
        raise NotImplementedError

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Stop accepting work; with `wait`, return once every started run has finished;
        with `cancel_futures`, runs still queued never start (their futures are cancelled)."""

    def __enter__(self) -> TaskRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(wait=True)


class ThreadPoolTaskRunner(TaskRunner):
    """Runs task runs in a pool of threads: right for I/O-bound work and most pipelines."""

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers
        self._executor: cf.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def duplicate(self) -> ThreadPoolTaskRunner:
        return type(self)(max_workers=self.max_workers)

    def _pool(self) -> cf.ThreadPoolExecutor:
        if self._executor is None:  # created on first submit: flows that never submit pay nothing
            with self._lock:
                if self._executor is None:
                    self._executor = cf.ThreadPoolExecutor(
                        self.max_workers or default_max_workers(),
                        thread_name_prefix="mainspring-task",
                    )
        return self._executor

    def submit(self, call: Callable[[], State]) -> cf.Future:
        context = contextvars.copy_context()
        return self._pool().submit(context.run, call)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=cancel_futures)

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

        from mainspring.engine import process_worker

        payload = cloudpickle.dumps((fn, args, kwargs, info))
        outcome = self._process_pool().submit(process_worker.call, payload).result()
        return process_worker.unpack(outcome)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        super().shutdown(wait, cancel_futures)
        if self._processes is not None:
            self._processes.shutdown(wait=wait, cancel_futures=cancel_futures)

    def __repr__(self) -> str:
        return f"ProcessPoolTaskRunner(max_workers={self.max_workers})"
