"""`/api/work_pools`: pools, their queues and workers, and claiming runs (a long poll).

A claim that finds no due run waits up to `wait` seconds at the server and answers as soon as
one is claimable: at once when a run is made through this server (server/run_signal.py), at
the instant the earliest scheduled run of the pool falls due (`next_run_due`: a schedule's
run starts on time, not at the next poll), and within `RECHECK` seconds when another process
made it. A waiting claim whose client has gone away
stops before claiming anything, so no run is claimed for a worker that will not hear of it
(the rare one claimed as the client leaves returns after the claim timeout).

Pool names may hold '/', hence the `:path` parameters; the routes with a suffix come first.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from starlette.concurrency import run_in_threadpool

from mainspring.server.api.deployments import EXISTS, deployment_store
from mainspring.server.api.deps import NOT_FOUND, FlowRunId, StoreDep, invalid
from mainspring.server.run_signal import RECHECK, RunSignal
from mainspring.server.schemas.common import NO_NUL
from mainspring.server.schemas.deployments import (
    ClaimIn,
    DeploymentRunOut,
    HeartbeatIn,
    StartClaimIn,
    StartClaimOut,
    WorkerOut,
    WorkPoolIn,
    WorkPoolOut,
    WorkQueueIn,
    WorkQueueOut,
)
from mainspring.store.http.wire import MAX_NAME

router = APIRouter(prefix="/work_pools", tags=["work pools"])

PoolName = Annotated[
    str,
    Path(min_length=1, max_length=MAX_NAME, pattern=NO_NUL, description="A work pool's name."),
]


def _conflict(exc: ValueError) -> HTTPException:
    return HTTPException(409, str(exc))


@router.post("", response_model=WorkPoolOut, status_code=201, responses=EXISTS)
def create_work_pool(store: StoreDep, body: WorkPoolIn) -> WorkPoolOut:
    """Create a pool, with its queue 'default'."""
    try:
        record = body.to_record()
    except (TypeError, ValueError) as exc:
        raise invalid(("body",), str(exc)) from None
    try:
        return WorkPoolOut.of(deployment_store(store).create_work_pool(record))
    except ValueError as exc:
        raise _conflict(exc) from None


@router.get("", response_model=list[WorkPoolOut])
def list_work_pools(store: StoreDep) -> list[WorkPoolOut]:
    return [WorkPoolOut.of(p) for p in deployment_store(store).read_work_pools()]


@router.post(
    "/{pool_name:path}/queues",
    response_model=WorkQueueOut,
    status_code=201,
    responses={**NOT_FOUND, **EXISTS},
)
def create_work_queue(store: StoreDep, pool_name: PoolName, body: WorkQueueIn) -> WorkQueueOut:
    """Create a queue in the pool."""
    try:
        record = body.to_record(pool_name)
    except (TypeError, ValueError) as exc:
        raise invalid(("path", "pool_name"), str(exc)) from None
    try:
        return WorkQueueOut.of(deployment_store(store).create_work_queue(record))
    except ValueError as exc:
        raise _conflict(exc) from None


@router.get("/{pool_name:path}/queues", response_model=list[WorkQueueOut], responses=NOT_FOUND)
def list_work_queues(store: StoreDep, pool_name: PoolName) -> list[WorkQueueOut]:
    """The pool's queues, by priority then name."""
    deployments = deployment_store(store)
    deployments.read_work_pool(pool_name)
    return [WorkQueueOut.of(q) for q in deployments.read_work_queues(pool_name)]


@router.post("/{pool_name:path}/workers/heartbeat", response_model=WorkerOut, responses=NOT_FOUND)
def worker_heartbeat(store: StoreDep, pool_name: PoolName, body: HeartbeatIn) -> WorkerOut:
    """Register the worker, or record that it is alive."""
    return WorkerOut.of(deployment_store(store).worker_heartbeat(pool_name, body.name))


@router.get("/{pool_name:path}/workers", response_model=list[WorkerOut], responses=NOT_FOUND)
def list_workers(store: StoreDep, pool_name: PoolName) -> list[WorkerOut]:
    deployments = deployment_store(store)
    deployments.read_work_pool(pool_name)
    return [WorkerOut.of(w) for w in deployments.read_workers(pool_name)]


@router.post("/{pool_name:path}/claim", response_model=list[DeploymentRunOut], responses=NOT_FOUND)
async def claim_runs(
    request: Request, store: StoreDep, pool_name: PoolName, body: ClaimIn
) -> list[DeploymentRunOut]:
    """Claim up to `limit` due runs for `worker` (each run goes to one claimer only): they
    become Pending, the worker's to start. With `wait`, an empty answer comes only after that
    many seconds without a claimable run; a run that becomes claimable meanwhile is answered
    at once."""
    deployments = deployment_store(store)
    signal: RunSignal = request.app.state.run_signal
    deadline = time.monotonic() + body.wait
    while True:
        event = signal.generation()  # before looking: a run made meanwhile still wakes us
        runs = await run_in_threadpool(
            deployments.claim_runs,
            pool_name,
            body.queues,
            body.worker,
            body.limit,
            ahead=body.ahead,
        )
        remaining = deadline - time.monotonic()
        if runs or remaining <= 0 or body.limit == 0:
            return [DeploymentRunOut.of(r) for r in runs]
        due = await run_in_threadpool(deployments.next_run_due, pool_name, body.queues)
        pause = min(RECHECK, remaining)
        claimable_at = None if due is None else due - body.ahead  # a prefetch claims earlier
        if claimable_at is not None and claimable_at > time.time():  # sleep until then, not a
            pause = min(pause, claimable_at - time.time())  # tick (a due run held back by a
            # concurrency limit is looked at again at RECHECK, not in a busy loop)
        await signal.wait(event, max(pause, 0.001))
        if await request.is_disconnected():
            return []


@router.post("/claims/{flow_run_id}/start", response_model=StartClaimOut)
def start_claimed_run(store: StoreDep, flow_run_id: FlowRunId, body: StartClaimIn) -> StartClaimOut:
    """A worker's last check before it starts a run it claimed (a compare-and-set): `started`
    is false when its claim was released meanwhile and the run is no longer its to start."""
    return StartClaimOut(
        started=deployment_store(store).start_claimed_run(flow_run_id, body.worker)
    )


@router.get("/{pool_name:path}", response_model=WorkPoolOut, responses=NOT_FOUND)
def read_work_pool(store: StoreDep, pool_name: PoolName) -> WorkPoolOut:
    return WorkPoolOut.of(deployment_store(store).read_work_pool(pool_name))
