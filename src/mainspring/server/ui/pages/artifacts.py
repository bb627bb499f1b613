"""`/artifacts`: the latest version of each key (and every artifact without one), newest first,
with its content and a link to the run that made it; `?key=K`: every version of one key.

Read through the ArtifactStore protocol (store/artifacts.py), as `/api/artifacts` and
`mainspring artifact ls` do; drawn by artifact_view.py (Markdown made safe, http(s) links).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mainspring.model import FlowRunFilter
from mainspring.model.artifacts import Artifact, check_artifact_key
from mainspring.server.ui import nav
from mainspring.server.ui.artifact_view import views_of
from mainspring.server.ui.errors import UiError
from mainspring.server.ui.paging import page_number
from mainspring.server.ui.templating import render
from mainspring.server.ui.viewer import Viewer, page_viewer
from mainspring.store.artifacts import ArtifactStore

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Artifacts", "/artifacts"))

PAGE = 25
#: Artifacts shown on a run's page (the newest; /artifacts lists them all).
ON_A_RUN = 50


def artifact_store(request: Request) -> ArtifactStore:
    store = request.app.state.store
    if not isinstance(store, ArtifactStore):
        raise UiError(501, "This server's store keeps no artifacts.")
    return store


def run_artifacts(request: Request, **where: str) -> list[Artifact]:
    """A run's newest artifacts (`flow_run_id=` or `task_run_id=`), for its page; none when
    the store keeps none."""
    store = request.app.state.store
    if not isinstance(store, ArtifactStore):
        return []
    return store.read_artifacts(limit=ON_A_RUN, **where)  # type: ignore[arg-type]


def run_names(request: Request, artifacts: list[Artifact]) -> dict[str, Any]:
    """The flow runs these artifacts were made in, by id (one query)."""
    ids = sorted({a.flow_run_id for a in artifacts if a.flow_run_id})
    if not ids:
        return {}
    runs = request.app.state.store.read_flow_runs(FlowRunFilter(ids=ids), limit=len(ids))
    return {r.id: r for r in runs}


@router.get("/artifacts", response_class=HTMLResponse, name="artifacts")
def artifacts_page(
    request: Request,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    key: str | None = None,
    page: str | None = None,
) -> HTMLResponse:
    if key:
        try:
            check_artifact_key(key)
        except ValueError as exc:
            raise UiError(400, str(exc)) from None
    number = page_number(page, most=10_000)
    found = artifact_store(request).read_artifacts(
        key=key or None, latest_only=not key, limit=PAGE + 1, offset=(number - 1) * PAGE
    )
    shown = found[:PAGE]
    base = f"/artifacts?key={key}&page=" if key else "/artifacts?page="
    context = {
        "views": views_of(shown),
        "runs": run_names(request, shown),
        "key": key or None,
        "number": number,
        "newer_url": f"{base}{number - 1}" if number > 1 else None,
        "older_url": f"{base}{number + 1}" if len(found) > PAGE else None,
    }
    return render(request, "artifacts.html", context)
