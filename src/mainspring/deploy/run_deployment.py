"""`run_deployment(...)`: ask for a run of a deployment from Python, and wait for it (or not).

The run is made by the store (`create_deployment_run`: Scheduled at `scheduled_time`, the
deployment's parameters with these over them, checked against the flow's parameter schema)
and started by a worker of the deployment's pool, or by the `serve()` process serving it.
Called inside a flow, the new run records the calling flow run as its parent, so it is listed
as a subflow run of it. Through a server when MAINSPRING_API_URL is set, else the embedded
store: whichever store this process uses.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from mainspring.engine.context import flow_run_context
from mainspring.exceptions import ObjectNotFound
from mainspring.model.deployments import Deployment
from mainspring.model.runs import FlowRun
from mainspring.store import get_store
from mainspring.store.deployments import DeploymentStore

__all__ = ["run_deployment"]

#: The first wait between two reads of the run's state; it grows to `poll_interval`.
FIRST_POLL = 0.05


def _deployment(store: DeploymentStore, name: str | UUID) -> Deployment:
    text = str(name)
    flow_name, sep, deployment_name = text.partition("/")
    if sep:
        if not flow_name or not deployment_name or "/" in deployment_name:
            raise ValueError(
                f"{text!r} is not a deployment name: use 'flow-name/deployment-name' or its id"
            )
        return store.find_deployment(flow_name, deployment_name)
    try:
        return store.read_deployment(text)
    except ObjectNotFound:
        raise ObjectNotFound(
            f"No deployment with id {text!r} (a name is written 'flow-name/deployment-name')"
        ) from None


def _epoch(when: datetime | float | None) -> float | None:
    if when is None or (isinstance(when, int | float) and not isinstance(when, bool)):
        return None if when is None else float(when)
    if isinstance(when, datetime):
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    raise TypeError(f"scheduled_time must be a datetime or epoch seconds, got {when!r}")


def _seconds(what: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{what} must be a non-negative number of seconds or None, got {value!r}")
    return float(value)


def run_deployment(
    name: str | UUID,
    parameters: dict[str, Any] | None = None,
    *,
    scheduled_time: datetime | float | None = None,
    timeout: float | None = None,
    poll_interval: float = 1.0,
    tags: list[str] | None = None,
    idempotency_key: str | None = None,
    as_subflow: bool = True,
) -> FlowRun:
    """Create a run of deployment `name` ('flow-name/deployment-name' or its id) and return it
    as a `FlowRun`: once it is final (`timeout=None`, the default), at once (`timeout=0`), or
    after `timeout` seconds in whatever state it is then. `scheduled_time` (a datetime, naive
    = UTC; default now) is when it is due. `tags` are added to the deployment's. The same
    `idempotency_key` for the same deployment returns the run made the first time. Inside a
    flow the run is recorded as a subflow run of the calling one (`as_subflow=False`: not).

    Parameters that do not fit the flow's signature are refused before anything is made: a
    TypeError naming the parameter (`ParameterTypeError`; through a server, its 422 message),
    a ValueError for a missing one; `ObjectNotFound` for an unknown deployment."""
    wait = _seconds("timeout", timeout)
    interval = _seconds("poll_interval", poll_interval) or FIRST_POLL
    when = _epoch(scheduled_time)
    if when is not None and not math.isfinite(when):
        raise ValueError(f"scheduled_time must be a finite time, got {scheduled_time!r}")
    store = get_store()
    assert isinstance(store, DeploymentStore), type(store)  # every Store kind is one
    deployment = _deployment(store, name)
    parent = flow_run_context.get() if as_subflow else None
    made = store.create_deployment_run(
        deployment.id,
        parameters,
        when=when,
        tags=tags,
        parent_flow_run_id=parent.flow_run.id if parent is not None else None,
        idempotency_key=idempotency_key,
    )
    run = made.run
    deadline = None if wait is None else time.monotonic() + wait
    pause = FIRST_POLL
    while not run.state.is_final():
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        time.sleep(pause if left is None else min(pause, left))
        pause = min(pause * 2, interval)
        run = store.read_flow_run(run.id)
    return run
