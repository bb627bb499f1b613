"""`/runs`: every flow run, filtered, sorted and paged, with a duration-over-time chart.

Filters arrive as the query string of a plain GET form (runs_query.py), so a filtered list
is a link that can be shared and works without JavaScript. The deployment filter is a text
field with suggestions (deployment_picker.py), not a list of every deployment.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from mainspring.server.ui import charts, deployment_picker, nav
from mainspring.server.ui.paging import page_of
from mainspring.server.ui.reading import ui_store
from mainspring.server.ui.run_rows import run_rows
from mainspring.server.ui.runs_query import MAX_TEXT, PAGE_SIZE, SORTS, STATE_CHOICES, read_query
from mainspring.server.ui.templating import render
from mainspring.server.ui.viewer import Viewer, page_viewer
from mainspring.server.ui.windows import WINDOWS

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
    runs = store.read_flow_runs(run_filter, query.sort, PAGE_SIZE, query.offset)
    points = store.read_run_points(run_filter, CHART_RUNS)
    context = {
        "query": query,
        "rows": run_rows(store, runs),
        "count": count,
        "page": page_of(query.page, count, PAGE_SIZE, lambda n: query.url(page=n)),
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


@router.get("/runs/deployment-options", response_class=HTMLResponse, name="deployment_options")
def deployment_options(
    request: Request,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    deployment: Annotated[str, Query()] = "",
) -> HTMLResponse:
    """The datalist's options for what is typed in the deployment field (htmx)."""
    names = deployment_picker.suggestions(ui_store(request), deployment[:MAX_TEXT])
    return render(request, "deployment_options.html", {"names": names})
