"""A batch of changes as `POST /api/batches` takes it: exactly what `Store.write(Batch)` takes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from mainspring.model import FlowRecord, FlowRun, LogRecord, StateRecord, TaskRun, TaskRunEdge
from mainspring.server.schemas.common import (
    MAX_ITEMS,
    Count,
    Id,
    Input,
    Json,
    Name,
    Tags,
    Text,
    Time,
    epoch,
)
from mainspring.server.schemas.states import ResultRefIn, StateIn


# -- batches: exactly what `Store.write(Batch)` takes ------------------------------------------
def server_id() -> str:
    """A new flow's id from the OS's randomness: `new_id` draws on the `random` module, which
    a client-controlled process (or a test framework) may have seeded."""
    return str(uuid.uuid4())


class FlowIn(Input):
    """A flow, identified by its name; the server gives a new flow its id (a client-chosen id
    could collide with another flow's and make the batch fail)."""

    name: Name
    description: Text | None = None
    created: Time | None = None

    def to_record(self) -> FlowRecord:
        return FlowRecord(name=self.name, description=self.description, created=epoch(self.created))


class _RunIn(Input):
    id: Id
    name: Name
    state: StateIn
    tags: Tags = []
    created: Time | None = None
    start_time: Time | None = None
    end_time: Time | None = None
    run_count: Count = 0
    state_result: ResultRefIn | None = Field(None, description="Where `state`'s result is kept.")

    def to_state(self) -> Any:
        state = self.state.to_state()
        if self.state_result is not None:
            state.data = self.state_result.to_ref()
        return state


class FlowRunIn(_RunIn):
    flow_name: Name
    parameters: Json = {}
    flow_version: Name | None = None
    parent_flow_run_id: Id | None = None
    parent_task_run_id: Id | None = None
    subflow_key: Name | None = None
    deployment_id: Id | None = None
    heartbeat: Time | None = None

    def to_record(self) -> FlowRun:
        return FlowRun(
            id=self.id,
            name=self.name,
            flow_name=self.flow_name,
            state=self.to_state(),
            parameters=self.parameters,
            tags=self.tags,
            flow_version=self.flow_version,
            parent_flow_run_id=self.parent_flow_run_id,
            parent_task_run_id=self.parent_task_run_id,
            subflow_key=self.subflow_key,
            deployment_id=self.deployment_id,
            created=epoch(self.created),
            start_time=epoch(self.start_time),
            end_time=epoch(self.end_time),
            run_count=self.run_count,
            heartbeat=epoch(self.heartbeat),
        )


class TaskRunIn(_RunIn):
    task_name: Name
    task_key: Name
    flow_run_id: Id | None = None
    dynamic_key: Name | None = None
    cache_key: Name | None = None

    def to_record(self) -> TaskRun:
        return TaskRun(
            id=self.id,
            name=self.name,
            task_name=self.task_name,
            task_key=self.task_key,
            state=self.to_state(),
            flow_run_id=self.flow_run_id,
            dynamic_key=self.dynamic_key,
            tags=self.tags,
            cache_key=self.cache_key,
            created=epoch(self.created),
            start_time=epoch(self.start_time),
            end_time=epoch(self.end_time),
            run_count=self.run_count,
        )


class StateRecordIn(Input):
    """One row of a run's timeline."""

    run_id: Id
    is_task: bool
    state: StateIn
    result: ResultRefIn | None = Field(None, description="Where the state's result is kept.")

    def to_record(self) -> StateRecord:
        s = self.state.to_state()
        result = None if self.result is None else self.result.to_ref()
        return StateRecord(self.run_id, self.is_task, s.type, s.name, s.message, s.ts, None, result)


class LogIn(Input):
    flow_run_id: Id | None = None
    task_run_id: Id | None = None
    level: Annotated[int, Field(ge=0, le=100)]
    logger: Name
    message: Text
    timestamp: Time

    def to_record(self) -> LogRecord:
        return LogRecord(
            self.flow_run_id,
            self.task_run_id,
            self.level,
            self.logger,
            self.message,
            self.timestamp.timestamp(),
        )


class EdgeIn(Input):
    flow_run_id: Id | None = None
    task_run_id: Id
    upstream_id: Id
    kind: Literal["data", "wait"] = "data"

    def to_record(self) -> TaskRunEdge:
        return TaskRunEdge(self.flow_run_id, self.task_run_id, self.upstream_id, self.kind)


def _items(model: type[BaseModel]) -> Any:
    return Annotated[list[model], Field(max_length=MAX_ITEMS)]  # type: ignore[valid-type]


class BatchIn(Input):
    """Changes to store in one transaction, as the recorder gathers them (see `Batch`).

    Runs are snapshots: a run whose id exists has its mutable fields overwritten. No
    orchestration rules apply here; that is what `set_state` is for.
    """

    flows: _items(FlowIn) = []
    flow_runs: _items(FlowRunIn) = []
    task_runs: _items(TaskRunIn) = []
    states: _items(StateRecordIn) = []
    logs: _items(LogIn) = []
    edges: _items(EdgeIn) = []


class BatchOut(BaseModel):
    written: int = Field(description="How many records the batch held.")
