"""Run task runs on a Ray cluster: `RayTaskRunner` (install `mainspring[ray]`).

The Prefect counterpart is `prefect_ray`; code written for it needs only its import line
changed:

    from mainspring.integrations.ray import RayTaskRunner

    @flow(task_runner=RayTaskRunner(address="ray://head:10001"))
    def pipeline(): ...

Each task's function executes as a Ray task on a Ray worker; its run's states, logs, retries,
caching and results are kept by the flow's process as on the thread runner
(engine/runners/remote.py).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from mainspring.engine.runners.remote import WAIT_SLICE, RemoteTaskRunner

_init_lock = threading.Lock()
#: Runners using a Ray connection this process opened; the last one to close shuts it down.
_users = 0
_opened_by_us = False
_remote_call: Any = None


class RayTaskRunner(RemoteTaskRunner):
    """Submits task runs to Ray.

    - `address`: a running cluster (`"auto"`, `"ray://host:10001"`); None starts a local Ray
      instance, shut down when the last flow run using it ends. A process already connected
      (`ray.init()` called by the user) is used as it is, and left connected.
    - `init_kwargs` go to `ray.init` (`num_cpus`, `runtime_env`, ...).
    - `max_workers`: task runs in flight at once (remote.py).

    A task that returns a Dask collection returns it computed: on Ray (Dask-on-Ray) where
    numpy is installed, else with Dask's threads inside the Ray worker.
    """

    def __init__(
        self,
        address: str | None = None,
        init_kwargs: dict[str, Any] | None = None,
        max_workers: int | None = None,
    ) -> None:
        if init_kwargs is not None and not isinstance(init_kwargs, dict):
            raise TypeError(
                f"RayTaskRunner: init_kwargs must be a dict, got {type(init_kwargs).__name__}"
            )
        if init_kwargs and "address" in init_kwargs:
            raise ValueError("RayTaskRunner: give the address as address=, not in init_kwargs")
        super().__init__(max_workers)
        self.address = address
        self.init_kwargs = dict(init_kwargs or {})

    def duplicate(self) -> RayTaskRunner:
        return type(self)(
            address=self.address,
            init_kwargs=self.init_kwargs or None,
            max_workers=self._given_max_workers,
        )

    def connect(self) -> None:
        _connect(self.address, self.init_kwargs)

    def slots(self) -> int:
        import ray

        self.ensure_connected()
        return int(ray.cluster_resources().get("CPU", 0))

    def start(self, payload: bytes, key: str) -> Any:
        self.ensure_connected()
        return _remote_call.remote(payload)

    def wait(self, handle: Any) -> bytes:
        # Ray's callback on the object's completion, not a ray.get per thread (a third less
        # time per mapped task); waited for in slices, so that an interrupt (a cancel of the
        # flow run) lands between them
        future = handle.future()
        while True:
            try:
                return future.result(timeout=WAIT_SLICE)  # type: ignore[no-any-return]
            except TimeoutError:
                continue

    def abandon(self, handle: Any) -> None:
        import ray

        with contextlib.suppress(Exception):
            ray.cancel(handle)

    def close(self) -> None:
        if self._ready:
            _disconnect()

    def __repr__(self) -> str:
        return f"RayTaskRunner(address={self.address!r})"


def _connect(address: str | None, init_kwargs: dict[str, Any]) -> None:
    global _users, _opened_by_us, _remote_call
    try:
        import ray
    except ImportError as exc:
        raise ImportError("RayTaskRunner needs Ray: pip install 'mainspring[ray]'") from exc
    with _init_lock:
        if not ray.is_initialized():
            ray.init(address=address, **init_kwargs)
            _opened_by_us = True
        if _remote_call is None:
            _remote_call = ray.remote(call_on_worker)
        _users += 1


def _disconnect() -> None:
    global _users, _opened_by_us
    with _init_lock:
        _users -= 1
        if _users == 0 and _opened_by_us:
            import ray

            _opened_by_us = False
            ray.shutdown()


def call_on_worker(payload: bytes) -> bytes:
    """What a Ray worker runs: the task's function, and a returned Dask collection computed
    with Ray as Dask's scheduler."""
    from mainspring.engine.runners import process_worker

    return process_worker.call(payload, finish=_compute_on_ray)


def _compute_on_ray(value: Any) -> Any:
    from mainspring.integrations.dask_collections import compute_collections, holds_collection

    if not holds_collection(value):
        return value
    try:
        from ray.util.dask import ray_dask_get
    except ImportError:  # Dask-on-Ray needs numpy: compute with Dask's threads in this worker
        return compute_collections(value, scheduler="threads")
    return compute_collections(value, scheduler=ray_dask_get)


__all__ = ["RayTaskRunner"]
