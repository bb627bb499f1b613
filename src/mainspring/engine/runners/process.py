"""The task runner for CPU-bound Python: each task's function runs in a pool of processes."""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable
from typing import Any

from mainspring.engine.runners import process_worker
from mainspring.engine.runners.thread import ThreadPoolTaskRunner


class ProcessPoolTaskRunner(ThreadPoolTaskRunner):
    """Runs each task's function in a pool of processes: right for CPU-bound Python code.

    The function, its arguments and its return value are sent with cloudpickle, so lambdas and
    closures work. Processes are started with `spawn` (the flow's process has threads, and
    forking a threaded process can deadlock). Logs and prints of the function travel back with
    its outcome and are recorded by the flow's process (process_worker.py).
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
                    import multiprocessing  # lazy: loaded when the first process pool starts

                    self._processes = cf.ProcessPoolExecutor(
                        self.max_workers or os.cpu_count() or 1,
                        mp_context=multiprocessing.get_context("spawn"),
                    )
        return self._processes

    def invoke(self, fn: Callable[..., Any], args: tuple, kwargs: dict, info: dict) -> Any:
        import cloudpickle  # lazy: only process pools pickle, and it is slow to import

        payload = cloudpickle.dumps((fn, args, kwargs, info))
        outcome = self._process_pool().submit(process_worker.call, payload).result()
        return process_worker.unpack(outcome, info["label"])

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        super().shutdown(wait, cancel_futures)
        if self._processes is not None:
            self._processes.shutdown(wait=wait, cancel_futures=cancel_futures)

    def __repr__(self) -> str:
        return f"ProcessPoolTaskRunner(max_workers={self.max_workers})"
