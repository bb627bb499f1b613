"""States, flows, runs, logs and graphs as the API shows them (and the state clients propose)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from mainspring.model import (
    FlowRecord,
    FlowRun,
    LogRecord,
    State,
    StateRecord,
    StateType,
    TaskRun,
    TaskRunEdge,
)
from mainspring.model.orchestration import Status
from mainspring.model.runs import to_datetime
from mainspring.server.schemas.common import Input
from mainspring.server.schemas.states import ResultRefOut, StateIn
from mainspring.store.http import wire


# -- states ----------------------------------------------------------------------------------
class StateOut(BaseModel):
    type: StateType
    name: str
    message: str | None
    timestamp: datetime
    result: ResultRefOut | None = Field(None, description="Where its persisted result is kept.")

    @classmethod
    def of(cls, state: State) -> StateOut:
        return cls(**wire.state_json(state))


class SetStateIn(Input):
    state: StateIn
    force: bool = Field(
        False, description="An explicit retry: lets a finished run go back to Scheduled/Pending."
    )


class SetStateOut(BaseModel):
    status: Status
    reason: str
    state: StateOut = Field(description="The run's state after the decision.")


class TimelineEntry(BaseModel):
    id: int | None
    run_id: str
    is_task: bool
    type: StateType
    name: str
    message: str | None
    timestamp: datetime
    result: ResultRefOut | None = None

    @classmethod
    def of(cls, r: StateRecord) -> TimelineEntry:
        return cls(
            id=r.id,
            run_id=r.run_id,
            is_task=r.is_task,
            type=r.type,
            name=r.name,
            message=r.message,
            timestamp=to_datetime(r.ts),  # type: ignore[arg-type]
            result=ResultRefOut.of(r.result),
        )


# -- flows and runs --------------------------------------------------------------------------
class FlowOut(BaseModel):
    id: str
    name: str
    description: str | None
    created: datetime | None

    @classmethod
    def of(cls, f: FlowRecord) -> FlowOut:
        return cls(id=f.id, **wire.flow_json(f))


class FlowRunOut(BaseModel):
    id: str
    name: str
    flow_name: str
    state: StateOut
    parameters: dict[str, Any] = Field(
        description="JSON values; an integer beyond 64 bits, NaN or an infinity as a tagged "
        'value, e.g. {"__mainspring__": "int", "value": "1000000000000000000000"}.'
    )
    tags: list[str]
    flow_version: str | None
    parent_flow_run_id: str | None
    parent_task_run_id: str | None
    subflow_key: str | None = None
    deployment_id: str | None
    created: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    run_count: int
    heartbeat: datetime | None = Field(description="Last heartbeat of the process running it.")
    host: str | None = Field(None, description="Host of the process running (or that ran) it.")
    pid: int | None = Field(None, description="Its process id on that host.")
    process_start: datetime | None = Field(None, description="When that process started.")
    entrypoint: str | None = Field(
        None, description="Where its flow is defined: `path/file.py:qualname` or `module:qualname`."
    )
    total_run_time: float | None = Field(description="Seconds from start to end (or to now).")

    @classmethod
    def of(cls, r: FlowRun) -> FlowRunOut:
        fields = wire.flow_run_json(r)  # the mapping clients decode with, kept in one place
        if not isinstance(fields["parameters"], dict):
            fields["parameters"] = {}
        fields["state"]["result"] = fields.pop("state_result")  # shown inside the state
        return cls(**fields, total_run_time=r.total_run_time)


class FlowRunPage(BaseModel):
    items: list[FlowRunOut]
    count: int = Field(description="How many flow runs match the filter, on all pages.")
    limit: int
    offset: int = Field(description="The offset asked for (0 for a page by cursor).")
    next_cursor: str | None = Field(
        None, description="Pass as `after` for the next page; null on the last page."
    )
    previous_cursor: str | None = Field(
        None, description="Pass as `before` for the previous page; null on the first page."
    )


class TaskRunOut(BaseModel):
    id: str
    name: str
    task_name: str
    task_key: str
    state: StateOut
    flow_run_id: str | None
    dynamic_key: str | None
    tags: list[str]
    cache_key: str | None
    created: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    run_count: int

    @classmethod
    def of(cls, t: TaskRun) -> TaskRunOut:
        fields = wire.task_run_json(t)
        fields["state"]["result"] = fields.pop("state_result")  # shown inside the state
        return cls(**fields)


class LogOut(BaseModel):
    id: int | None
    flow_run_id: str | None
    task_run_id: str | None
    level: int
    logger: str
    message: str
    timestamp: datetime

    @classmethod
    def of(cls, r: LogRecord) -> LogOut:
        return cls(
            id=r.id,
            flow_run_id=r.flow_run_id,
            task_run_id=r.task_run_id,
            level=r.level,
            logger=r.logger,
            message=r.message,
            timestamp=to_datetime(r.ts),  # type: ignore[arg-type]
        )


class GraphNode(BaseModel):
    id: str
    name: str
    task_key: str
    state: StateOut
    start_time: datetime | None
    end_time: datetime | None


class GraphEdge(BaseModel):
    source: str = Field(description="The upstream task run.")
    target: str = Field(description="The task run that consumed or waited for it.")
    kind: str = Field(description="'data' (a result flowed in) or 'wait' (wait_for=).")


class GraphOut(BaseModel):
    """A flow run's graph: its task runs, and the dependencies between them."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]

    @classmethod
    def of(cls, task_runs: list[TaskRun], edges: list[TaskRunEdge]) -> GraphOut:
        nodes = [
            GraphNode(
                id=t.id,
                name=t.name,
                task_key=t.task_key,
                state=StateOut.of(t.state),
                start_time=to_datetime(t.start_time),
                end_time=to_datetime(t.end_time),
            )
            for t in task_runs
        ]
        links = [GraphEdge(source=e.upstream_id, target=e.task_run_id, kind=e.kind) for e in edges]
        return cls(nodes=nodes, edges=links)


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class VersionOut(BaseModel):
    version: str
    api_version: str
