"""A run of a deployment asked for by hand (`DeploymentStore.create_deployment_run`).

Apart from store/sql/deployments.py (which schedules runs by plan) because of the one thing
it does differently: its instant is not a schedule time, yet the unique (deployment,
expected_start_time) index covers it, so a taken instant moves it a float step later instead
of refusing it (the protocol's docstring says why that index stays as it is).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mainspring.exceptions import StoreError
from mainspring.model.deployments import Deployment, DeploymentRun
from mainspring.model.run_parameters import run_parameters
from mainspring.model.text import check_name, has_unstorable
from mainspring.store.sql.deployment_rows import (
    deployment_run_from_row,
    requested_run_row,
    state_row,
)
from mainspring.store.sql.schema import flow_run, state_history

#: Instants tried when the one asked for is taken (each a float step later).
TRIES = 100


def run_instant(when: Any, now: float) -> float:
    """`when` as epoch seconds (checked), `now` when None."""
    if when is None:
        return now
    if isinstance(when, bool) or not isinstance(when, int | float) or not math.isfinite(when):
        raise ValueError(f"when must be a finite time in epoch seconds, got {when!r}")
    return float(when)


def run_tags(tags: Sequence[str] | None) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str) or not isinstance(tags, Sequence):
        raise TypeError(f"tags must be a list of str, got {tags!r}")
    for tag in tags:
        check_name("A run's tag", tag)
    return list(tags)


@dataclass(frozen=True)
class RunOrigin:
    """Who asked for the run (its parent flow run) and, with an idempotency key, its id."""

    parent_flow_run_id: str | None = None
    run_id: str | None = None

    @classmethod
    def of(cls, deployment_id: str, parent: str | None, key: str | None) -> RunOrigin:
        if parent is not None and (
            not isinstance(parent, str) or not 0 < len(parent) <= 36 or has_unstorable(parent)
        ):
            raise ValueError(f"parent_flow_run_id must be a flow run id, got {parent!r}")
        if key is None:
            return cls(parent)
        if not isinstance(key, str) or not key or has_unstorable(key):
            raise ValueError(f"idempotency_key must be non-empty text, got {key!r}")
        # a UUID derived from (deployment, key): asking twice names the same run
        return cls(parent, str(uuid.uuid5(uuid.NAMESPACE_URL, f"{deployment_id}\n{key}")))


def insert_requested_run(
    conn: sa.Connection,
    backend: Any,
    record: Deployment,
    flow_id: str,
    parameters: dict[str, Any] | None,
    instant: float,
    tags: list[str],
    now: float,
    origin: RunOrigin | None = None,
) -> DeploymentRun:
    """Insert the run inside the caller's write transaction (which locks `record`'s row)."""
    merged = run_parameters(
        record.flow_name, record.parameters, record.parameter_openapi_schema, parameters
    )
    for _ in range(TRIES):
        values = requested_run_row(record, flow_id, merged, tags, instant, now)
        if origin is not None:
            values["parent_flow_run_id"] = origin.parent_flow_run_id
            if origin.run_id is not None:
                values["id"] = origin.run_id
        insert = (
            backend.insert(flow_run)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["deployment_id", "expected_start_time"])
            .returning(flow_run.c.id)
        )
        if conn.execute(insert).first() is not None:
            break
        instant = math.nextafter(instant, math.inf)
    else:
        raise StoreError(f"No free instant near {instant} for a run of {record.full_name}")
    conn.execute(
        sa.insert(state_history),
        [state_row(values["id"], values["state_type"], values["state_name"], None, now)],
    )
    made = conn.execute(sa.select(flow_run).where(flow_run.c.id == values["id"])).one()
    return deployment_run_from_row(made)
