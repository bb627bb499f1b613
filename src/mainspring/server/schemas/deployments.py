"""Deployments, work pools, queues, workers and claims as the API takes and shows them.

Validated before anything reaches the store: names, text and JSON as everywhere (common.py),
schedules by the model itself (`schedule_from_dict`: a bad cron or time zone is a 422 naming
`schedules`), and what only the record checks (a '/' in a deployment name, ...) by making the
record (`to_record`), whose error the route answers as a 422. Answers carry epoch seconds
(store/http/deployment_wire.py says why).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import jsonschema
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from mainspring.model.deployments import Deployment, DeploymentRun, Worker, WorkPool, WorkQueue
from mainspring.model.schedules import schedule_from_dict
from mainspring.server.schemas.common import (
    NO_NUL,
    BodyTime,
    Id,
    Input,
    Json,
    Name,
    Tags,
    Text,
    check_text,
)
from mainspring.server.schemas.runs import FlowRunOut
from mainspring.store import json_values
from mainspring.store.http import deployment_wire
from mainspring.store.http.wire import INT32, MAX_NAME, MAX_TEXT

#: Schedules a deployment may have; claim sizes and waits a request may ask for.
MAX_SCHEDULES = 100
MAX_CLAIM = 1000
#: Longest a claim waits for a run (seconds): below every proxy's idle timeout.
MAX_WAIT = 30.0
#: the furthest ahead of its time a worker may claim a run (its prefetch)
MAX_AHEAD = 300.0


def _schedule(value: dict[str, Any]) -> dict[str, Any]:
    try:
        return schedule_from_dict(value).to_dict()
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"invalid schedule: {exc}") from None


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number of seconds")
    return value


def _json_schema(value: dict[str, Any]) -> dict[str, Any]:
    if value:
        try:
            jsonschema.Draft202012Validator.check_schema(value)
        except jsonschema.exceptions.SchemaError as exc:
            raise ValueError(f"not a valid JSON schema: {exc.message}") from None
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValueError(f"not a usable JSON schema: {exc}") from None
    return value


DeploymentName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_NAME,
        pattern=r"^[^/\x00]*$",
        description="Without '/' (which separates flow and deployment names).",
    ),
    AfterValidator(check_text),
]
Entrypoint = Annotated[
    str,
    Field(min_length=1, max_length=MAX_TEXT, pattern=NO_NUL),
    AfterValidator(check_text),
    Field(description="Where the flow is: `path/file.py:flow_fn` or `module:flow_fn`."),
]
ScheduleJson = Annotated[
    dict[str, Any],
    AfterValidator(_schedule),
    Field(
        description='A schedule: {"kind": "cron", "cron": "0 3 * * *", "timezone": '
        '"America/New_York"}, {"kind": "interval", "interval": 3600}, or {"kind": "rrule", '
        '"rrule": "FREQ=DAILY"}; each with an optional "active" and "parameters".'
    ),
]
Seconds = Annotated[float, Field(ge=0, le=10**9), AfterValidator(_finite)]


def _integral(value: Any) -> Any:
    """An integer as JSON Schema means it: 3 and 3.0, not `true` (strict mode does the rest)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integer = Annotated[int, BeforeValidator(_integral)]
Limit = Annotated[int, Field(ge=0, le=INT32), BeforeValidator(_integral)]


class StrictInput(Input):
    """JSON types as documented: `false` is not an int, "1" not a number (pydantic's lax mode
    would take them, yet the OpenAPI document says otherwise)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class EmptyIn(StrictInput):
    """`{}`: the body of a write that needs no data. Sent as JSON all the same, as every write
    to this API (the request guard's rule against cross-site requests, server/guard.py)."""


class DeploymentIn(StrictInput):
    """A deployment to register, or to update in place when its (flow_name, name) exists."""

    flow_name: Name
    name: DeploymentName
    id: Id | None = Field(None, description="A new deployment's id; default: a new one.")
    entrypoint: Entrypoint | None = None
    parameters: Json = Field(default_factory=dict)
    parameter_openapi_schema: Annotated[Json, AfterValidator(_json_schema)] = Field(
        default_factory=dict, description="JSON schema of the flow's parameters; {}: any."
    )
    tags: Tags = Field(default_factory=list)
    description: Text | None = None
    version: Name | None = None
    schedules: Annotated[list[ScheduleJson], Field(max_length=MAX_SCHEDULES)] = Field(
        default_factory=list
    )
    paused: bool = False
    catch_up: Literal["latest", "all", "none"] = "latest"
    max_lateness: Seconds | None = None
    concurrency_limit: Limit | None = None
    collision_strategy: Literal["enqueue", "cancel_new"] = "enqueue"
    work_pool_name: Name | None = None
    work_queue_name: Name | None = None
    retries: Limit = 0
    job_variables: Json = Field(
        default_factory=dict,
        description="How its pool's infrastructure runs it (docker: image...).",
    )

    def to_record(self) -> Deployment:
        """The record; ValueError/TypeError for what only it checks."""
        values = self.model_dump(exclude_none=False)
        if values["id"] is None:
            del values["id"]
        values["parameters"] = json_values.decode(values["parameters"])
        return Deployment(**values)


class DeploymentOut(BaseModel):
    id: str
    flow_name: str
    name: str
    entrypoint: str | None
    parameters: dict[str, Any]
    parameter_openapi_schema: dict[str, Any]
    tags: list[str]
    description: str | None
    version: str | None
    schedules: list[dict[str, Any]]
    paused: bool
    catch_up: str
    max_lateness: float | None
    concurrency_limit: int | None
    collision_strategy: str
    work_pool_name: str | None
    work_queue_name: str | None
    retries: int
    job_variables: dict[str, Any]
    scheduled_until: float | None = Field(
        description="Epoch seconds: every schedule time up to here has its run."
    )
    created: float | None = Field(description="Epoch seconds.")
    updated: float | None = Field(description="Epoch seconds.")

    @classmethod
    def of(cls, d: Deployment) -> DeploymentOut:
        return cls(**deployment_wire.deployment_json(d))


class DeploymentRunIn(StrictInput):
    """A run asked for by hand: the deployment's parameters with these over them."""

    def decoded_parameters(self) -> dict[str, Any] | None:
        return None if self.parameters is None else json_values.decode(self.parameters)

    parameters: Json | None = None
    when: BodyTime | None = Field(None, description="When it is due; default: now.")
    tags: Tags | None = Field(None, description="Added to the deployment's tags.")
    parent_flow_run_id: Id | None = Field(
        None, description="The flow run asking for it (run_deployment in a flow): its parent."
    )
    idempotency_key: Name | None = Field(
        None, description="Asked again with this key: the run made the first time is returned."
    )


class DeploymentRunOut(BaseModel):
    run: FlowRunOut
    expected_start_time: float | None = Field(description="Epoch seconds: when it is due.")
    work_pool_name: str | None
    work_queue_name: str | None
    claimed_by: str | None = Field(description="The worker that claimed it.")
    claimed_at: float | None = Field(description="Epoch seconds.")

    @classmethod
    def of(cls, r: DeploymentRun) -> DeploymentRunOut:
        return cls(
            run=FlowRunOut.of(r.run),
            expected_start_time=r.expected_start_time,
            work_pool_name=r.work_pool_name,
            work_queue_name=r.work_queue_name,
            claimed_by=r.claimed_by,
            claimed_at=r.claimed_at,
        )


class WorkPoolIn(StrictInput):
    name: Name
    type: Literal["process", "docker"] = "process"
    concurrency_limit: Limit | None = None
    paused: bool = False
    description: Text | None = None
    base_job_template: Json = Field(
        default_factory=dict, description="Defaults of its runs' job variables."
    )

    def to_record(self) -> WorkPool:
        return WorkPool(**self.model_dump())


class WorkPoolOut(BaseModel):
    name: str
    type: str
    concurrency_limit: int | None
    paused: bool
    description: str | None
    created: float | None = Field(description="Epoch seconds.")
    base_job_template: dict[str, Any]

    @classmethod
    def of(cls, p: WorkPool) -> WorkPoolOut:
        return cls(**deployment_wire.pool_json(p))


class WorkQueueIn(StrictInput):
    name: Name
    priority: Integer = Field(1, ge=-(2**31), le=2**31 - 1, description="Lower is served first.")
    concurrency_limit: Limit | None = None

    def to_record(self, pool_name: str) -> WorkQueue:
        return WorkQueue(pool_name=pool_name, **self.model_dump())


class WorkQueueOut(BaseModel):
    pool_name: str
    name: str
    priority: int
    concurrency_limit: int | None
    created: float | None = Field(description="Epoch seconds.")

    @classmethod
    def of(cls, q: WorkQueue) -> WorkQueueOut:
        return cls(**deployment_wire.queue_json(q))


class HeartbeatIn(StrictInput):
    name: Name = Field(description="The worker's name.")


class StartClaimIn(StrictInput):
    worker: Name = Field(description="The worker that claimed the run.")


class StartClaimOut(BaseModel):
    started: bool = Field(
        description="True: the claim is still the worker's, and now taken up; false: it was "
        "released (and maybe claimed by another worker): do not start the run."
    )


class WorkerOut(BaseModel):
    pool_name: str
    name: str
    last_heartbeat: float = Field(description="Epoch seconds.")

    @classmethod
    def of(cls, w: Worker) -> WorkerOut:
        return cls(**deployment_wire.worker_json(w))


class ClaimIn(StrictInput):
    worker: Name = Field(description="The claiming worker's name.")
    queues: Annotated[list[Name], Field(max_length=1000)] | None = Field(
        None, description="Take from these queues only; default: all of the pool's."
    )
    limit: Integer = Field(1, ge=0, le=MAX_CLAIM, description="Most runs to claim.")
    wait: float = Field(
        0,
        ge=0,
        le=MAX_WAIT,
        description="Seconds to wait for a run when none is due: the answer comes as soon "
        "as one is (a long poll).",
    )
    ahead: float = Field(
        0,
        ge=0,
        le=MAX_AHEAD,
        description="Also claim runs due within this many seconds (a worker's prefetch): the "
        "worker starts their process at once and each run waits for its scheduled time.",
    )
