"""A batch's body (`POST /api/batches`) as msgspec shapes: what the client encodes and the
server decodes, in C at a few microseconds a record.

These mirror the documented schema (`server/schemas/batches.py`, pydantic, which also makes
the OpenAPI document and validates what these refuse): the same fields, lengths and ranges.
What msgspec cannot say (no NUL in text, ids of id characters, a state's name belonging to its
type, a result key staying inside its storage) is checked by the decoder (store/http/wire_batch.py)
while it builds the records. `omit_defaults`: a field at its default is left out of the body,
and the schema's defaults are the same, so the body is shorter for nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from msgspec import Meta, Struct

from mainspring.store.http.wire import (
    INT32,
    MAX_ITEMS,
    MAX_KEY,
    MAX_NAME,
    MAX_STORAGE,
    MAX_TAGS,
    MAX_TEXT,
    MAX_TIME,
    MIN_TIME,
)

# Lengths and ranges as the schema's (server/schemas/common.py); a NUL in text and the
# characters of an id are checked while building the records.
_Id = Annotated[str, Meta(min_length=1, max_length=36)]
_Name = Annotated[str, Meta(min_length=1, max_length=MAX_NAME)]
_Text = Annotated[str, Meta(max_length=MAX_TEXT)]
_Time = Annotated[float, Meta(ge=MIN_TIME, le=MAX_TIME)]
_Count = Annotated[int, Meta(ge=0, le=INT32)]
_Tags = Annotated[list[_Name], Meta(max_length=MAX_TAGS)]


class Shape(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class StateWire(Shape):
    type: str
    name: str | None = None
    message: _Text | None = None
    timestamp: _Time | None = None


class ResultWire(Shape):
    storage: Annotated[str, Meta(min_length=1, max_length=MAX_STORAGE)]
    key: Annotated[str, Meta(min_length=1, max_length=MAX_KEY)]
    serializer: _Name | None = None


class FlowWire(Shape):
    name: _Name
    description: _Text | None = None
    created: _Time | None = None


class RunWire(Shape, kw_only=True):
    id: _Id
    name: _Name
    state: StateWire
    tags: _Tags = []
    created: _Time | None = None
    start_time: _Time | None = None
    end_time: _Time | None = None
    run_count: _Count = 0
    state_result: ResultWire | None = None


class FlowRunWire(RunWire, kw_only=True):
    flow_name: _Name
    parameters: dict[str, Any] = {}
    flow_version: _Name | None = None
    parent_flow_run_id: _Id | None = None
    parent_task_run_id: _Id | None = None
    subflow_key: _Name | None = None
    deployment_id: _Id | None = None
    heartbeat: _Time | None = None
    host: _Name | None = None
    pid: _Count | None = None
    process_start: _Time | None = None
    entrypoint: _Text | None = None


class TaskRunWire(RunWire, kw_only=True):
    task_name: _Name
    task_key: _Name
    flow_run_id: _Id | None = None
    dynamic_key: _Name | None = None
    cache_key: _Name | None = None


class StateRecordWire(Shape):
    run_id: _Id
    is_task: bool
    state: StateWire
    result: ResultWire | None = None


class LogWire(Shape):
    level: Annotated[int, Meta(ge=0, le=100)]
    logger: _Name
    message: _Text
    timestamp: _Time
    flow_run_id: _Id | None = None
    task_run_id: _Id | None = None


class EdgeWire(Shape):
    task_run_id: _Id
    upstream_id: _Id
    flow_run_id: _Id | None = None
    kind: str = "data"


_Shape = TypeVar("_Shape", bound=Shape)
_Items = Annotated[list[_Shape], Meta(max_length=MAX_ITEMS)]


class BatchWire(Shape):
    id: str | None = None
    flows: _Items[FlowWire] = []
    flow_runs: _Items[FlowRunWire] = []
    task_runs: _Items[TaskRunWire] = []
    states: _Items[StateRecordWire] = []
    logs: _Items[LogWire] = []
    edges: _Items[EdgeWire] = []
