"""Firings: an automation's trigger matched, and the actions that follow, each recorded first.

The outbox of automations: a firing is stored (unique per automation and trigger key, so a
match seen twice, or again after a restart, is one firing) with one `ActionRun` per action,
before any action is attempted. The automations service then runs each action, marks it done
or schedules another attempt, so every action runs once per firing even when the server stops
in between (store/events.py, server/services/automations.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ActionStatus(StrEnum):
    PENDING = "pending"  # not yet done: due at `next_attempt`
    DONE = "done"
    FAILED = "failed"  # gave up after the last attempt, or the action cannot be done


@dataclass(slots=True)
class NewFiring:
    """A match the automations service found: what it records (see module docstring)."""

    automation_id: str
    key: str  # the event's id, or what else makes the match unique ("late:<run id>")
    occurred: float
    context: dict[str, Any]  # what templates see: flow_run, event, automation
    actions: list[dict[str, Any]]


@dataclass(slots=True)
class NewCheck:
    """A match whose answer comes later: at `due`, does the run still qualify?
    `kind`: 'stays' (still in the state it entered at `state_ts`) or 'not-completed'."""

    automation_id: str
    key: str
    flow_run_id: str
    kind: str
    due: float
    state_name: str | None
    state_ts: float | None
    context: dict[str, Any]


@dataclass(slots=True)
class Check(NewCheck):
    id: int = 0


@dataclass(slots=True)
class ActionRun:
    firing_id: int
    index: int
    action: dict[str, Any]
    status: ActionStatus
    attempts: int
    next_attempt: float | None
    last_error: str | None = None
    finished: float | None = None
    #: the firing's, for running it: what templates see, and whose action it is
    context: dict[str, Any] = field(default_factory=dict)
    automation_id: str = ""


@dataclass(slots=True)
class Firing:
    id: int
    automation_id: str
    key: str
    occurred: float
    fired: float
    context: dict[str, Any]
    actions: list[ActionRun] = field(default_factory=list)
