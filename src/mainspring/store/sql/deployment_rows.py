"""Deployment records <-> rows, and the flow_run rows a schedule plan becomes.

Apart from schema.py's run rows because these are written through SQLAlchemy Core with dicts
(tens of rows a tick, not tens of thousands a batch), and the bulk path there stays untouched.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mainspring.model import StateType
from mainspring.model.deployments import (
    DEFAULT_QUEUE,
    Deployment,
    DeploymentRun,
    Worker,
    WorkPool,
    WorkQueue,
)
from mainspring.model.runs import new_id
from mainspring.model.schedules import PlannedRun
from mainspring.model.text import MAX_NAME, storable_json, storable_text
from mainspring.store.sql.rows import (
    flow_run_from_row,
)
from mainspring.store.sql.schema import flow_run


def _seconds(value: float | None) -> float | None:
    return None if value is None else float(value)


def deployment_values(d: Deployment) -> dict[str, Any]:
    """The columns a registration sets (not id, created, updated, scheduled_until)."""
    return {
        "flow_name": d.flow_name,
        "name": d.name,
        "entrypoint": d.entrypoint,
        "parameters": storable_json(d.parameters),
        "parameter_openapi_schema": storable_json(d.parameter_openapi_schema),
        "tags": list(d.tags),
        "description": None if d.description is None else storable_text(d.description),
        "version": d.version,
        "schedules": storable_json(d.schedules),
        "paused": d.paused,
        "catch_up": d.catch_up.value,
        "max_lateness": d.max_lateness,
        "concurrency_limit": d.concurrency_limit,
        "collision_strategy": d.collision_strategy.value,
        "work_pool_name": d.work_pool_name,
        "work_queue_name": d.work_queue_name,
        "retries": d.retries,
        "job_variables": storable_json(d.job_variables),
    }


def deployment_from_row(r: sa.Row[Any]) -> Deployment:
    return Deployment(
        id=r.id,
        flow_name=r.flow_name,
        name=r.name,
        entrypoint=r.entrypoint,
        parameters=r.parameters,
        parameter_openapi_schema=r.parameter_openapi_schema,
        tags=r.tags,
        description=r.description,
        version=r.version,
        schedules=r.schedules,
        paused=r.paused,
        catch_up=r.catch_up,
        max_lateness=_seconds(r.max_lateness),
        concurrency_limit=r.concurrency_limit,
        collision_strategy=r.collision_strategy,
        work_pool_name=r.work_pool_name,
        work_queue_name=r.work_queue_name,
        retries=r.retries,
        job_variables=r.job_variables or {},
        scheduled_until=_seconds(r.scheduled_until),
        created=_seconds(r.created),
        updated=_seconds(r.updated),
    )


def pool_from_row(r: sa.Row[Any]) -> WorkPool:
    return WorkPool(
        name=r.name,
        type=r.type,
        concurrency_limit=r.concurrency_limit,
        paused=r.paused,
        description=r.description,
        created=_seconds(r.created),
        base_job_template=r.base_job_template or {},
    )


def queue_from_row(r: sa.Row[Any]) -> WorkQueue:
    return WorkQueue(
        pool_name=r.pool_name,
        name=r.name,
        priority=r.priority,
        concurrency_limit=r.concurrency_limit,
        created=_seconds(r.created),
    )


def worker_from_row(r: sa.Row[Any]) -> Worker:
    return Worker(pool_name=r.pool_name, name=r.name, last_heartbeat=float(r.last_heartbeat))


def deployment_run_from_row(r: sa.Row[Any]) -> DeploymentRun:
    return DeploymentRun(
        run=flow_run_from_row(r),
        expected_start_time=_seconds(r.expected_start_time),
        work_pool_name=r.work_pool_name,
        work_queue_name=r.work_queue_name,
        claimed_by=r.claimed_by,
        claimed_at=_seconds(r.claimed_at),
    )


def run_name(deployment_name: str, instant: float) -> str:
    """'nightly-20261206-030000': the deployment and the scheduled instant (UTC)."""
    suffix = datetime.fromtimestamp(instant, UTC).strftime("-%Y%m%d-%H%M%S")
    return deployment_name[: MAX_NAME - len(suffix)] + suffix


def planned_run_row(
    d: Deployment | sa.Row[Any], flow_id: str, planned: PlannedRun, now: float
) -> dict[str, Any]:
    """The flow_run row of one planned time: Scheduled, or Skipped with the plan's reason.
    `d` may be the deployment's row as read: a scheduler tick then need not build (and
    re-check every schedule of) a `Deployment` per deployment it plans."""
    skipped = planned.skipped_reason is not None
    return {
        "id": new_id(),
        "name": run_name(d.name, planned.scheduled_time),
        "flow_id": flow_id,
        "flow_name": d.flow_name,
        "flow_version": d.version,
        "parameters": storable_json({**d.parameters, **planned.parameters}),
        "tags": list(d.tags),
        "deployment_id": d.id,
        "state_type": (StateType.CANCELLED if skipped else StateType.SCHEDULED).value,
        "state_name": planned.state_name,
        "state_message": planned.skipped_reason,
        "state_timestamp": now,
        "created": now,
        "sort_time": now,
        "end_time": now if skipped else None,
        "run_count": 0,
        "expected_start_time": planned.scheduled_time,
        "entrypoint": d.entrypoint,
        "work_pool_name": d.work_pool_name,
        "work_queue_name": d.work_queue_name or (DEFAULT_QUEUE if d.work_pool_name else None),
        "auto_scheduled": True,
    }


def made_by_schedules() -> sa.ColumnElement[bool]:
    """A flow_run is one its deployment's schedules planned, not one asked for by hand (NULL:
    a run from before the marker, migration 0014, taken as scheduled)."""
    c = flow_run.c
    return sa.or_(c.auto_scheduled.is_(None), c.auto_scheduled == sa.true())


def requested_run_row(
    d: Deployment,
    flow_id: str,
    parameters: dict[str, Any],
    tags: list[str],
    when: float,
    now: float,
) -> dict[str, Any]:
    """The flow_run row of a run asked for by hand (`create_deployment_run`): Scheduled."""
    planned = PlannedRun(when, 0)
    row = planned_run_row(d, flow_id, planned, now)
    row["parameters"] = storable_json(parameters)
    row["tags"] = list(dict.fromkeys([*d.tags, *tags]))
    row["auto_scheduled"] = False  # pausing the deployment leaves it: it was asked for
    return row


def state_row(run_id: str, type_: str, name: str, message: str | None, ts: float) -> dict[str, Any]:
    """A state_history row for a transition made here (not by a run's own process)."""
    return {
        "run_id": run_id,
        "is_task": False,
        "type": type_,
        "name": name,
        "message": message,
        "timestamp": ts,
    }  # no "result": a JSON column given None would store JSON null, not NULL
