"""Events: something happened to a resource at a time, named by a dotted type.

Every state change of a flow run or a task run is an event (`mainspring.flow-run.Failed`,
`mainspring.task-run.Completed`), and so are what deployments, work pools and automations do
(`mainspring.deployment.paused`, `mainspring.automation.triggered`, ...). The run-state events
are not stored twice: they are read from the state timeline the engine already writes (one
row per state, with an integer key), so recording a state costs what it did before. Only
events with no other home are stored as events (store/events.py says where).

An event's `id` says where it comes from and orders it within its source: `s<N>` is the
state row N, `e<N>` the stored event N. Its resource is named `mainspring.<kind>.<id>` and
carries labels (a flow run's name, flow, deployment, tags, work pool) that triggers filter on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: Prefix of every event type Mainspring emits itself.
PREFIX = "mainspring."
FLOW_RUN = "flow-run"
TASK_RUN = "task-run"
#: Characters an event type may hold (dotted words): checked where events come in.
MAX_EVENT_TYPE = 255
#: A page's cursor as text (EventCursor.encode): two integer keys, either may be absent.
CURSOR_PATTERN = re.compile(r"([0-9]{1,18})?\.([0-9]{1,18})?")


def run_event_type(is_task: bool, state_name: str) -> str:
    """The type of the event a run's move to `state_name` is."""
    return f"{PREFIX}{TASK_RUN if is_task else FLOW_RUN}.{state_name}"


def resource_id(kind: str, object_id: str) -> str:
    """The name of a resource in events: `mainspring.flow-run.<id>`."""
    return f"{PREFIX}{kind}.{object_id}"


@dataclass(slots=True)
class Event:
    """One event. `resource` holds the labels of what it happened to (`id`, `name`, `flow`,
    `deployment`, `tags`, `work_pool`, ...); `payload` what else is worth knowing (a state's
    message, the automation and action of a firing)."""

    event: str
    resource_id: str
    occurred: float
    resource: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    id: str = ""  # "s<N>" or "e<N>"; given by the store

    @property
    def is_run_state(self) -> bool:
        return self.id.startswith("s")

    @property
    def state_name(self) -> str | None:
        """The state a run entered, for a run-state event; None otherwise."""
        if not self.is_run_state:
            return None
        return self.event.rsplit(".", 1)[-1]


@dataclass(slots=True, frozen=True)
class EventFilter:
    """Which events to read. `types`: any of these type prefixes (`mainspring.flow-run.`,
    `mainspring.flow-run.Failed`); `resource_id`: exactly this resource; `since` / `until`:
    epoch seconds, inclusive / exclusive."""

    types: tuple[str, ...] = ()
    resource_id: str | None = None
    since: float | None = None
    until: float | None = None

    def wants_type(self, event_type: str) -> bool:
        return not self.types or any(event_type.startswith(p) for p in self.types)


@dataclass(slots=True, frozen=True)
class EventCursor:
    """Where a page of events (newest first) stopped: the lowest state row and the lowest
    stored event returned so far, so the next page continues below both. Ids never change,
    so a page is stable however many events arrive meanwhile (they are newer: page 1's)."""

    state_below: int | None = None
    event_below: int | None = None

    def encode(self) -> str:
        """As text: `<state row>.<stored event>`, each part empty when None (`120.`)."""
        return f"{'' if self.state_below is None else self.state_below}." + (
            "" if self.event_below is None else str(self.event_below)
        )

    @classmethod
    def decode(cls, text: str) -> EventCursor:
        """The cursor `encode` wrote; ValueError for anything else."""
        match = CURSOR_PATTERN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"not a cursor this server handed out: {str(text)[:40]!r}")
        state, event = match.groups()
        return cls(int(state) if state else None, int(event) if event else None)


@dataclass(slots=True)
class EventPage:
    events: list[Event]
    #: the cursor of the next page; None when this page is the last
    next_cursor: EventCursor | None


def check_event_type(value: str) -> str:
    """An event type a client may emit: dotted, non-empty words; ValueError otherwise."""
    if not isinstance(value, str) or not value or len(value) > MAX_EVENT_TYPE:
        raise ValueError(f"an event type is 1 to {MAX_EVENT_TYPE} characters, got {value!r}")
    if any(
        not part or not part.replace("-", "").replace("_", "").isalnum()
        for part in value.split(".")
    ):
        raise ValueError(
            f"an event type is dotted words of letters, digits, '-' and '_', got {value!r}"
        )
    return value
