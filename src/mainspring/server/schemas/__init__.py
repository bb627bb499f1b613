"""Request and response bodies of the REST API, and their conversion from/to model records.

The store holds times as epoch seconds (UTC floats); the API speaks ISO-8601 in UTC, which is
what people and other languages expect to read. Input is validated before it can reach the
database (see `common`), so a bad value is a 422 naming its field, never a driver error.
"""

from mainspring.server.schemas.batches import (
    BatchIn,
    BatchOut,
    EdgeIn,
    FlowIn,
    FlowRunIn,
    LogIn,
    StateRecordIn,
    TaskRunIn,
)
from mainspring.server.schemas.common import ID_PATTERN, check_text
from mainspring.server.schemas.runs import (
    FlowOut,
    FlowRunOut,
    FlowRunPage,
    GraphEdge,
    GraphNode,
    GraphOut,
    HealthOut,
    LogOut,
    SetStateIn,
    SetStateOut,
    StateOut,
    TaskRunOut,
    TimelineEntry,
    VersionOut,
)
from mainspring.server.schemas.states import StateIn

__all__ = [
    "ID_PATTERN",
    "BatchIn",
    "BatchOut",
    "EdgeIn",
    "FlowIn",
    "FlowOut",
    "FlowRunIn",
    "FlowRunOut",
    "FlowRunPage",
    "GraphEdge",
    "GraphNode",
    "GraphOut",
    "HealthOut",
    "LogIn",
    "LogOut",
    "SetStateIn",
    "SetStateOut",
    "StateIn",
    "StateOut",
    "StateRecordIn",
    "TaskRunIn",
    "TaskRunOut",
    "TimelineEntry",
    "VersionOut",
    "check_text",
]
