"""`/runs`: every flow run, filtered, sorted and paged, with a duration-over-time chart.

Filters arrive as the query string of a plain GET form (runs_query.py), so a filtered list
is a link that can be shared and works without JavaScript. The deployment filter is a text
field with suggestions (deployment_picker.py), not a list of every deployment.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from mainspring.server.ui import charts, deployment_picker, nav
from mainspring.server.ui.paging import Page
from mainspring.server.ui.reading import ui_store
from mainspring.server.ui.run_rows import run_rows
from mainspring.server.ui.runs_query import (
    MAX_TEXT,
    PAGE_SIZE,
    SORTS,
    STATE_CHOICES,
    RunsQuery,
    read_query,
)
from mainspring.server.ui.templating import render
from mainspring.server.ui.viewer import Viewer, page_viewer
from mainspring.server.ui.windows import WINDOWS
from mainspring.store.run_pages import RunPage

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Runs", "/runs"))

#: Runs in the duration chart: the most recent of those matching the filters.
CHART_RUNS = 500


@router.get("/runs", response_class=HTMLResponse, name="runs")
def runs_page(request: Request, _viewer: Annotated[Viewer, Depends(page_viewer)]) -> HTMLResponse:
    store = ui_store(request)
    query = read_query(request.query_params)
    picked = deployment_picker.resolve(store, query.deployments)
    run_filter = replace(query.filter(), deployment_ids=picked.ids)
    count = store.count_flow_runs(run_filter)
    cursor = query.after or query.before
    offset = 0 if cursor is not None else query.offset
    runs = store.read_flow_run_page(
        run_filter, query.sort, PAGE_SIZE, offset, after=query.after, before=query.before
    )
    points = store.read_run_points(run_filter, CHART_RUNS)
    context = {
        "query": query,
        "rows": run_rows(store, runs.runs),
        "count": count,
        "page": neighbours(query, runs, count),
        "chart": charts.duration_scatter(points),
        "charted": len(points),
        "flows": [f.name for f in store.read_flows()],
        "deployment_labels": picked.labels or [""],
        "deployment_suggestions": deployment_picker.suggestions(store, "")
        if not picked.labels
        else [],
        "has_deployments": bool(picked.labels) or bool(store.count_deployments_by_flow()),
        "notices": picked.notices,
        "state_choices": STATE_CHOICES,
        "sorts": SORTS,
        "windows": WINDOWS.values(),
        "error": " ".join(query.errors) or None,
    }
    return render(request, "runs.html", context, status=400 if query.errors else 200)


def neighbours(query: RunsQuery, runs: RunPage, count: int) -> Page:
    """This page's number and its links: to the neighbours by cursor (page 1,500 costs what
    page 1 does), to the first page by its plain URL. The number is carried in the link
    (runs written since may have moved it by a few places); the first and last say so."""
    pages = max(1, math.ceil(count / PAGE_SIZE))
    number = 1 if runs.previous is None else min(max(query.page, 2), pages)
    if runs.next is None and runs.runs:
        number = pages
    previous_url = None
    if runs.previous is not None:
        before = {"before": runs.previous.encode()} if number > 2 else {}
        previous_url = query.url(page=number - 1, **before)
    next_url = query.url(page=number + 1, after=runs.next.encode()) if runs.next else None
    return Page(number, pages, previous_url, next_url)


@router.get("/runs/deployment-options", response_class=HTMLResponse, name="deployment_options")
def deployment_options(
    request: Request,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    deployment: Annotated[str, Query()] = "",
) -> HTMLResponse:
    """The datalist's options for what is typed in the deployment field (htmx)."""
    names = deployment_picker.suggestions(ui_store(request), deployment[:MAX_TEXT])
    return render(request, "deployment_options.html", {"names": names})
