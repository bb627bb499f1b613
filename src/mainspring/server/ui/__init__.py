"""The web UI: server-rendered pages under `/`, beside the API under `/api`.

`install_ui(app)` adds the pages' routers (pages/), the static files (static/: one CSS file,
a small script, and vendored htmx, its SSE extension and uPlot with their licences, see
static/VENDORED.md), and the UI's error pages. Pages read through the same store as the API
(reading.ui_store: the Store, DeploymentStore and RunInsights protocols).

Adding a page: a module in pages/ with its `router` (listed in pages.ROUTERS) and, for a
top-level page, `nav.register(NavEntry(label, path))`; a template extending base.html
(`{% import "macros.html" as m with context %}`). Pages take `Depends(page_viewer)` (sign-in
when keys are required). Links to pages that other parts add are made with
`page_url(route_name, **params)`, which is None until that route exists, so no link is
dead; the names in use: `flow_run` (flow_run_id), `task_run` (task_run_id), `deployment`
(deployment_id), `work_pool` (pool_name), `flow` (flow_id). Actions are POST routes with
`dependencies=[Depends(require_csrf)]` and `Depends(action_viewer)` (a key that may write);
their forms include `{{ m.csrf() }}`; show their buttons only when `viewer.can_write`; answer
with `templating.redirect(url, flash=...)`. Errors for a person: raise `UiError(status,
message)`. Charts: `{{ m.chart_scripts() }}` in the head block and a kind in static/charts.js.
"""

from __future__ import annotations

import secrets

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from mainspring.exceptions import StoreError
from mainspring.server.ui.errors import UiError, UiRedirect
from mainspring.server.ui.pages import ROUTERS
from mainspring.server.ui.templating import HERE, render
from mainspring.server.ui.viewer import Viewer, current_viewer


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A page saying what went wrong, with the menu, so a person can go on from it."""
    title = {401: "Sign in needed", 403: "Not allowed", 404: "Not found"}.get(
        status, "Something went wrong"
    )
    context = {"title": title, "message": message, "status": status}
    try:
        current_viewer(request)  # the menu shows who is signed in
    except StoreError:  # the database is what failed: show the page as to a stranger
        request.state.viewer = Viewer(keys_required=True)
    return render(request, "error.html", context, status=status)


def install_ui(app: FastAPI) -> None:
    # Signs the CSRF tokens; a restart makes open forms ask for a reload, nothing worse.
    app.state.ui_secret = secrets.token_bytes(32)
    app.state.ui_paths = {}  # route path templates by name (templating.page_url)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=307)

    @app.exception_handler(UiError)
    async def ui_error(request: Request, exc: UiError) -> HTMLResponse:
        return error_page(request, exc.status, exc.message)

    @app.exception_handler(UiRedirect)
    async def ui_redirect(_request: Request, exc: UiRedirect) -> RedirectResponse:
        return RedirectResponse(exc.location, status_code=303)
