"""The shared base of runners whose workers are other processes on a cluster (Dask, Ray).

Each task run's lifecycle (states, retries, caching, results, hooks) stays in the flow's
process, driven by a pool thread exactly as on the thread runner; only the call of the task's
function travels, as one cloudpickled payload, to a worker of the cluster, and comes back as
one pickled outcome carrying the value (or exception) and the run's log lines
(process_worker.py). So nothing about a run differs from the thread runner but where its
function executes, and a worker needs neither a store nor a round trip to one per task.

`max_workers` bounds the task runs in flight at once (each holds a thread of the flow's
process while its function runs remotely). By default it is twice the cluster's worker
threads when the flow run first submits, and at least `MIN_IN_FLIGHT`: enough that the
cluster never starves for work, few enough that the waiting threads do not fight over the GIL
(128 made mapped tasks on Ray a third slower than 32).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from mainspring.engine.runners.thread import ThreadPoolTaskRunner

#: The fewest task runs in flight per flow run when `max_workers` is not given.
MIN_IN_FLIGHT = 32
#: How long a thread waiting for a remote call sleeps between checks for an interrupt (a
#: cancel of its flow run): a blocking wait would not see one until the call ends.
WAIT_SLICE = 0.5


class RemoteTaskRunner(ThreadPoolTaskRunner):
    """Base class: subclasses say how to start a payload on the cluster and wait for it."""

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__(max_workers)
        self._given_max_workers = max_workers
        self._keys = itertools.count()

    # -- what a subclass provides -------------------------------------------------------------
    def slots(self) -> int:
        """How many functions the cluster runs at once (connecting to it if need be)."""
        raise NotImplementedError

    def start(self, payload: bytes, key: str) -> Any:
        """Start `process_worker.call(payload)` (or a variant) on the cluster; a handle."""
        raise NotImplementedError

    def wait(self, handle: Any) -> bytes:
        """Block until the remote call ends; its pickled outcome."""
        raise NotImplementedError

    def abandon(self, handle: Any) -> None:
        """The run was interrupted here (its flow run cancelled): stop the remote call."""

    def close(self) -> None:
        """Release the cluster connection (and the cluster, when this runner started it)."""

    # -- the engine's side --------------------------------------------------------------------
    def _pool(self) -> Any:
        if self._executor is None and self.max_workers is None:  # the first submit
            self.max_workers = max(MIN_IN_FLIGHT, 2 * self.slots())
        return super()._pool()

    def invoke(self, fn: Callable[..., Any], args: tuple, kwargs: dict, info: dict) -> Any:
        import cloudpickle  # lazy: only remote runners pickle, and it is slow to import

        from mainspring.engine.runners import process_worker

        payload = cloudpickle.dumps((fn, args, kwargs, info))
        key = f"{info['task_name']}-{info['task_run_id']}-{next(self._keys)}"
        handle = self.start(payload, key)
        try:
            outcome = self.wait(handle)
        except BaseException:
            self.abandon(handle)
            raise
        return process_worker.unpack(outcome, info["label"])

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        try:
            super().shutdown(wait, cancel_futures)
        finally:
            self.close()
