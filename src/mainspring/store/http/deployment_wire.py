"""Deployments, work pools, queues, workers and deployment runs as JSON, both ways.

One mapping for the server (server/schemas/deployments.py builds its answers from it) and for
`ApiStore` (store/http/deployments.py reads them back with it), like wire.py for runs. Times
are epoch seconds (JSON numbers, exact as floats: the scheduler compares them), unlike the run
API's ISO-8601, because these records carry the scheduler's own instants; the run inside a
deployment run keeps the run API's shape (`wire.flow_run_json`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from mainspring.model.deployments import Deployment, DeploymentRun, Worker, WorkPool, WorkQueue
from mainspring.store import json_values
from mainspring.store.http import wire


def deployment_json(d: Deployment) -> dict[str, Any]:
    data = asdict(d)
    data["catch_up"] = d.catch_up.value
    data["collision_strategy"] = d.collision_strategy.value
    data["parameters"] = json_values.encode(d.parameters)
    return data


def deployment_from_json(data: dict[str, Any]) -> Deployment:
    values = dict(data)
    values["parameters"] = json_values.decode(values.get("parameters") or {})
    return Deployment(**values)


def pool_json(p: WorkPool) -> dict[str, Any]:
    return asdict(p)


def pool_from_json(data: dict[str, Any]) -> WorkPool:
    return WorkPool(**data)


def queue_json(q: WorkQueue) -> dict[str, Any]:
    return asdict(q)


def queue_from_json(data: dict[str, Any]) -> WorkQueue:
    return WorkQueue(**data)


def worker_json(w: Worker) -> dict[str, Any]:
    return asdict(w)


def worker_from_json(data: dict[str, Any]) -> Worker:
    return Worker(**data)


def deployment_run_from_json(data: dict[str, Any]) -> DeploymentRun:
    """`DeploymentRunOut`: the run as the run API shows it, and the deployment run's columns."""
    return DeploymentRun(
        run=wire.flow_run_from_json(data["run"]),
        expected_start_time=data["expected_start_time"],
        work_pool_name=data["work_pool_name"],
        work_queue_name=data["work_queue_name"],
        claimed_by=data["claimed_by"],
        claimed_at=data["claimed_at"],
    )
