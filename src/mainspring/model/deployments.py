"""Deployments, work pools, work queues and workers: pure records, validated when made.

A deployment is a flow registered to run on its own: where its code is (`entrypoint`), with
which parameters, on which schedules, and which work pool's workers run it. The store keys it
by (flow name, deployment name), so registering it again updates it in place and keeps its id.

Schedules are kept in their JSON form (`Schedule.to_dict`, model/schedules/), which is what the
store holds and the API sends; `schedule_objects()` turns them back into schedules for the
planner. Times are epoch seconds, as everywhere in the store.

`DeploymentRun` is a flow run as a scheduler or a worker sees it: the run plus the columns that
only deployment runs have (the scheduled instant, the queue, the claim). It stays apart from
`FlowRun`, which the engine writes in snapshots and the wire carries, so those are unchanged.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mainspring.model.job_variables import check_job_variables
from mainspring.model.runs import FlowRun, new_id
from mainspring.model.schedules import CatchUp, Schedule, schedule_from_dict
from mainspring.model.text import check_name, has_unstorable

__all__ = [
    "DEFAULT_QUEUE",
    "CollisionStrategy",
    "Deployment",
    "DeploymentRun",
    "OverdueRun",
    "WorkPool",
    "WorkQueue",
    "Worker",
]

#: The queue of a pool that runs go to when their deployment names none; every pool has it.
DEFAULT_QUEUE = "default"
#: Work pool types this version runs (Kubernetes comes later); their job variables:
#: model/job_variables.py.
POOL_TYPES = frozenset({"process", "docker", "kubernetes"})


class CollisionStrategy(StrEnum):
    """What a run due while its deployment is at its concurrency limit does."""

    ENQUEUE = "enqueue"  # waits for a slot
    CANCEL_NEW = "cancel_new"  # is cancelled


def _limit(what: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative int or None, got {value!r}")
    return value


def _seconds(what: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number of seconds or None, got {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value!r}")
    return float(value)


def _optional_name(what: str, value: Any) -> None:
    if value is not None:
        check_name(what, value)


@dataclass(slots=True)
class Deployment:
    """A flow registered to run by schedule or on request (module docstring)."""

    flow_name: str
    name: str
    entrypoint: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    #: JSON schema of the flow's parameters (may be empty until the flow is inspected)
    parameter_openapi_schema: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    version: str | None = None
    #: JSON forms of the schedules (`Schedule.to_dict`), each with its `active` flag
    schedules: list[dict[str, Any]] = field(default_factory=list)
    paused: bool = False
    catch_up: CatchUp = CatchUp.LATEST
    #: seconds after its time when a missed run is no longer started; None: no limit
    max_lateness: float | None = None
    concurrency_limit: int | None = None
    collision_strategy: CollisionStrategy = CollisionStrategy.ENQUEUE
    work_pool_name: str | None = None
    work_queue_name: str | None = None
    #: how many times a run that crashed is scheduled again
    retries: int = 0
    #: how its pool's infrastructure runs it (model/job_variables.py; checked by pool type)
    job_variables: dict[str, Any] = field(default_factory=dict)
    #: every schedule time up to here was turned into a run (the scheduler's watermark);
    #: None: nothing scheduled yet (a new or resumed deployment catches nothing up)
    scheduled_until: float | None = None
    id: str = field(default_factory=new_id)
    created: float | None = None
    updated: float | None = None

    def __post_init__(self) -> None:
        check_name("The deployment's flow name", self.flow_name)
        check_name("The deployment name", self.name)
        if "/" in self.name:
            raise ValueError(
                f"The deployment name {self.name!r} contains '/', which separates flow and "
                "deployment in 'flow-name/deployment-name'"
            )
        _optional_name("The deployment's version", self.version)
        _optional_name("The deployment's work pool name", self.work_pool_name)
        _optional_name("The deployment's work queue name", self.work_queue_name)
        if self.entrypoint is not None and (
            not isinstance(self.entrypoint, str)
            or not self.entrypoint
            or has_unstorable(self.entrypoint)
        ):
            raise ValueError(f"The deployment's entrypoint must be text, got {self.entrypoint!r}")
        for what, value in (
            ("parameters", self.parameters),
            ("parameter_openapi_schema", self.parameter_openapi_schema),
        ):
            if not isinstance(value, dict):
                raise TypeError(f"The deployment's {what} must be a dict, got {value!r}")
        if isinstance(self.tags, str) or not isinstance(self.tags, list | tuple):
            raise TypeError(f"The deployment's tags must be a list of str, got {self.tags!r}")
        self.tags = list(self.tags)
        for tag in self.tags:
            check_name(f"A tag of deployment {self.name!r}", tag)
        if not isinstance(self.paused, bool):
            raise TypeError(f"paused must be True or False, got {self.paused!r}")
        try:
            self.catch_up = CatchUp(self.catch_up)
        except ValueError:
            raise ValueError(
                f"unknown catch-up policy {self.catch_up!r}; expected latest, all or none"
            ) from None
        try:
            self.collision_strategy = CollisionStrategy(self.collision_strategy)
        except ValueError:
            raise ValueError(
                f"unknown collision strategy {self.collision_strategy!r}; "
                "expected enqueue or cancel_new"
            ) from None
        self.max_lateness = _seconds("max_lateness", self.max_lateness)
        self.scheduled_until = _seconds("scheduled_until", self.scheduled_until)
        self.concurrency_limit = _limit("concurrency_limit", self.concurrency_limit)
        self.retries = _limit("retries", self.retries) or 0
        if not isinstance(self.job_variables, dict):
            raise TypeError(f"job_variables must be a dict, got {self.job_variables!r}")
        # Each schedule is read (and refused with its reason) now, and kept in canonical form.
        self.schedules = [self._schedule(s).to_dict() for s in self.schedules]

    @staticmethod
    def _schedule(value: Any) -> Schedule:
        return value if isinstance(value, Schedule) else schedule_from_dict(value)

    @property
    def full_name(self) -> str:
        """'flow-name/deployment-name', as `run_deployment` and the CLI name it."""
        return f"{self.flow_name}/{self.name}"

    def schedule_objects(self) -> list[Schedule]:
        """The schedules, for `plan_runs`."""
        return [schedule_from_dict(s) for s in self.schedules]


@dataclass(slots=True)
class WorkPool:
    """Where workers take runs from. `paused`: no run is claimed from it."""

    name: str
    type: str = "process"
    concurrency_limit: int | None = None
    paused: bool = False
    description: str | None = None
    created: float | None = None
    #: defaults of its runs' job variables (model/job_variables.py), e.g. a docker image
    base_job_template: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("The work pool name", self.name)
        if self.type not in POOL_TYPES:
            raise ValueError(
                f"unknown work pool type {self.type!r}; expected one of "
                f"{', '.join(sorted(POOL_TYPES))}"
            )
        self.base_job_template = check_job_variables(
            self.type, self.base_job_template, f"work pool {self.name!r}'s job template"
        )
        self.concurrency_limit = _limit("concurrency_limit", self.concurrency_limit)
        if not isinstance(self.paused, bool):
            raise TypeError(f"paused must be True or False, got {self.paused!r}")


@dataclass(slots=True)
class WorkQueue:
    """A queue of a pool. Lower `priority` is served first (1 before 2)."""

    pool_name: str
    name: str
    priority: int = 1
    concurrency_limit: int | None = None
    created: float | None = None

    def __post_init__(self) -> None:
        check_name("The work pool name", self.pool_name)
        check_name("The work queue name", self.name)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise TypeError(f"priority must be an int, got {self.priority!r}")
        self.concurrency_limit = _limit("concurrency_limit", self.concurrency_limit)


@dataclass(slots=True)
class Worker:
    """A process that claims runs from a pool; `last_heartbeat` says it is alive."""

    pool_name: str
    name: str
    last_heartbeat: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        check_name("The work pool name", self.pool_name)
        check_name("The worker name", self.name)


@dataclass(slots=True)
class DeploymentRun:
    """A flow run of a deployment, with what only such runs have (module docstring)."""

    run: FlowRun
    #: the instant its schedule named (or when it was asked for), epoch seconds
    expected_start_time: float | None
    work_pool_name: str | None = None
    work_queue_name: str | None = None
    #: the worker that claimed it and when; None while it waits
    claimed_by: str | None = None
    claimed_at: float | None = None


@dataclass(frozen=True, slots=True)
class OverdueRun:
    """A run waiting past its time, with what the scheduler needs to decide its fate (Late, or
    Skipped by max_lateness or the catch-up policy): read as one narrow row, not as a whole run
    and deployment, because a catch-up after downtime may look at thousands at once."""

    run_id: str
    deployment_id: str
    state_name: str
    expected_start_time: float
    catch_up: CatchUp
    max_lateness: float | None
