"""What every task runner provides (the thread and process pools here, Dask and Ray later)."""

from __future__ import annotations

import os
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
