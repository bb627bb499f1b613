"""The shared base of runners whose workers are other processes on a cluster (Dask, Ray).

Each task run's lifecycle (states, retries, caching, results, hooks) stays in the flow's
process, driven by a pool thread exactly as on the thread runner; only the call of the task's
function travels, as one cloudpickled payload, to a worker of the cluster, and comes back as
one pickled outcome carrying the value (or exception) and the run's log lines
(process_worker.py). So nothing about a run differs from the thread runner but where its
function executes, and a worker needs neither a store nor a round trip to one per task.

`max_workers` bounds the task runs in flight at once (each holds a thread of the flow's
process while its function runs remotely). By default it is twice the cluster's worker
threads when the flow run first submits, and at least the runner's `min_in_flight`: enough
that the cluster never starves for work (Dask's scheduler adds milliseconds of latency to each
task: 32 in flight made mapped tasks twice as slow as 128), few enough that the waiting threads
do not fight over the GIL (on Ray, 128 were a third slower than 32).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from mainspring.engine.runners.thread import ThreadPoolTaskRunner
from mainspring.exceptions import MainspringError

#: How long a thread waiting for a remote call sleeps between checks for an interrupt (a
#: cancel of its flow run): a blocking wait would not see one until the call ends.
WAIT_SLICE = 0.5


class ClusterUnreachable(MainspringError):
    """The runner could not connect to (or start) its cluster; the task run fails with this."""


class RemoteTaskRunner(ThreadPoolTaskRunner):
    """Base class: subclasses say how to start a payload on the cluster and wait for it."""

    #: The fewest task runs in flight per flow run when `max_workers` is not given.
    min_in_flight = 32

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__(max_workers)
        self._given_max_workers = max_workers
        self._keys = itertools.count()
        self._ready = False  # connected
        self._unreachable: Exception | None = None

    # -- what a subclass provides -------------------------------------------------------------
    def connect(self) -> None:
        """Connect to the cluster, or start it when this runner makes one (called once)."""
        raise NotImplementedError

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
    def ensure_connected(self) -> None:
        """Connect once. When that fails, every task run of the flow run fails at once with
        the reason, rather than each waiting out a connection timeout of its own."""
        if self._ready:
            return
        with self._lock:
            if not self._ready and self._unreachable is None:
                try:
                    self.connect()
                    self._ready = True
                except Exception as exc:
                    self._unreachable = exc
        reason = self._unreachable
        if reason is not None:
            raise ClusterUnreachable(
                f"{self!r} could not reach its cluster: {type(reason).__name__}: {reason}"
            ) from reason

    def _pool(self) -> Any:
        if self._executor is None and self.max_workers is None:  # the first submit
            try:
                slots = self.slots()
            except Exception:  # raised again by each task run (ensure_connected)
                slots = 0
            self.max_workers = max(self.min_in_flight, 2 * slots)
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
            self._ready = False
