"""ApiDeployments: the DeploymentStore protocol over the server's /api routes, mixed into
ApiStore (server/api/deployments.py and work_pools.py are the other end).

Errors as with SqlStore: an unknown deployment or pool is `ObjectNotFound` (the server's 404
names it), a refused argument (a 422: a parameter that does not fit the flow's schema; a 409:
a pool or queue that exists) is `ArgumentRefused`, a ValueError and TypeError as SqlStore's
would be, and a StoreRejected as other refusals over HTTP are. `now` arguments are not sent:
the server's clock decides, as it does for every client. `schedule_runs`,
`release_stale_claims` and `next_run_due` are the server's own (its scheduler, claim timeout
and long poll) and raise `NeedsDatabase`.

A claim with `wait` is a long poll: the server holds the request until a run is claimable or
the wait (at most `MAX_WAIT` a request; longer waits are several requests) runs out, so the
read timeout of that request is the wait plus a margin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from mainspring.exceptions import ObjectNotFound, StoreRejected
from mainspring.model.deployments import (
    Deployment,
    DeploymentRun,
    OverdueRun,
    Worker,
    WorkPool,
    WorkQueue,
)
from mainspring.model.schedules import Plan
from mainspring.model.states import STATE_NAMES, State
from mainspring.store import json_values
from mainspring.store.deployments import DeploymentStore
from mainspring.store.http.answers import detail as _detail
from mainspring.store.http.deployment_wire import (
    deployment_from_json,
    deployment_json,
    deployment_run_from_json,
    pool_from_json,
    pool_json,
    queue_from_json,
    worker_from_json,
)
from mainspring.store.http.queries import is_run_id as _ID
from mainspring.store.http.queries import path_segment as _p
from mainspring.store.http.server_calls import ServerCalls

#: The server's cap on one claim's wait (ClaimIn.wait); a longer wait is several requests.
MAX_WAIT = 30.0
#: Read timeout beyond the wait: the server answers a little after it, and may be busy.
WAIT_MARGIN = 30.0


class ArgumentRefused(StoreRejected, ValueError, TypeError):
    """The server refused an argument (422) or found its name taken (409); the message is
    the server's, naming what is wrong."""


def _valid_id(value: str) -> bool:
    return isinstance(value, str) and _ID(value) is not None


class ApiDeployments(DeploymentStore, ServerCalls):
    """The DeploymentStore half of ApiStore (module docstring); needs its `_request`."""

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Any = None,
        missing: Any = ...,
        timeout: httpx.Timeout | None = None,
        retry: bool = True,
    ) -> Any:
        """One request; its JSON answer (None for 204). A 404 naming the object is
        `ObjectNotFound` (or `missing` when given); a 409 or 422 `ArgumentRefused`."""
        content = None if body is None else orjson.dumps(body)
        response = self._request(
            method, path, params=params, content=content, timeout=timeout, retry=retry
        )
        status = response.status_code
        if status in (200, 201):
            return orjson.loads(response.content)
        if status == 204:
            return None
        detail = _detail(response)
        if status == 404 and detail != "Not Found":  # "Not Found": no such route
            if missing is not ...:
                return missing
            raise ObjectNotFound(detail)
        if status in (409, 422):
            raise ArgumentRefused(detail)
        self._fail(response)

    # -- deployments -------------------------------------------------------------------------
    def upsert_deployment(self, deployment: Deployment, now: float | None = None) -> Deployment:
        body = deployment_json(deployment)
        for owned in ("created", "updated", "scheduled_until"):
            del body[owned]
        return deployment_from_json(self._call("POST", "/deployments", body))

    def read_deployment(self, deployment_id: str) -> Deployment:
        if not _valid_id(deployment_id):
            raise ObjectNotFound(f"No deployment with id {deployment_id!r}")
        return deployment_from_json(self._call("GET", f"/deployments/{_p(deployment_id)}"))

    def find_deployment(self, flow_name: str, name: str) -> Deployment:
        params = {"flow_name": flow_name, "name": name}
        found = self._call("GET", "/deployments/by_name", params=params)
        return deployment_from_json(found)

    def read_deployments(self, flow_name: str | None = None) -> list[Deployment]:
        params = None if flow_name is None else {"flow_name": flow_name}
        return [deployment_from_json(d) for d in self._call("GET", "/deployments", params=params)]

    def delete_deployment(self, deployment_id: str) -> None:
        if not _valid_id(deployment_id):
            raise ObjectNotFound(f"No deployment with id {deployment_id!r}")
        self._call("DELETE", f"/deployments/{_p(deployment_id)}")

    def set_deployment_paused(
        self, deployment_id: str, paused: bool, now: float | None = None
    ) -> Deployment:
        if not isinstance(paused, bool):
            raise TypeError(f"paused must be True or False, got {paused!r}")
        if not _valid_id(deployment_id):
            raise ObjectNotFound(f"No deployment with id {deployment_id!r}")
        action = "pause" if paused else "resume"
        return deployment_from_json(
            self._call("POST", f"/deployments/{_p(deployment_id)}/{action}", {})
        )

    # -- scheduling --------------------------------------------------------------------------
    def schedule_runs(self, deployment_id: str, plan: Plan, now: float | None = None) -> int:
        self._needs_database("Scheduling runs (the server's scheduler does it)")

    def schedule_plans(self, plans: Sequence[tuple[str, Plan]], now: float | None = None) -> int:
        self._needs_database("Scheduling runs (the server's scheduler does it)")

    def move_waiting_runs(self, moves: Sequence[tuple[str, State]]) -> list[str]:
        self._needs_database("Marking runs Late or Skipped (the server's scheduler does it)")

    def create_deployment_run(
        self,
        deployment_id: str,
        parameters: dict[str, Any] | None = None,
        *,
        when: float | None = None,
        tags: Sequence[str] | None = None,
        now: float | None = None,
        parent_flow_run_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> DeploymentRun:
        if not _valid_id(deployment_id):
            raise ObjectNotFound(f"No deployment with id {deployment_id!r}")
        if parameters is not None and not isinstance(parameters, dict):
            raise TypeError(f"parameters must be a dict, got {parameters!r}")
        body = {
            "parameters": None if parameters is None else json_values.encode(parameters),
            "when": when,
            "tags": None if tags is None else list(tags),
            "parent_flow_run_id": parent_flow_run_id,
            "idempotency_key": idempotency_key,
        }
        # Not retried on a dropped connection (the first attempt may have made the run),
        # unless an idempotency key makes asking again return that run
        path = f"/deployments/{_p(deployment_id)}/runs"
        made = self._call("POST", path, body, retry=idempotency_key is not None)
        return deployment_run_from_json(made)

    def read_deployment_runs(
        self, deployment_id: str, states: Sequence[str] | None = None
    ) -> list[DeploymentRun]:
        if not _valid_id(deployment_id):
            return []
        params: list[tuple[str, str]] = []
        if states is not None:
            params = [("state", s) for s in states if s in STATE_NAMES]
            if not params:  # none a state can have
                return []
        path = f"/deployments/{_p(deployment_id)}/runs"
        found = self._call("GET", path, params=params, missing=[])
        return [deployment_run_from_json(r) for r in found]

    # -- work pools, queues, workers ---------------------------------------------------------
    def create_work_pool(self, pool: WorkPool, now: float | None = None) -> WorkPool:
        body = pool_json(pool)
        del body["created"]
        return pool_from_json(self._call("POST", "/work_pools", body))

    def read_work_pool(self, name: str) -> WorkPool:
        return pool_from_json(self._call("GET", f"/work_pools/{_p(name)}"))

    def read_work_pools(self) -> list[WorkPool]:
        return [pool_from_json(p) for p in self._call("GET", "/work_pools")]

    def create_work_queue(self, queue: WorkQueue, now: float | None = None) -> WorkQueue:
        body = {
            "name": queue.name,
            "priority": queue.priority,
            "concurrency_limit": queue.concurrency_limit,
        }
        path = f"/work_pools/{_p(queue.pool_name)}/queues"
        return queue_from_json(self._call("POST", path, body))

    def read_work_queues(self, pool_name: str) -> list[WorkQueue]:
        found = self._call("GET", f"/work_pools/{_p(pool_name)}/queues", missing=[])
        return [queue_from_json(q) for q in found]

    def worker_heartbeat(self, pool_name: str, name: str, now: float | None = None) -> Worker:
        path = f"/work_pools/{_p(pool_name)}/workers/heartbeat"
        return worker_from_json(self._call("POST", path, {"name": name}))

    def read_workers(self, pool_name: str) -> list[Worker]:
        found = self._call("GET", f"/work_pools/{_p(pool_name)}/workers", missing=[])
        return [worker_from_json(w) for w in found]

    # -- claiming ----------------------------------------------------------------------------
    def claim_runs(
        self,
        pool_name: str,
        queues: Sequence[str] | None,
        worker: str,
        limit: int,
        now: float | None = None,
        *,
        wait: float = 0.0,
        ahead: float = 0.0,
    ) -> list[DeploymentRun]:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a non-negative int, got {limit!r}")
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
            raise ValueError(f"wait must be a non-negative number of seconds, got {wait!r}")
        path = f"/work_pools/{_p(pool_name)}/claim"
        left = float(wait)
        while True:
            part = min(left, MAX_WAIT)
            body = {
                "worker": worker,
                "queues": None if queues is None else list(queues),
                "limit": limit,
                "wait": part,
                "ahead": ahead,
            }
            timeout = httpx.Timeout(part + WAIT_MARGIN, connect=5.0)
            runs = self._call("POST", path, body, timeout=timeout)
            left -= part
            if runs or left <= 0:
                return [deployment_run_from_json(r) for r in runs]

    def next_run_due(self, pool_name: str, queues: Sequence[str] | None = None) -> float | None:
        self._needs_database("Finding the next run due (the server's long poll does it)")

    def release_stale_claims(self, older_than: float) -> int:
        self._needs_database("Releasing stale claims (the server's claim timeout)")

    def start_claimed_run(self, run_id: str, worker: str, now: float | None = None) -> bool:
        if not _valid_id(run_id):
            return False
        path = f"/work_pools/claims/{_p(run_id)}/start"
        return bool(self._call("POST", path, {"worker": worker})["started"])

    def requeue_crashed_runs(self, now: float | None = None) -> list[str]:
        self._needs_database("Rescheduling crashed runs (the server's scheduler)")

    def read_deployments_to_schedule(
        self, ahead_until: float, limit: int | None = None
    ) -> list[Deployment]:
        self._needs_database("Finding the deployments to schedule (the server's scheduler)")

    def find_overdue_runs(
        self, now: float, late_after: float, limit: int | None = None
    ) -> list[OverdueRun]:
        self._needs_database("Finding overdue runs (the server's scheduler)")


__all__ = ["ApiDeployments", "ArgumentRefused"]
