"""What a live run page learns as a flow run goes on: which of its task runs and subflow
runs changed since a cursor, and the few columns it keeps per task run to count them."""

from __future__ import annotations

from dataclasses import dataclass

from mainspring.model.runs import FlowRun, TaskRun
from mainspring.model.states import StateType


@dataclass(slots=True, frozen=True)
class TaskRunMark:
    """A task run as a live page tallies it: its task, state and span (not its payload)."""

    id: str
    task_name: str
    state_type: StateType
    start_time: float | None
    end_time: float | None


@dataclass(slots=True)
class RunChanges:
    """The task runs and subflow runs of a flow run whose state changed after a cursor, as
    they are now; `cursor` is where to read on from, `more` that the read stopped at its
    limit (read again at once)."""

    task_runs: list[TaskRun]
    subflows: list[FlowRun]
    cursor: int
    more: bool
