"""`/flows` (every flow with its recent runs and success rate) and `/flows/flow/ID` (one
flow: its deployments and its runs)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from mainspring.model import FlowRunFilter, FlowRunSort
from mainspring.model.insights import FlowStats
from mainspring.server.ui import nav
from mainspring.server.ui.paging import page_number, page_of
from mainspring.server.ui.reading import not_found, ui_store
from mainspring.server.ui.run_rows import run_rows
from mainspring.server.ui.runs_query import PAGE_SIZE, RunsQuery
from mainspring.server.ui.templating import render
from mainspring.server.ui.viewer import Viewer, page_viewer
from mainspring.server.ui.windows import WINDOWS, window

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Flows", "/flows"))

RECENT = 10  # the latest runs shown as badges per flow
#: The flows page's default window (any window is cheap: its counts are read by the hour,
#: store/sql/hour_counts.py).
STATS_WINDOW = "24h"
#: A flow's page: its last week.
FLOW_WINDOW = "7d"


@router.get("/flows", response_class=HTMLResponse, name="flows")
def flows_page(
    request: Request,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    window_key: Annotated[str | None, Query(alias="window")] = None,
) -> HTMLResponse:
    store = ui_store(request)
    chosen = window(window_key or STATS_WINDOW)
    stats = {s.flow_name: s for s in store.read_flow_stats(chosen.since(time.time()))}
    deployments = store.count_deployments_by_flow()
    flows = [
        {
            "flow": f,
            "stats": stats.get(f.name) or FlowStats(f.name, 0, 0, 0, None),
            "recent": store.read_flow_runs(FlowRunFilter(flow_names=[f.name]), limit=RECENT),
            "deployments": deployments.get(f.name, 0),
        }
        for f in store.read_flows()
    ]
    context = {"flows": flows, "window": chosen, "windows": WINDOWS.values()}
    return render(request, "flows.html", context)


@router.get("/flows/flow/{flow_id}", response_class=HTMLResponse, name="flow")
def flow_page(
    request: Request,
    flow_id: str,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    page: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    store = ui_store(request)
    flow = next((f for f in store.read_flows() if f.id == flow_id), None)
    if flow is None:
        raise not_found("flow with this id")
    query = RunsQuery(flows=[flow.name], page=page_number(page))
    run_filter = query.filter()
    count = store.count_flow_runs(run_filter)
    runs = store.read_flow_runs(run_filter, FlowRunSort.START_TIME_DESC, PAGE_SIZE, query.offset)
    week = time.time() - WINDOWS[FLOW_WINDOW].seconds
    recent = next(iter(store.read_flow_stats(week, flow_name=flow.name)), None)
    overall = store.read_flow_runs(FlowRunFilter(flow_names=[flow.name]), limit=1)
    path = request.url.path
    context = {
        "flow": flow,
        "stats": recent or FlowStats(flow.name, 0, 0, 0, None),
        "last_run": overall[0] if overall else None,
        "deployments": store.read_deployments(flow.name),
        "rows": run_rows(store, runs),
        "count": count,
        "page": page_of(query.page, count, PAGE_SIZE, lambda n: f"{path}?page={n}"),
        "runs_url": query.url(page=1),
    }
    return render(request, "flow.html", context)
