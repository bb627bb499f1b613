"""Pure types shared by every layer: states, run records, filters. No I/O here."""

from mainspring.model.filters import FlowRunFilter, FlowRunSort
from mainspring.model.runs import (
    FlowRecord,
    FlowRun,
    LogRecord,
    StateRecord,
    TaskRun,
    TaskRunEdge,
    new_id,
)
from mainspring.model.states import STATE_NAMES, TERMINAL_TYPES, State, StateType

__all__ = [
    "STATE_NAMES",
    "TERMINAL_TYPES",
    "FlowRecord",
    "FlowRun",
    "FlowRunFilter",
    "FlowRunSort",
    "LogRecord",
    "State",
    "StateRecord",
    "StateType",
    "TaskRun",
    "TaskRunEdge",
    "new_id",
]
