"""`/api/automations`: create, list, read, pause, resume and delete automations; their
firings. The body of a new automation is its spec (the YAML of `mainspring automation
create -f`, as JSON)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from mainspring.server.api.deps import NOT_FOUND, ErrorOut, StoreDep, invalid
from mainspring.server.api.events import event_store
from mainspring.server.schemas import ID_PATTERN
from mainspring.server.schemas.common import Name
from mainspring.server.schemas.deployments import EmptyIn
from mainspring.server.schemas.events import AutomationIn, AutomationOut, FiringOut

router = APIRouter(prefix="/automations", tags=["automations"])

EXISTS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "An automation of that name exists already."}
}
AutomationId = Annotated[str, Path(pattern=ID_PATTERN, description="An automation's id.")]


@router.post("", response_model=AutomationOut, status_code=201, responses=EXISTS)
def create_automation(store: StoreDep, body: AutomationIn) -> AutomationOut:
    """Create an automation; it reacts to events from now on (a 422 names a field the spec
    gets wrong, a template that does not parse included)."""
    try:
        record = body.to_record()
    except ValueError as exc:
        raise invalid(("body",), str(exc)) from None
    try:
        return AutomationOut.of(event_store(store).create_automation(record))
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("", response_model=list[AutomationOut])
def list_automations(store: StoreDep) -> list[AutomationOut]:
    """Every automation, by name."""
    return [AutomationOut.of(a) for a in event_store(store).read_automations()]


@router.get("/by_name", response_model=AutomationOut, responses=NOT_FOUND)
def find_automation(store: StoreDep, name: Name) -> AutomationOut:
    return AutomationOut.of(event_store(store).find_automation(name))


@router.get("/{automation_id}", response_model=AutomationOut, responses=NOT_FOUND)
def read_automation(store: StoreDep, automation_id: AutomationId) -> AutomationOut:
    return AutomationOut.of(event_store(store).find_automation(automation_id))


@router.post("/{automation_id}/pause", response_model=AutomationOut, responses=NOT_FOUND)
def pause_automation(store: StoreDep, automation_id: AutomationId, _body: EmptyIn) -> AutomationOut:
    """Stop reacting: events while it is paused never fire it. The body is `{}`."""
    return AutomationOut.of(event_store(store).set_automation_enabled(automation_id, False))


@router.post("/{automation_id}/resume", response_model=AutomationOut, responses=NOT_FOUND)
def resume_automation(
    store: StoreDep, automation_id: AutomationId, _body: EmptyIn
) -> AutomationOut:
    """React again, to events from now on. The body is `{}`."""
    return AutomationOut.of(event_store(store).set_automation_enabled(automation_id, True))


@router.delete("/{automation_id}", status_code=204, responses=NOT_FOUND)
def delete_automation(store: StoreDep, automation_id: AutomationId) -> Response:
    """Delete it; its actions not yet done are dropped."""
    event_store(store).delete_automation(automation_id)
    return Response(status_code=204)


@router.get("/{automation_id}/firings", response_model=list[FiringOut], responses=NOT_FOUND)
def list_firings(
    store: StoreDep,
    automation_id: AutomationId,
    limit: Annotated[int, Query(ge=0, le=1000)] = 20,
) -> list[FiringOut]:
    """Its latest firings, newest first, with each action's status and attempts."""
    events = event_store(store)
    events.find_automation(automation_id)  # 404 for an unknown automation
    return [FiringOut.of(f) for f in events.read_firings(automation_id, limit)]
