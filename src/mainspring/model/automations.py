"""Automations: a trigger and the actions it sets off, as users write them (YAML or JSON).

```yaml
name: page-on-failure
trigger:
  type: flow-run-state        # a flow run enters one of `states`
  states: [Failed, Crashed]
  flows: [etl]                # optional filters: flow names, deployments ('flow/name'), tags
  for_seconds: 60             # optional: and is still in it 60 s later (a retried run is not)
actions:
  - type: send-notification
    block: ops-webhook
    body: "{{ flow_run.name }} is {{ flow_run.state }}: {{ flow_run.message }}"
```

Triggers: `flow-run-state` (above); `flow-run-not-completed` (`within_seconds` after it was
scheduled, or created when it never was, the run is not Completed); `event-count`
(`threshold` events whose type starts with `event` within `within_seconds`; flow-run
filters apply to run-state events). Actions: `send-notification` (a saved notification
block), `call-webhook` (POST to a URL), `run-deployment`, `pause-deployment`,
`resume-deployment`, `cancel-flow-run`, `change-flow-run-state`; each checked here, with a
ValueError naming the field, so a bad spec is refused before anything is stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mainspring.model.events import FLOW_RUN, PREFIX, Event, check_event_type
from mainspring.model.runs import new_id
from mainspring.model.states import STATE_NAMES

TRIGGER_TYPES = ("flow-run-state", "flow-run-not-completed", "event-count")
ACTION_FIELDS: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    # field -> (type, required)
    "send-notification": {"block": (str, True), "subject": (str, False), "body": (str, False)},
    "call-webhook": {"url": (str, True), "body": (str, False)},
    "run-deployment": {"deployment": (str, False), "parameters": (dict, False)},
    "pause-deployment": {"deployment": (str, False)},
    "resume-deployment": {"deployment": (str, False)},
    "cancel-flow-run": {},
    "change-flow-run-state": {"state": (str, True), "message": (str, False)},
}
#: Actions that act on the triggering flow run, or on its deployment when none is named.
NEEDS_RUN = ("cancel-flow-run", "change-flow-run-state")
MAX_NAME = 255
MAX_TEMPLATE = 10_000
MAX_ACTIONS = 20
MAX_SECONDS = 366 * 86400.0
MAX_THRESHOLD = 10_000
DEFAULT_BODY = (
    "Flow run {{ flow_run.name }} of {{ flow_run.flow }} entered {{ flow_run.state }}"
    "{% if flow_run.message %}: {{ flow_run.message }}{% endif %}\n{{ flow_run.url }}"
)
DEFAULT_SUBJECT = "Mainspring: {{ flow_run.flow }} {{ flow_run.state }}"


@dataclass(slots=True, frozen=True)
class Trigger:
    type: str
    states: tuple[str, ...] = ()
    flows: tuple[str, ...] = ()
    deployments: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    for_seconds: float | None = None
    within_seconds: float | None = None
    event: str | None = None
    threshold: int = 1

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for name in ("states", "flows", "deployments", "tags"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        for name in ("for_seconds", "within_seconds", "event"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.type == "event-count":
            out["threshold"] = self.threshold
        return out

    # -- matching ----------------------------------------------------------------------------
    def run_matches(self, labels: dict[str, Any]) -> bool:
        """Whether a flow run with these labels passes the flows/deployments/tags filters."""
        if self.flows and labels.get("flow") not in self.flows:
            return False
        if self.deployments and labels.get("deployment") not in self.deployments:
            return False
        tags = labels.get("tags") or ()
        return all(t in tags for t in self.tags)

    def matches(self, event: Event) -> bool:
        """Whether `event` counts for this trigger (for a `for_seconds` or not-completed
        trigger: starts its clock)."""
        is_flow_run_state = event.is_run_state and event.resource_id.startswith(
            f"{PREFIX}{FLOW_RUN}."
        )
        if self.type == "event-count":
            assert self.event is not None
            if not event.event.startswith(self.event):
                return False
            return not is_flow_run_state or self.run_matches(event.resource)
        if not is_flow_run_state or not self.run_matches(event.resource):
            return False
        if self.type == "flow-run-state":
            return event.state_name in self.states
        # flow-run-not-completed: the clock starts when the run is scheduled or created
        return event.state_name in ("Scheduled", "Pending")


@dataclass(slots=True, frozen=True)
class Action:
    type: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.options}


@dataclass(slots=True)
class Automation:
    name: str
    trigger: Trigger
    actions: list[Action]
    description: str | None = None
    enabled: bool = True
    id: str = field(default_factory=new_id)
    created: float | None = None
    updated: float | None = None
    #: events that occurred before this (its creation, its last resume) never fire it
    enabled_since: float | None = None

    def to_spec(self) -> dict[str, Any]:
        """The spec it was made from (what `automation_from_spec` takes)."""
        return {
            "name": self.name,
            "description": self.description,
            "enabled": self.enabled,
            "trigger": self.trigger.to_dict(),
            "actions": [a.to_dict() for a in self.actions],
        }


def describe_trigger(t: Trigger) -> str:
    """The trigger in a line of words (the CLI's listing and the UI's automations page)."""
    where = []
    if t.flows:
        where.append("flows " + ", ".join(t.flows))
    if t.deployments:
        where.append("deployments " + ", ".join(t.deployments))
    if t.tags:
        where.append("tags " + ", ".join(t.tags))
    scope = f" ({'; '.join(where)})" if where else ""
    if t.type == "flow-run-state":
        held = f" for {t.for_seconds:g} s" if t.for_seconds else ""
        return f"flow run {'/'.join(t.states)}{held}{scope}"
    if t.type == "flow-run-not-completed":
        return f"flow run not Completed {t.within_seconds:g} s after scheduled{scope}"
    return f"{t.threshold} x {t.event}* within {t.within_seconds:g} s{scope}"


# -- parsing and checking ----------------------------------------------------------------------
def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"{where}: {message}")


def _text(where: str, value: Any, limit: int = MAX_NAME) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"expected non-empty text, got {value!r}")
    if len(value) > limit or "\x00" in value:
        raise _fail(where, f"at most {limit} characters, without NUL")
    return value


def _names(where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _fail(where, f"expected a list of names, got {type(value).__name__}")
    return tuple(_text(f"{where}[{i}]", v) for i, v in enumerate(value))


def _seconds(where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"expected a number of seconds, got {value!r}")
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise _fail(where, f"expected more than 0 and at most {MAX_SECONDS:g} seconds")
    return float(value)


def _unknown(where: str, given: dict[str, Any], known: set[str]) -> None:
    extra = sorted(set(given) - known)
    if extra:
        raise _fail(where, f"unknown field(s) {', '.join(map(repr, extra))}")


def trigger_from_dict(value: Any) -> Trigger:
    if not isinstance(value, dict):
        raise _fail("trigger", f"expected a mapping, got {type(value).__name__}")
    kind = value.get("type")
    if kind not in TRIGGER_TYPES:
        raise _fail("trigger.type", f"expected one of {', '.join(TRIGGER_TYPES)}; got {kind!r}")
    common = {"type", "flows", "deployments", "tags"}
    known = {
        "flow-run-state": common | {"states", "for_seconds"},
        "flow-run-not-completed": common | {"within_seconds"},
        "event-count": common | {"event", "threshold", "within_seconds"},
    }[kind]
    _unknown("trigger", value, known)
    states = _names("trigger.states", value.get("states"))
    for state in states:
        if state not in STATE_NAMES:
            raise _fail("trigger.states", f"unknown state {state!r} ({', '.join(STATE_NAMES)})")
    deployments = _names("trigger.deployments", value.get("deployments"))
    for name in deployments:
        if name.count("/") != 1:
            raise _fail(
                "trigger.deployments", f"expected 'flow-name/deployment-name', got {name!r}"
            )
    trigger = Trigger(
        type=kind,
        states=states,
        flows=_names("trigger.flows", value.get("flows")),
        deployments=deployments,
        tags=_names("trigger.tags", value.get("tags")),
        for_seconds=_seconds("trigger.for_seconds", value.get("for_seconds")),
        within_seconds=_seconds("trigger.within_seconds", value.get("within_seconds")),
        event=value.get("event"),
        threshold=value.get("threshold", 1),
    )
    if kind == "flow-run-state" and not states:
        raise _fail("trigger.states", "name at least one state (Failed, Crashed, ...)")
    if kind != "flow-run-state" and trigger.within_seconds is None:
        raise _fail("trigger.within_seconds", f"required for a {kind} trigger")
    if kind == "event-count":
        try:
            check_event_type(trigger.event.rstrip(".") if isinstance(trigger.event, str) else "")
        except ValueError as exc:
            raise _fail("trigger.event", f"an event type or type prefix: {exc}") from None
        threshold = trigger.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int):
            raise _fail("trigger.threshold", f"expected a whole number, got {threshold!r}")
        if not 1 <= threshold <= MAX_THRESHOLD:
            raise _fail("trigger.threshold", f"expected 1 to {MAX_THRESHOLD}, got {threshold}")
    return trigger


def action_from_dict(value: Any, where: str = "actions[0]") -> Action:
    if not isinstance(value, dict):
        raise _fail(where, f"expected a mapping, got {type(value).__name__}")
    kind = value.get("type")
    if kind not in ACTION_FIELDS:
        raise _fail(f"{where}.type", f"expected one of {', '.join(ACTION_FIELDS)}; got {kind!r}")
    fields = ACTION_FIELDS[kind]
    _unknown(where, value, {"type", *fields})
    options: dict[str, Any] = {}
    for name, (expected, required) in fields.items():
        if name not in value or value[name] is None:
            if required:
                raise _fail(f"{where}.{name}", f"required for {kind}")
            continue
        if not isinstance(value[name], expected):
            raise _fail(f"{where}.{name}", f"expected {expected.__name__}, got {value[name]!r}")  # type: ignore[union-attr]
        if expected is str:
            limit = MAX_TEMPLATE if name in ("body", "subject", "message") else MAX_NAME * 2 + 1
            _text(f"{where}.{name}", value[name], limit)
        options[name] = value[name]
    if kind == "call-webhook" and not options["url"].startswith(("http://", "https://")):
        raise _fail(f"{where}.url", f"expected an http:// or https:// URL, got {options['url']!r}")
    deployment = options.get("deployment")
    if deployment is not None and deployment.count("/") != 1:
        raise _fail(
            f"{where}.deployment", f"expected 'flow-name/deployment-name', got {deployment!r}"
        )
    if kind == "change-flow-run-state" and options["state"] not in STATE_NAMES:
        raise _fail(f"{where}.state", f"unknown state {options['state']!r}")
    return Action(kind, options)


def automation_from_spec(spec: Any) -> Automation:
    """An automation from its spec (parsed YAML or JSON); ValueError naming the bad field."""
    if not isinstance(spec, dict):
        raise ValueError(f"An automation spec is a mapping, got {type(spec).__name__}")
    _unknown("automation", spec, {"name", "description", "enabled", "trigger", "actions"})
    name = _text("name", spec.get("name"))
    description = spec.get("description")
    if description is not None:
        description = _text("description", description, MAX_TEMPLATE)
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail("enabled", f"expected true or false, got {enabled!r}")
    trigger = trigger_from_dict(spec.get("trigger"))
    actions = spec.get("actions")
    if not isinstance(actions, list) or not 1 <= len(actions) <= MAX_ACTIONS:
        raise _fail("actions", f"expected a list of 1 to {MAX_ACTIONS} actions")
    parsed = [action_from_dict(a, f"actions[{i}]") for i, a in enumerate(actions)]
    for i, action in enumerate(parsed):
        if action.type in NEEDS_RUN and trigger.type == "event-count":
            raise _fail(f"actions[{i}]", f"{action.type} needs a flow-run trigger")
    return Automation(name, trigger, parsed, description, enabled)
