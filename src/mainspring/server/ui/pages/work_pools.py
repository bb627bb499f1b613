"""`/work-pools` (each pool: type, limit, paused, workers online, runs waiting and running) and
`/work-pools/work-pool/NAME` (one pool: its queues, its workers with their last heartbeat,
its queued and running runs).

A pool's runs are those of the deployments that name it (a filter on deployment ids): one
indexed query per list, whatever the history's size. The overview counts deployments and runs
per pool in the database, and a pool's page reads only its own deployments, so neither grows
with the number of deployments elsewhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mainspring.exceptions import ObjectNotFound
from mainspring.model import FlowRunFilter, FlowRunSort
from mainspring.model.deployments import Deployment, Worker, WorkPool
from mainspring.server.ui import nav
from mainspring.server.ui.pages.dashboard import WORKER_ONLINE_SECONDS
from mainspring.server.ui.reading import UiStore, not_found, ui_store
from mainspring.server.ui.run_rows import run_rows
from mainspring.server.ui.templating import render
from mainspring.server.ui.viewer import Viewer, page_viewer

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Work pools", "/work-pools"))

#: Waiting for a worker (Late is a kind of Scheduled) or claimed and about to start.
QUEUED = ["SCHEDULED", "PENDING"]
RUNNING = ["RUNNING", "CANCELLING"]
LISTED = 25  # runs shown in each of a pool's lists


@dataclass(slots=True)
class PoolSummary:
    pool: WorkPool
    workers: list[Worker]
    online: int
    deployments: int
    queued: int
    running: int


def _runs_filter(deployments: list[Deployment], states: list[str]) -> FlowRunFilter | None:
    """Runs of these deployments in `states`; None when there are no deployments (an empty
    id list would mean every run)."""
    if not deployments:
        return None
    return FlowRunFilter(deployment_ids=[d.id for d in deployments], states=states)


def _summaries(store: UiStore, pools: list[WorkPool], now: float) -> list[PoolSummary]:
    deployments = store.count_deployments_by_pool()
    queued, running = store.count_pool_runs(QUEUED), store.count_pool_runs(RUNNING)
    summaries = []
    for pool in pools:
        workers = store.read_workers(pool.name)
        summaries.append(
            PoolSummary(
                pool=pool,
                workers=workers,
                online=sum(1 for w in workers if w.last_heartbeat >= now - WORKER_ONLINE_SECONDS),
                deployments=deployments.get(pool.name, 0),
                queued=queued.get(pool.name, 0),
                running=running.get(pool.name, 0),
            )
        )
    return summaries


@router.get("/work-pools", response_class=HTMLResponse, name="work_pools")
def work_pools_page(
    request: Request, _viewer: Annotated[Viewer, Depends(page_viewer)]
) -> HTMLResponse:
    store = ui_store(request)
    now = time.time()
    pools = _summaries(store, store.read_work_pools(), now)
    return render(request, "work_pools.html", {"pools": pools})


@router.get("/work-pools/work-pool/{pool_name:path}", response_class=HTMLResponse, name="work_pool")
def work_pool_page(
    request: Request, pool_name: str, _viewer: Annotated[Viewer, Depends(page_viewer)]
) -> HTMLResponse:
    store = ui_store(request)
    try:
        pool = store.read_work_pool(pool_name)
    except ObjectNotFound:
        raise not_found("work pool of this name") from None
    now = time.time()
    [summary] = _summaries(store, [pool], now)
    deployments = store.read_pool_deployments(pool.name)
    queued_filter = _runs_filter(deployments, QUEUED)
    running_filter = _runs_filter(deployments, RUNNING)
    mine = {d.id: d for d in deployments}  # the runs listed are of these
    queued = (
        store.read_flow_runs(queued_filter, FlowRunSort.CREATED_DESC, LISTED)
        if queued_filter
        else []
    )
    running = (
        store.read_flow_runs(running_filter, FlowRunSort.START_TIME_DESC, LISTED)
        if running_filter
        else []
    )
    context = {
        "summary": summary,
        "pool": pool,
        "deployments": deployments,
        "queues": store.read_work_queues(pool.name),
        "online_since": now - WORKER_ONLINE_SECONDS,
        "queued": run_rows(store, queued, mine),
        "running": run_rows(store, running, mine),
        "listed": LISTED,
    }
    return render(request, "work_pool.html", context)
