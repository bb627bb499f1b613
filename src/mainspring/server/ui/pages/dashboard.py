"""`/dashboard`: what needs attention now, and how the runs of a chosen window went.

Failed and crashed runs come first with their error line, then late runs, the runs by state
over the window (a chart, with the totals as text), task runs by state, work pools with their
workers, and the next scheduled runs.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from mainspring.model import FlowRunFilter
from mainspring.server.ui import charts, nav
from mainspring.server.ui.badges import CHART_ORDER
from mainspring.server.ui.reading import ui_store
from mainspring.server.ui.run_rows import run_rows
from mainspring.server.ui.templating import render
from mainspring.server.ui.viewer import Viewer, page_viewer
from mainspring.server.ui.windows import WINDOWS, window

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Dashboard", "/dashboard"))

LISTED = 10  # rows in each of the dashboard's lists
#: A worker is shown online when its last heartbeat is this recent (workers beat every 10 s).
WORKER_ONLINE_SECONDS = 60.0


@router.get("/dashboard", response_class=HTMLResponse, name="dashboard")
def dashboard(
    request: Request,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    window_key: Annotated[str | None, Query(alias="window")] = None,
) -> HTMLResponse:
    store = ui_store(request)
    chosen = window(window_key)
    now = time.time()
    since, until = chosen.span(now)
    buckets = store.count_flow_runs_by_state(since, until, chosen.buckets)
    failing = store.read_recent_failures(since, LISTED)
    late = store.read_flow_runs(FlowRunFilter(states=["Late"]), limit=LISTED)
    task_counts = store.count_task_runs_by_state(since, until)
    pools = [(pool, store.read_workers(pool.name)) for pool in store.read_work_pools()]
    upcoming = store.read_upcoming_runs(LISTED)
    deployments = store.read_deployments_by_id(
        [u.run.deployment_id for u in upcoming if u.run.deployment_id]
    )
    context = {
        "window": chosen,
        "windows": WINDOWS.values(),
        "chart": charts.state_bars(buckets, since, until, chosen.buckets),
        "totals": charts.totals(buckets),
        "task_totals": [(t, task_counts[t]) for t in CHART_ORDER if t in task_counts],
        "failing": run_rows(store, failing),
        "late": run_rows(store, late),
        "pools": pools,
        "online_since": now - WORKER_ONLINE_SECONDS,
        "upcoming": upcoming,
        "deployments": deployments,
    }
    return render(request, "dashboard.html", context)
