"""Run task runs on a Dask cluster: `DaskTaskRunner` (install `mainspring[dask]`).

The Prefect counterpart is `prefect_dask`; code written for it needs only its import line
changed:

    from mainspring.integrations.dask import DaskTaskRunner

    @flow(task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 4}))
    def pipeline(): ...

Each task's function executes on a Dask worker; its run's states, logs, retries, caching and
results are kept by the flow's process as on the thread runner (engine/runners/remote.py).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

from mainspring.engine.runners.remote import RemoteTaskRunner
from mainspring.integrations.dask_bridge import DaskBridge


class DaskTaskRunner(RemoteTaskRunner):
    """Submits task runs to a Dask cluster: a temporary one per flow run, or an existing one.

    - `address`: a running scheduler (`"tcp://host:8786"`) to connect to; else a cluster of
      `cluster_class` (default `distributed.LocalCluster`, or a "module.Class" path such as
      "dask_kubernetes.KubeCluster") is started with `cluster_kwargs` when the flow run first
      submits a task, and closed when the flow run ends. `adapt_kwargs` makes it adaptive.
    - `client_kwargs` go to `distributed.Client`.
    - `max_workers`: task runs in flight at once (remote.py).

    A task that returns a Dask collection returns it computed (integrations/dask_collections.py);
    inside a task, `get_dask_client()` gives a client of the same cluster.
    """

    min_in_flight = 128  # see remote.py

    def __init__(
        self,
        cluster_class: str | type | None = None,
        cluster_kwargs: dict[str, Any] | None = None,
        address: str | None = None,
        adapt_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
        max_workers: int | None = None,
    ) -> None:
        if address is not None and (cluster_class is not None or cluster_kwargs):
            raise ValueError(
                "DaskTaskRunner: give either address= (an existing scheduler) or "
                "cluster_class=/cluster_kwargs= (a cluster to start), not both"
            )
        if address is not None and adapt_kwargs:
            raise ValueError("DaskTaskRunner: adapt_kwargs applies only to a cluster it starts")
        for name, value in (
            ("cluster_kwargs", cluster_kwargs),
            ("adapt_kwargs", adapt_kwargs),
            ("client_kwargs", client_kwargs),
        ):
            if value is not None and not isinstance(value, dict):
                raise TypeError(
                    f"DaskTaskRunner: {name} must be a dict, got {type(value).__name__}"
                )
        super().__init__(max_workers)
        self.cluster_class = _cluster_class(cluster_class)  # a bad path fails here, not mid-run
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.address = address
        self.adapt_kwargs = dict(adapt_kwargs or {})
        self.client_kwargs = dict(client_kwargs or {})
        self._client: Any = None
        self._cluster: Any = None
        self._bridge: DaskBridge | None = None

    def duplicate(self) -> DaskTaskRunner:
        return type(self)(
            cluster_class=self.cluster_class,
            cluster_kwargs=self.cluster_kwargs or None,
            address=self.address,
            adapt_kwargs=self.adapt_kwargs or None,
            client_kwargs=self.client_kwargs or None,
            max_workers=self._given_max_workers,
        )

    @property
    def client(self) -> Any:
        """The `distributed.Client` of this flow run's cluster (connected on first use)."""
        self.ensure_connected()
        return self._client

    def connect(self) -> None:
        self._client = self._connect()

    def _bridge_to_cluster(self) -> DaskBridge:
        if self._bridge is None:
            client = self.client
            with self._lock:
                if self._bridge is None:
                    self._bridge = DaskBridge(client, call_on_worker)
        return self._bridge

    def _connect(self) -> Any:
        try:
            import distributed
        except ImportError as exc:
            raise ImportError(
                "DaskTaskRunner needs Dask's distributed scheduler: pip install 'mainspring[dask]'"
            ) from exc
        if self.address is not None:
            return distributed.Client(self.address, **self.client_kwargs)
        cluster_class = self.cluster_class or distributed.LocalCluster
        self._cluster = cluster_class(**self.cluster_kwargs)
        try:
            if self.adapt_kwargs:
                self._cluster.adapt(**self.adapt_kwargs)
            return distributed.Client(self._cluster, **self.client_kwargs)
        except BaseException:
            self._cluster.close()
            self._cluster = None
            raise

    def slots(self) -> int:
        return sum(self.client.nthreads().values())

    def start(self, payload: bytes, key: str) -> Any:
        return (self._bridge or self._bridge_to_cluster()).start(payload, key)

    def wait(self, handle: Any) -> bytes:
        return DaskBridge.wait(handle)

    def abandon(self, handle: Any) -> None:
        if self._bridge is not None:
            self._bridge.abandon(handle)

    def close(self) -> None:
        bridge, client, cluster = self._bridge, self._client, self._cluster
        self._bridge = self._client = self._cluster = None
        if bridge is not None:
            bridge.close()
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()

    def __repr__(self) -> str:
        if self.address:
            return f"DaskTaskRunner(address={self.address!r})"
        return f"DaskTaskRunner(cluster_class={self.cluster_class!r})"


def _cluster_class(spec: str | type | None) -> type | None:
    """A cluster class given as a class or a "module.Class" path."""
    if spec is None or isinstance(spec, type):
        return spec
    module_name, _, class_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"cluster_class {spec!r} is not a 'module.Class' path")
    try:
        return getattr(importlib.import_module(module_name), class_name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cluster_class {spec!r} cannot be imported: {exc}") from exc


def call_on_worker(payload: bytes) -> bytes:
    """What a Dask worker runs: the task's function, and a returned collection computed on
    the same cluster (the worker's thread leaves the pool meanwhile, so it cannot deadlock)."""
    from mainspring.engine.runners import process_worker

    return process_worker.call(payload, finish=_compute_on_cluster)


def _compute_on_cluster(value: Any) -> Any:
    from mainspring.integrations.dask_collections import compute_collections, holds_collection

    if not holds_collection(value):
        return value
    from distributed import worker_client

    with worker_client() as client:
        return compute_collections(value, scheduler=client.get)


@contextlib.contextmanager
def get_dask_client(timeout: float | None = None, **client_kwargs: Any) -> Iterator[Any]:
    """A `distributed.Client` of the cluster running the current task or flow run, as in
    prefect_dask: inside a task on a Dask worker, the worker's client (its thread leaves the
    worker's pool while the block runs); in a flow run using a DaskTaskRunner, that runner's."""
    import distributed

    try:
        distributed.get_worker()
    except ValueError:  # not on a worker: the flow's process
        runner = _current_dask_runner()
        yield runner.client
        return
    kwargs = {"timeout": timeout} if timeout is not None else {}
    with distributed.worker_client(**kwargs, **client_kwargs) as client:
        yield client


def _current_dask_runner() -> DaskTaskRunner:
    from mainspring.engine.context import flow_run_context

    flow_ctx = flow_run_context.get()
    runner = flow_ctx.task_runner if flow_ctx is not None else None
    if not isinstance(runner, DaskTaskRunner):
        raise RuntimeError(
            "get_dask_client() needs a task running on a Dask worker, or a flow run whose "
            "task runner is a DaskTaskRunner"
        )
    return runner


__all__ = ["DaskTaskRunner", "get_dask_client"]
