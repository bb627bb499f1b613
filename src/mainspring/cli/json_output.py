"""`--json`: what `ls` and `inspect` print for scripts.

One JSON document on stdout, indented, keys in a fixed order. Field names are stable (they are
the records' own names); times are ISO 8601 strings in UTC (`2026-12-06T12:00:00.123456+00:00`)
or null, so `jq` and every language read them without knowing about epoch seconds. Secrets
never appear: only records without secret fields are printed here.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mainspring.model import FlowRecord, FlowRun, State, TaskRun
    from mainspring.model.deployments import Deployment, Worker, WorkPool, WorkQueue


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC; None stays None."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def print_json(value: Any) -> None:
    """Write `value` as JSON (non-JSON values as their repr, never a crash); an integer past
    the digits Python writes in decimal (10**5000) in the store's tagged form, which has no
    such limit."""
    try:
        text = json.dumps(value, indent=2, default=repr, ensure_ascii=False)
    except ValueError:
        from mainspring.store import json_values

        text = json.dumps(json_values.encode(value), indent=2, default=repr, ensure_ascii=False)
    sys.stdout.write(text + "\n")


def state_json(state: State) -> dict[str, Any]:
    return {
        "type": state.type.value,
        "name": state.name,
        "message": state.message,
        "timestamp": iso(state.ts),
    }


def flow_json(flow: FlowRecord, run_count: int) -> dict[str, Any]:
    return {
        "id": flow.id,
        "name": flow.name,
        "description": flow.description,
        "created": iso(flow.created),
        "run_count": run_count,
    }


def flow_run_json(run: FlowRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "flow_name": run.flow_name,
        "flow_version": run.flow_version,
        "state": state_json(run.state),
        "tags": list(run.tags),
        "parameters": run.parameters,
        "created": iso(run.created),
        "start_time": iso(run.start_time),
        "end_time": iso(run.end_time),
        "run_count": run.run_count,
        "parent_flow_run_id": run.parent_flow_run_id,
        "parent_task_run_id": run.parent_task_run_id,
        "deployment_id": run.deployment_id,
        "entrypoint": run.entrypoint,
    }


def task_run_json(task_run: TaskRun) -> dict[str, Any]:
    return {
        "id": task_run.id,
        "name": task_run.name,
        "state": state_json(task_run.state),
        "start_time": iso(task_run.start_time),
        "end_time": iso(task_run.end_time),
        "run_count": task_run.run_count,
    }


def deployment_json(deployment: Deployment) -> dict[str, Any]:
    from mainspring.model.schedules import schedule_from_dict

    schedules = []
    for form in deployment.schedules:
        schedules.append({**form, "description": schedule_from_dict(form).description})
    return {
        "id": deployment.id,
        "full_name": deployment.full_name,
        "flow_name": deployment.flow_name,
        "name": deployment.name,
        "entrypoint": deployment.entrypoint,
        "description": deployment.description,
        "version": deployment.version,
        "parameters": deployment.parameters,
        "parameter_openapi_schema": deployment.parameter_openapi_schema,
        "tags": list(deployment.tags),
        "schedules": schedules,
        "paused": deployment.paused,
        "catch_up": deployment.catch_up.value,
        "max_lateness": deployment.max_lateness,
        "concurrency_limit": deployment.concurrency_limit,
        "collision_strategy": deployment.collision_strategy.value,
        "work_pool_name": deployment.work_pool_name,
        "work_queue_name": deployment.work_queue_name,
        "retries": deployment.retries,
        "job_variables": deployment.job_variables,
        "created": iso(deployment.created),
        "updated": iso(deployment.updated),
    }


def work_pool_json(
    pool: WorkPool, queues: list[WorkQueue] | None = None, workers: list[Worker] | None = None
) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "name": pool.name,
        "type": pool.type,
        "concurrency_limit": pool.concurrency_limit,
        "paused": pool.paused,
        "description": pool.description,
        "base_job_template": pool.base_job_template,
        "created": iso(pool.created),
    }
    if queues is not None:
        shown["work_queues"] = [
            {
                "name": q.name,
                "priority": q.priority,
                "concurrency_limit": q.concurrency_limit,
                "created": iso(q.created),
            }
            for q in queues
        ]
    if workers is not None:
        shown["workers"] = [
            {"name": w.name, "last_heartbeat": iso(w.last_heartbeat)} for w in workers
        ]
    return shown
