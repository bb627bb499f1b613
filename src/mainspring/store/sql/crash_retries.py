"""A deployment's `retries`: its Crashed runs go back to Scheduled, under the same id.

A run crashes when its process dies (a worker saw its subprocess killed, the crash detector
heard no heartbeat, a store opened on its host found its process gone). Rescheduling that very
run, not a copy, keeps its task runs: the worker that claims it next resumes it (durable
resume: finished task runs with persisted results are not run again). How often it crashed is
counted from its own state history, so the count survives restarts and needs no column.

The run is due again now (its `expected_start_time` moves to now): as a run of its old time it
would count as missed, and a catch-up policy or `max_lateness` would skip it at once.
"""

from __future__ import annotations

import math

import sqlalchemy as sa

from mainspring.model import StateType
from mainspring.store.sql.deployment_rows import state_row
from mainspring.store.sql.schema import deployment, flow_run, state_history

_CRASHED = StateType.CRASHED.value
_SCHEDULED = StateType.SCHEDULED.value


def requeue_crashed(conn: sa.Connection, now: float) -> list[str]:
    """`DeploymentStore.requeue_crashed_runs` inside the caller's write transaction."""
    c, d, h = flow_run.c, deployment.c, state_history.c
    crashes = (
        sa.select(sa.func.count())
        .where(h.run_id == c.id, h.is_task.is_(False), h.type == _CRASHED)
        .scalar_subquery()
    )
    candidates = conn.execute(
        sa.select(c.id, c.deployment_id, crashes.label("crashes"), d.retries)
        .join(deployment, d.id == c.deployment_id)
        .where(c.state_type == _CRASHED, d.retries > 0, crashes <= d.retries)
        .order_by(c.id)
    ).all()
    requeued: list[str] = []
    for run_id, deployment_id, crashed, retries in candidates:
        message = (
            f"Crashed; rescheduled by its deployment's retries ({crashed} of {retries}): "
            "a worker resumes it"
        )
        update = (
            sa.update(flow_run)
            .where(c.id == run_id, c.state_type == _CRASHED)
            .values(
                state_type=_SCHEDULED,
                state_name="Scheduled",
                state_message=message,
                state_timestamp=now,
                expected_start_time=free_instant(conn, deployment_id, now),
                end_time=None,
                claimed_by=None,
                claimed_at=None,
                heartbeat=None,
                host=None,
                pid=None,
                process_start=None,
            )
            .returning(c.id)
        )
        if conn.execute(update).first() is not None:
            conn.execute(
                sa.insert(state_history), [state_row(run_id, _SCHEDULED, "Scheduled", message, now)]
            )
            requeued.append(run_id)
    return requeued


def free_instant(conn: sa.Connection, deployment_id: str, at: float) -> float:
    """`at`, or the next float after it that no run of the deployment has (the unique
    (deployment, expected_start_time) index)."""
    c = flow_run.c
    while conn.execute(
        sa.select(c.id).where(c.deployment_id == deployment_id, c.expected_start_time == at)
    ).first():
        at = math.nextafter(at, math.inf)
    return at
