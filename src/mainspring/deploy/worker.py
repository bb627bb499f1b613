"""A worker of a work pool: the claim-and-run loop of `serve()`, for any deployment of the pool.

`mainspring worker start --pool NAME` runs `run_worker`. Against the embedded store (no
MAINSPRING_API_URL) no server schedules runs, so the worker ticks the scheduler too; several
workers ticking at once create each run once (the store's unique index). Either way its claim
waits for a run rather than polling: at the server (a long poll), or on SQLite by watching
the file's change counter, so a run made by another process is claimed within milliseconds.
Only `Store` and `DeploymentStore` calls: the same code runs against a server or not.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence

from mainspring.deploy.loop import RunLoop, claim_wait, stop_on_signals
from mainspring.deploy.scheduler import Scheduler
from mainspring.deploy.workers.base import FlowRunRunner
from mainspring.deploy.workers.docker import DockerRunner
from mainspring.deploy.workers.kubernetes import KubernetesRunner
from mainspring.deploy.workers.process import DEFAULT_CANCEL_GRACE, Runner
from mainspring.settings import get_settings
from mainspring.store.base import Store
from mainspring.store.deployments import DeploymentStore

__all__ = ["run_worker"]


def run_worker(
    store: Store,
    pool_name: str,
    *,
    limit: int | None = None,
    queues: Sequence[str] | None = None,
    name: str | None = None,
    cancel_grace: float = DEFAULT_CANCEL_GRACE,
) -> int:
    """Claim and run the pool's due runs until Ctrl-C or SIGTERM; return how many started.
    `ObjectNotFound` for an unknown pool, before anything runs."""
    if not isinstance(store, DeploymentStore):
        raise TypeError(
            f"a worker needs a store that keeps deployments, got {type(store).__name__}"
        )
    pool = store.read_work_pool(pool_name)  # an unknown pool fails here, with its name
    remote = bool(get_settings().api_url)
    scheduler = None if remote else Scheduler(store)  # a server schedules for its clients
    runner: FlowRunRunner
    if pool.type == "docker":
        runner = DockerRunner(store, pool, limit=limit, cancel_grace=cancel_grace)
    elif pool.type == "kubernetes":
        runner = KubernetesRunner(store, pool, limit=limit, cancel_grace=cancel_grace)
        runner.connect()
    else:
        runner = Runner(store, limit=limit, cancel_grace=cancel_grace)
    loop = RunLoop(
        store,
        pool_name,
        runner,
        worker_name=name or f"{socket.gethostname()}-{os.getpid()}",
        queues=queues,
        scheduler=scheduler,
        claim_wait=claim_wait(remote),
        prefetch=get_settings().worker_prefetch_seconds,
    )
    print(f"Worker {loop.worker_name!r} started on work pool {pool_name!r}.", file=sys.stderr)
    with stop_on_signals(loop):
        loop.run()
    running = len(runner.children) + len(runner.starting)  # starting: a Docker pull, say
    if running:
        print(f"Stopping: cancelling {running} running flow run(s).", file=sys.stderr)
    runner.stop(cancel=True)
    print("Worker stopped.", file=sys.stderr)
    return loop.started
