"""`/dashboard`: what needs attention now, and how the runs of a chosen window went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mainspring.model import FlowRunFilter
from mainspring.server.ui import nav
from mainspring.server.ui.templating import render
from mainspring.server.ui.viewer import Viewer, page_viewer

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Dashboard", "/dashboard"))


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, _viewer: Annotated[Viewer, Depends(page_viewer)]) -> HTMLResponse:
    store = request.app.state.store
    failed = store.read_flow_runs(FlowRunFilter(states=["FAILED", "CRASHED"]), limit=10)
    return render(request, "dashboard.html", {"failed": failed})
