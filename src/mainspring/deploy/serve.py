"""`serve()`: register deployments and run them from this process, in the foreground.

Without a server (MAINSPRING_API_URL unset) this process is also the scheduler: it ticks the
same `Scheduler` the server's service runs. Through a server (MAINSPRING_API_URL set) the
server's scheduler plans the runs and this process claims them with a long poll there. Its
deployments go to a work pool of their own, named after them (`serve-<hash of their names>`:
the same set served again finds its pool and its runs), whose due runs it claims and runs in
subprocesses (`RunLoop`, `Runner`). It wakes at each scheduled time of its deployments, so
runs start on time rather than at a poll.

Ctrl-C or SIGTERM stops it: the runs it is running are cancelled (they end Cancelled; a
subprocess that does not stop is killed after the grace period), and it says so. Its
deployments keep their schedules, but no scheduler plans runs for a serve() pool whose process
has stopped heartbeating (deploy/scheduler.py): a server started later does not make runs that
no one would run, and a serve() started again catches up the runs it missed by the catch-up
policy (`latest` by default: the newest missed one runs).
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from mainspring.deploy.loop import RunLoop, claim_wait, stop_on_signals
from mainspring.deploy.scheduler import SERVE_POOL_PREFIX, Scheduler
from mainspring.deploy.spec import RunnerDeployment
from mainspring.deploy.workers.process import DEFAULT_CANCEL_GRACE, Runner
from mainspring.model.deployments import WorkPool
from mainspring.model.schedules import Schedule
from mainspring.settings import get_settings
from mainspring.store import Store, open_store
from mainspring.store.deployments import DeploymentStore

__all__ = ["pool_name_for", "serve"]

#: How long after its time a run no one started counts as missed (Late, or skipped by the
#: catch-up policy). Short: serve() claims its runs within milliseconds when it is up.
SERVE_LATE_AFTER = 5.0


def pool_name_for(deployments: tuple[RunnerDeployment, ...]) -> str:
    """The work pool of a set of served deployments: stable across restarts of the same set."""
    names = sorted(d.deployment.full_name for d in deployments)
    return SERVE_POOL_PREFIX + hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _next_due(schedules: list[Schedule]) -> Callable[[float], float | None]:
    def next_due(now: float) -> float | None:
        times = [t for s in schedules for t in s.next_times(now, count=1)]
        return min(times) if times else None

    return next_due


def serve(
    *deployments: RunnerDeployment,
    limit: int | None = None,
    cancel_grace: float = DEFAULT_CANCEL_GRACE,
    store: Store | None = None,
) -> None:
    """Register `deployments` and run their runs here until Ctrl-C or SIGTERM (module
    docstring). `limit`: at most this many runs at once."""
    if not deployments:
        raise ValueError("serve() needs at least one deployment (flow.to_deployment(...))")
    for given in deployments:
        if not isinstance(given, RunnerDeployment):
            raise TypeError(
                f"serve() takes deployments made by flow.to_deployment(), got {given!r}"
            )
    owned = store is None
    backend = open_store() if store is None else store
    try:
        if not isinstance(backend, DeploymentStore):
            raise TypeError(
                f"serve() needs a store that keeps deployments, got {type(backend).__name__}"
            )
        _serve(backend, deployments, limit, cancel_grace)
    finally:
        if owned:
            backend.close()


def _serve(
    store: Any, deployments: tuple[RunnerDeployment, ...], limit: int | None, grace: float
) -> None:
    pool = pool_name_for(deployments)
    with contextlib.suppress(ValueError):  # it exists: served before
        store.create_work_pool(WorkPool(pool, description="Runs of a serve() process"))
    registered = [
        store.upsert_deployment(replace(d.deployment, work_pool_name=pool)) for d in deployments
    ]
    schedules = [s for d in registered if not d.paused for s in d.schedule_objects()]
    remote = bool(get_settings().api_url)
    # through a server, its scheduler plans the runs and the claim is a long poll there
    scheduler = None if remote else Scheduler(store, late_after=SERVE_LATE_AFTER)
    runner = Runner(store, limit=limit, cancel_grace=grace)
    loop = RunLoop(
        store,
        pool,
        runner,
        scheduler=scheduler,
        next_due=_next_due(schedules),
        claim_wait=claim_wait(remote),
        prefetch=get_settings().worker_prefetch_seconds,
    )
    # alive before the first tick: a scheduler plans a serve() pool's runs only while its
    # process heartbeats (deploy/scheduler.py), this one's own scheduler included
    store.worker_heartbeat(pool, loop.worker_name)
    for d in registered:
        state = " (paused)" if d.paused else ""
        _say(f"Serving deployment '{d.full_name}'{state}")
    _say("Press Ctrl-C to stop.")
    if scheduler is not None:  # runs due while no one served them were missed: catch-up policy
        scheduler.catch_up(late_after=0.0)
    with stop_on_signals(loop):
        loop.run()
    running = len(runner.children)
    if running:
        _say(
            f"Stopping: cancelling {running} running flow run(s); a process still running "
            f"after {grace:g} s is stopped with SIGTERM, then SIGKILL."
        )
    else:
        _say("Stopped.")
    runner.stop(cancel=True)
    if running:
        _say("Stopped.")
