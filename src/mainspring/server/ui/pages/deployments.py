"""`/deployments` (every deployment: its flow, schedules in words, pool, paused, next run) and
`/deployments/deployment/ID` (one: details, the next runs in the schedules' zones, recent
runs, Pause/Resume, and Run with a form made from the flow's parameter schema).

A Run whose values do not fit is shown again with each field's error beside it (400), never
a 500: the form reads the text (param_form.py), the store validates the values.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mainspring.exceptions import ObjectNotFound, ParameterTypeError
from mainspring.model import FlowRunFilter
from mainspring.model.deployments import Deployment
from mainspring.server.ui import nav
from mainspring.server.ui.csrf import FIELD, require_csrf
from mainspring.server.ui.paging import page_number, page_of
from mainspring.server.ui.param_form import ParamField, form_fields, read_form
from mainspring.server.ui.reading import UiStore, not_found, ui_store
from mainspring.server.ui.run_rows import run_rows
from mainspring.server.ui.schedule_times import next_runs, schedule_words
from mainspring.server.ui.templating import page_url, redirect, render
from mainspring.server.ui.viewer import Viewer, action_viewer, page_viewer

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Deployments", "/deployments"))

NEXT_RUNS = 5  # next run times on a deployment's page
RECENT_RUNS = 10  # its latest runs
#: Deployments a page of the list: each row works out its next run from its schedules.
LIST_PAGE = 50


async def form_data(request: Request) -> dict[str, str]:
    """The posted form's text fields (files are not part of any UI form)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != FIELD}


def _deployment(store: UiStore, deployment_id: str) -> Deployment:
    try:
        return store.read_deployment(deployment_id)
    except ObjectNotFound:
        raise not_found("deployment with this id") from None


def _page_of(deployment: Deployment) -> str:
    return f"/deployments/deployment/{deployment.id}"


@router.get("/deployments", response_class=HTMLResponse, name="deployments")
def deployments_page(
    request: Request,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    page: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    store = ui_store(request)
    now = time.time()
    flow_ids = {f.name: f.id for f in store.read_flows()}
    number = page_number(page)
    count, shown = store.read_deployments_page((number - 1) * LIST_PAGE, LIST_PAGE)
    rows = [
        {
            "deployment": d,
            "flow_id": flow_ids.get(d.flow_name),
            "schedules": schedule_words(d),
            "next": next_runs(d, now, 1),
        }
        for d in shown
    ]
    pager = page_of(number, count, LIST_PAGE, lambda n: f"/deployments?page={n}")
    context = {"rows": rows, "count": count, "page": pager}
    return render(request, "deployments.html", context)


@router.get(
    "/deployments/deployment/{deployment_id}", response_class=HTMLResponse, name="deployment"
)
def deployment_page(
    request: Request, deployment_id: str, _viewer: Annotated[Viewer, Depends(page_viewer)]
) -> HTMLResponse:
    store = ui_store(request)
    deployment = _deployment(store, deployment_id)
    return _render_deployment(request, store, deployment, form_fields(deployment))


def _render_deployment(
    request: Request,
    store: UiStore,
    deployment: Deployment,
    fields: list[ParamField],
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    runs = store.read_flow_runs(FlowRunFilter(deployment_ids=[deployment.id]), limit=RECENT_RUNS)
    flow = next((f for f in store.read_flows() if f.name == deployment.flow_name), None)
    context = {
        "deployment": deployment,
        "flow_id": flow.id if flow else None,
        "schedules": schedule_words(deployment),
        "next_runs": next_runs(deployment, time.time(), NEXT_RUNS),
        "rows": run_rows(store, runs, {deployment.id: deployment}),
        "run_count": store.count_flow_runs(FlowRunFilter(deployment_ids=[deployment.id])),
        "fields": fields,
        "error": error,
    }
    return render(request, "deployment.html", context, status=status)


@router.post(
    "/deployments/deployment/{deployment_id}/run",
    dependencies=[Depends(require_csrf)],
    response_model=None,
)
def run_deployment(
    request: Request,
    deployment_id: str,
    _viewer: Annotated[Viewer, Depends(action_viewer)],
    form: Annotated[dict[str, str], Depends(form_data)],
) -> HTMLResponse | RedirectResponse:
    store = ui_store(request)
    deployment = _deployment(store, deployment_id)
    fields = form_fields(deployment)
    parameters = read_form(fields, form)
    problem = "Some values need fixing (see the fields marked below)."
    if any(f.error for f in fields):
        return _render_deployment(request, store, deployment, fields, problem, 400)
    try:
        made = store.create_deployment_run(deployment.id, parameters)
    except ObjectNotFound:
        raise not_found("deployment with this id") from None
    except ParameterTypeError as exc:
        field = next((f for f in fields if f.name == exc.parameter), None)
        if field is None:
            return _render_deployment(request, store, deployment, fields, str(exc), 400)
        field.error = str(exc)
        return _render_deployment(request, store, deployment, fields, problem, 400)
    except (TypeError, ValueError) as exc:  # a required parameter missing, a broken schema
        return _render_deployment(request, store, deployment, fields, str(exc), 400)
    run = made.run
    target = page_url(request, "flow_run", flow_run_id=run.id) or _page_of(deployment)
    return redirect(target, f"Flow run {run.name!r} of {deployment.full_name!r} asked for.")


def _set_paused(request: Request, deployment_id: str, paused: bool) -> RedirectResponse:
    store = ui_store(request)
    try:
        deployment = store.set_deployment_paused(deployment_id, paused)
    except ObjectNotFound:
        raise not_found("deployment with this id") from None
    said = (
        "paused: the runs its schedules planned are removed (runs asked for by hand stay), "
        "and none are scheduled until resumed"
        if paused
        else "resumed: the scheduler plans its runs again from now on"
    )
    return redirect(_page_of(deployment), f"Deployment {deployment.full_name!r} {said}.")


@router.post("/deployments/deployment/{deployment_id}/pause", dependencies=[Depends(require_csrf)])
def pause_deployment(
    request: Request, deployment_id: str, _viewer: Annotated[Viewer, Depends(action_viewer)]
) -> RedirectResponse:
    return _set_paused(request, deployment_id, True)


@router.post("/deployments/deployment/{deployment_id}/resume", dependencies=[Depends(require_csrf)])
def resume_deployment(
    request: Request, deployment_id: str, _viewer: Annotated[Viewer, Depends(action_viewer)]
) -> RedirectResponse:
    return _set_paused(request, deployment_id, False)
