"""Events, automations and their firings as the API takes and shows them.

An automation's body is its spec (model/automations.py, the YAML of
`mainspring automation create -f`), typed here field by field so the OpenAPI document says
what is taken; what depends on several fields (a trigger type's required fields, an action's)
and the templates are checked by the model and Jinja2 (`to_record`), whose error the route
answers as a 422 naming the field. Times are epoch seconds, as in the deployments' API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from mainspring.model.automations import (
    ACTION_FIELDS,
    MAX_ACTIONS,
    MAX_SECONDS,
    MAX_TEMPLATE,
    MAX_THRESHOLD,
    TRIGGER_TYPES,
    Automation,
    automation_from_spec,
)
from mainspring.model.events import MAX_EVENT_TYPE, Event
from mainspring.model.firings import ActionRun, Firing
from mainspring.model.states import STATE_NAMES
from mainspring.server.schemas.common import BodyTime, Json, Name, Tags, Text
from mainspring.server.schemas.deployments import StrictInput

EVENT_TYPE = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"
Seconds = Annotated[float, Field(gt=0, le=MAX_SECONDS)]
Template = Annotated[Text, Field(min_length=1, max_length=MAX_TEMPLATE)]
DeploymentName = Annotated[Name, Field(pattern=r"^[^/\x00]+/[^/\x00]+$")]
StateName = Annotated[str, Field(pattern="^(" + "|".join(STATE_NAMES) + ")$")]


class TriggerIn(StrictInput):
    type: Literal[TRIGGER_TYPES]  # type: ignore[valid-type]
    states: Annotated[list[StateName], Field(max_length=len(STATE_NAMES))] = []
    flows: Tags = []
    deployments: Annotated[list[DeploymentName], Field(max_length=100)] = []
    tags: Tags = []
    for_seconds: Seconds | None = None
    within_seconds: Seconds | None = None
    event: Annotated[str, Field(max_length=MAX_EVENT_TYPE, pattern=r"^[A-Za-z0-9_.-]+$")] | None = (
        None
    )
    threshold: Annotated[int, Field(ge=1, le=MAX_THRESHOLD)] | None = None


class ActionIn(StrictInput):
    type: Literal[tuple(ACTION_FIELDS)]  # type: ignore[valid-type]
    block: Name | None = None
    subject: Template | None = None
    body: Template | None = None
    url: Annotated[Text, Field(pattern=r"^https?://", max_length=2000)] | None = None
    deployment: DeploymentName | None = None
    parameters: Json | None = None
    state: StateName | None = None
    message: Template | None = None


class AutomationIn(StrictInput):
    name: Name
    description: Text | None = None
    enabled: bool = True
    trigger: TriggerIn
    actions: Annotated[list[ActionIn], Field(min_length=1, max_length=MAX_ACTIONS)]

    def to_record(self) -> Automation:
        """The automation, checked as a whole (ValueError naming the field)."""
        from mainspring.server.services.automation_context import check_template

        spec = self.model_dump(exclude_none=True)
        spec["trigger"] = {k: v for k, v in spec["trigger"].items() if v != []}
        automation = automation_from_spec(spec)
        for i, action in enumerate(automation.actions):
            for name in ("subject", "body", "message"):
                if name in action.options:
                    try:
                        check_template(action.options[name])
                    except ValueError as exc:
                        raise ValueError(f"actions[{i}].{name}: {exc}") from None
        return automation


class AutomationOut(BaseModel):
    id: str
    name: str
    description: str | None
    enabled: bool
    trigger: dict[str, Any]
    actions: list[dict[str, Any]]
    created: float | None
    updated: float | None

    @classmethod
    def of(cls, a: Automation) -> AutomationOut:
        return cls(
            id=a.id,
            name=a.name,
            description=a.description,
            enabled=a.enabled,
            trigger=a.trigger.to_dict(),
            actions=[x.to_dict() for x in a.actions],
            created=a.created,
            updated=a.updated,
        )


class ActionRunOut(BaseModel):
    index: int
    type: str
    status: str
    attempts: int
    next_attempt: float | None
    last_error: str | None
    finished: float | None

    @classmethod
    def of(cls, a: ActionRun) -> ActionRunOut:
        return cls(
            index=a.index,
            type=str(a.action.get("type")),
            status=a.status.value,
            attempts=a.attempts,
            next_attempt=a.next_attempt,
            last_error=a.last_error,
            finished=a.finished,
        )


class FiringOut(BaseModel):
    id: int
    trigger_key: str
    occurred: float
    fired: float
    flow_run_id: str | None
    actions: list[ActionRunOut]

    @classmethod
    def of(cls, f: Firing) -> FiringOut:
        return cls(
            id=f.id,
            trigger_key=f.key,
            occurred=f.occurred,
            fired=f.fired,
            flow_run_id=(f.context.get("flow_run") or {}).get("id"),
            actions=[ActionRunOut.of(a) for a in f.actions],
        )


class EventIn(StrictInput):
    """An event a client reports (its own: types starting `mainspring.` are Mainspring's)."""

    event: Annotated[str, Field(min_length=1, max_length=MAX_EVENT_TYPE, pattern=EVENT_TYPE)]
    resource_id: Name
    resource: Json = {}
    payload: Json = {}
    occurred: BodyTime | None = None


class EventOut(BaseModel):
    id: str
    event: str
    occurred: float
    resource_id: str
    resource: dict[str, Any]
    payload: dict[str, Any]

    @classmethod
    def of(cls, e: Event) -> EventOut:
        return cls(
            id=e.id,
            event=e.event,
            occurred=e.occurred,
            resource_id=e.resource_id,
            resource=e.resource,
            payload=e.payload,
        )


class EventPageOut(BaseModel):
    events: list[EventOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page."
    )
