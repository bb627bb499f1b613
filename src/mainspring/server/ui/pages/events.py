"""`/events`: the latest events (runs' state changes, deployments, work pools, automations,
clients' own), filtered by type prefix and resource, a page at a time.

Read through the same store query as `GET /api/events` (EventStore.read_events) with its
cursor, so older pages neither skip nor repeat an event however many arrive meanwhile. The
cursor only goes back in time: "Latest" starts again from the newest.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mainspring.model.events import PREFIX, Event, EventCursor, EventFilter
from mainspring.server.ui import nav
from mainspring.server.ui.errors import UiError
from mainspring.server.ui.pages.automations import event_store
from mainspring.server.ui.templating import render
from mainspring.server.ui.viewer import Viewer, page_viewer

router = APIRouter(include_in_schema=False)
nav.register(nav.NavEntry("Events", "/events", order=85))

PAGE = 50
#: What GET /api/events accepts as a type prefix, so the page refuses what the API does.
TYPE_PREFIX = re.compile(r"[A-Za-z0-9_.-]{1,255}")
MAX_RESOURCE = 255
#: Quick filters offered above the list.
SHORTCUTS = (
    ("Flow runs", f"{PREFIX}flow-run."),
    ("Failed flow runs", f"{PREFIX}flow-run.Failed"),
    ("Task runs", f"{PREFIX}task-run."),
    ("Deployments", f"{PREFIX}deployment."),
    ("Automations", f"{PREFIX}automation."),
)
#: Pages of the resources events name, by the kind in `mainspring.<kind>.<id>` (the id is
#: appended; automations have one page for all).
RESOURCE_PAGES = {
    "flow-run": "/runs/flow-run/{}",
    "task-run": "/runs/task-run/{}",
    "deployment": "/deployments/deployment/{}",
    "automation": "/automations",
}


def _read_filters(type_: str | None, resource: str | None) -> tuple[str, str]:
    type_ = (type_ or "").strip()
    resource = (resource or "").strip()
    if type_ and not TYPE_PREFIX.fullmatch(type_):
        raise UiError(
            400,
            "An event type prefix is letters, digits, '.', '-' and '_' (at most 255), "
            "like mainspring.flow-run.Failed.",
        )
    if len(resource) > MAX_RESOURCE:
        raise UiError(400, f"A resource is at most {MAX_RESOURCE} characters.")
    return type_, resource


def resource_link(event: Event) -> str | None:
    """The page of what an event is about (a run, a deployment, an automation), if any."""
    if not event.resource_id.startswith(PREFIX):
        return None
    kind, _, object_id = event.resource_id.removeprefix(PREFIX).partition(".")
    page = RESOURCE_PAGES.get(kind)
    if page is None or not object_id:
        return None
    return page.format(quote(object_id, safe=""))


def resource_label(event: Event) -> str:
    """What to call an event's resource: its name label, else its kind (`automation`), else
    its id (a client's own resource)."""
    name = event.resource.get("name") if isinstance(event.resource, dict) else None
    if isinstance(name, str) and name.strip():
        return name
    if event.resource_id.startswith(PREFIX):
        kind = event.resource_id.removeprefix(PREFIX).partition(".")[0]
        words = kind.replace("-", " ")
        return f"{'an' if words[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {words}"
    return event.resource_id


def summary(event: Event) -> str:
    """A line of what else the event says: a state's message, an action's error, ..."""
    payload = event.payload or {}
    for key in ("message", "error", "action", "automation_name"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().splitlines()[0]
    return ""


@router.get("/events", response_class=HTMLResponse, name="events")
def events_page(
    request: Request,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    type: str | None = None,
    resource: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    type_prefix, resource_id = _read_filters(type, resource)
    try:
        position = EventCursor.decode(cursor) if cursor else None
    except ValueError:
        raise UiError(
            400, "That page link is not one this server made; start from the latest."
        ) from None
    types = (type_prefix,) if type_prefix else ()
    filter = EventFilter(types=types, resource_id=resource_id or None)
    page = event_store(request).read_events(filter, PAGE, position)
    kept = {k: v for k, v in (("type", type_prefix), ("resource", resource_id)) if v}
    older = (
        "/events?" + urlencode({**kept, "cursor": page.next_cursor.encode()})
        if page.next_cursor
        else None
    )
    context: dict[str, Any] = {
        "events": page.events,
        "type_prefix": type_prefix,
        "resource": resource_id,
        "older_url": older,
        "latest_url": ("/events?" + urlencode(kept)) if position else None,
        "shortcuts": SHORTCUTS,
        "resource_link": resource_link,
        "resource_label": resource_label,
        "summary": summary,
    }
    return render(request, "events.html", context)
