"""`/automations`: each automation (its trigger and actions in words, enabled or paused) with
its latest firings and how each action went; Pause, Resume and Delete as forms.

Read and changed through the EventStore protocol (store/events.py), as `/api/automations`
and `mainspring automation` do. The forms carry the CSRF token, are shown only to a viewer
whose key may write, and are refused on the server otherwise (action_viewer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mainspring.exceptions import ObjectNotFound
from mainspring.model.automations import Action, Automation, describe_trigger
from mainspring.model.firings import Firing
from mainspring.server.ui import nav
from mainspring.server.ui.csrf import require_csrf
from mainspring.server.ui.errors import UiError
from mainspring.server.ui.reading import not_found
from mainspring.server.ui.templating import redirect, render
from mainspring.server.ui.viewer import Viewer, action_viewer, page_viewer
from mainspring.store.events import EventStore

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Automations", "/automations"))

#: Latest firings shown under each automation.
FIRINGS_SHOWN = 5
THEIR_DEPLOYMENT = "the triggering run's deployment"


def event_store(request: Request) -> EventStore:
    store = request.app.state.store
    if not isinstance(store, EventStore):
        raise UiError(501, "This server's store keeps no events or automations.")
    return store


def describe_action(action: Action) -> str:
    """An action in words, as a person reads the automation."""
    o = action.options
    deployment = o.get("deployment")
    match action.type:
        case "send-notification":
            return f"send a notification through the block {o['block']}"
        case "call-webhook":
            return f"POST to {o['url']}"
        case "run-deployment":
            target = deployment or THEIR_DEPLOYMENT
            params = " with parameters" if o.get("parameters") else ""
            return f"run {target}{params}"
        case "pause-deployment" | "resume-deployment":
            verb = action.type.split("-")[0]
            return f"{verb} {deployment or THEIR_DEPLOYMENT}"
        case "cancel-flow-run":
            return "cancel the flow run"
        case "change-flow-run-state":
            return f"set the flow run's state to {o['state']}"
    return action.type


@dataclass(slots=True)
class AutomationRow:
    automation: Automation
    trigger: str
    actions: list[str]
    firings: list[Firing]


def _run_of(firing: Firing) -> dict[str, Any] | None:
    """The flow run a firing was about (its id and name), when it was about one."""
    run = firing.context.get("flow_run")
    return run if isinstance(run, dict) and run.get("id") else None


@router.get("/automations", response_class=HTMLResponse, name="automations")
def automations_page(
    request: Request, _viewer: Annotated[Viewer, Depends(page_viewer)]
) -> HTMLResponse:
    store = event_store(request)
    rows = [
        AutomationRow(
            automation=a,
            trigger=describe_trigger(a.trigger),
            actions=[describe_action(x) for x in a.actions],
            firings=store.read_firings(a.id, FIRINGS_SHOWN),
        )
        for a in store.read_automations()
    ]
    return render(request, "automations.html", {"rows": rows, "run_of": _run_of})


def _change(request: Request, automation_id: str, change: str) -> RedirectResponse:
    store = event_store(request)
    try:
        automation = store.find_automation(automation_id)
        if change == "delete":
            store.delete_automation(automation.id)
            said = "deleted; its actions not yet done are dropped"
        else:
            store.set_automation_enabled(automation.id, change == "resume")
            said = (
                "resumed: it reacts to events from now on"
                if change == "resume"
                else "paused: what happens meanwhile never fires it"
            )
    except ObjectNotFound:
        raise not_found("automation with this id") from None
    return redirect("/automations", f"Automation {automation.name!r} {said}.")


@router.post("/automations/{automation_id}/pause", dependencies=[Depends(require_csrf)])
def pause_automation(
    request: Request, automation_id: str, _viewer: Annotated[Viewer, Depends(action_viewer)]
) -> RedirectResponse:
    return _change(request, automation_id, "pause")


@router.post("/automations/{automation_id}/resume", dependencies=[Depends(require_csrf)])
def resume_automation(
    request: Request, automation_id: str, _viewer: Annotated[Viewer, Depends(action_viewer)]
) -> RedirectResponse:
    return _change(request, automation_id, "resume")


@router.post("/automations/{automation_id}/delete", dependencies=[Depends(require_csrf)])
def delete_automation(
    request: Request, automation_id: str, _viewer: Annotated[Viewer, Depends(action_viewer)]
) -> RedirectResponse:
    return _change(request, automation_id, "delete")
