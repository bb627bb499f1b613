"""A batch of changes as `POST /api/batches` takes it: exactly what `Store.write(Batch)` takes."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field

from mainspring.server.schemas.common import (
    BodyTime,
    Count,
    Id,
    Input,
    Json,
    Name,
    Tags,
    Text,
)
from mainspring.server.schemas.states import ResultRefIn, StateIn
from mainspring.store.http.wire import BATCH_ID_PATTERN, MAX_ITEMS


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
    created: BodyTime | None = None


class _RunIn(Input):
    id: Id
    name: Name
    state: StateIn
    tags: Tags = []
    created: BodyTime | None = None
    start_time: BodyTime | None = None
    end_time: BodyTime | None = None
    run_count: Count = 0
    state_result: ResultRefIn | None = Field(None, description="Where `state`'s result is kept.")


class FlowRunIn(_RunIn):
    flow_name: Name
    parameters: Json = {}
    flow_version: Name | None = None
    parent_flow_run_id: Id | None = None
    parent_task_run_id: Id | None = None
    subflow_key: Name | None = None
    deployment_id: Id | None = None
    heartbeat: BodyTime | None = Field(
        None, description="Last sign of life; one later than the server's clock is taken as now."
    )
    host: Name | None = Field(None, description="Host of the process running the flow run.")
    pid: Count | None = Field(None, description="Its process id on that host.")
    process_start: BodyTime | None = Field(None, description="When that process started.")
    entrypoint: Text | None = Field(
        None, description="Where the flow is defined: `path/file.py:qualname` or `module:qualname`."
    )


class TaskRunIn(_RunIn):
    task_name: Name
    task_key: Name
    flow_run_id: Id | None = None
    dynamic_key: Name | None = None
    cache_key: Name | None = None


class StateRecordIn(Input):
    """One row of a run's timeline."""

    run_id: Id
    is_task: bool
    state: StateIn
    result: ResultRefIn | None = Field(None, description="Where the state's result is kept.")


class LogIn(Input):
    flow_run_id: Id | None = None
    task_run_id: Id | None = None
    level: Annotated[int, Field(ge=0, le=100)]
    logger: Name
    message: Text
    timestamp: BodyTime


class EdgeIn(Input):
    flow_run_id: Id | None = None
    task_run_id: Id
    upstream_id: Id
    kind: Literal["data", "wait"] = "data"


_Model = TypeVar("_Model", bound=BaseModel)
_Items = Annotated[list[_Model], Field(max_length=MAX_ITEMS)]


class BatchIn(Input):
    """Changes to store in one transaction, as the recorder gathers them (see `Batch`).

    Runs are snapshots: a run whose id exists has its mutable fields overwritten. No
    orchestration rules apply here; that is what `set_state` is for.
    """

    id: Annotated[str, Field(pattern=BATCH_ID_PATTERN)] | None = Field(
        None,
        description="An idempotency key: a batch whose id the server has stored (in the last "
        "hour at least) is not stored again, so a client that lost the answer can safely retry.",
    )
    flows: _Items[FlowIn] = []
    flow_runs: _Items[FlowRunIn] = []
    task_runs: _Items[TaskRunIn] = []
    states: _Items[StateRecordIn] = []
    logs: _Items[LogIn] = []
    edges: _Items[EdgeIn] = []


class BatchOut(BaseModel):
    written: int = Field(description="How many records were stored (0 for a duplicate).")
    duplicate: bool = Field(
        False, description="The batch's id had been stored before: nothing was stored now."
    )
