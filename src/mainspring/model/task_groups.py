"""Summaries of a flow run's task runs, for pages that must not load them all: a run of
10,000 task runs is a few groups (one per task) and a few links between tasks."""

from __future__ import annotations

from dataclasses import dataclass, field

from mainspring.model.states import StateType


@dataclass(slots=True)
class TaskGroup:
    """The task runs of one task within a flow run (a mapped task's many runs, or a task
    called several times)."""

    task_name: str
    count: int
    by_state: dict[StateType, int] = field(default_factory=dict)
    first_created: float | None = None
    first_start: float | None = None
    last_end: float | None = None  # of the finished ones
    unfinished: int = 0  # started and not ended: the group goes on until now


@dataclass(slots=True, frozen=True)
class TaskLink:
    """Task runs of `upstream` fed (or were waited on by) task runs of `downstream`, `count`
    times, through edges of `kind` ("data" or "wait")."""

    upstream: str
    downstream: str
    kind: str
    count: int
