"""Ending a deployment's claimed runs that have not started, when it is paused or deleted.

A worker or serve() claims a run up to MAINSPRING_WORKER_PREFETCH_SECONDS before its time
and starts its process, which waits for the instant before calling the flow. Deleting the
deployment's waiting runs leaves those alone (a worker has them), so a pause in that last
moment used to let them run. Here they end Cancelled, saying why, in the pause's own
transaction; the waiting process reads its run again before calling the flow
(deploy/execute.py) and stops. A run whose flow has begun is Running, so untouched: only
Pending (claimed, not started) moves, as a compare-and-set on that state.
"""

from __future__ import annotations

import sqlalchemy as sa

from mainspring.model import StateType
from mainspring.store.sql.deployment_rows import made_by_schedules, state_row
from mainspring.store.sql.schema import flow_run, state_history

__all__ = ["cancel_claimed_unstarted"]

_PENDING = StateType.PENDING.value
_CANCELLED = StateType.CANCELLED.value


def cancel_claimed_unstarted(
    conn: sa.Connection, deployment_id: str, message: str, now: float, *, scheduled_only: bool
) -> list[str]:
    """End Cancelled (with `message`) the deployment's claimed runs still Pending, inside the
    caller's write transaction (which holds the deployment's row); with `scheduled_only`, only
    those its schedules made (a run asked for by hand is still asked for). Their ids."""
    c = flow_run.c
    where = [
        c.deployment_id == deployment_id,
        c.state_type == _PENDING,
        c.claimed_by.is_not(None),
    ]
    if scheduled_only:
        where.append(made_by_schedules())
    update = (
        sa.update(flow_run)
        .where(*where)
        .values(
            state_type=_CANCELLED,
            state_name="Cancelled",
            state_message=message,
            state_timestamp=now,
            state_result=sa.null(),
            end_time=now,
        )
        .returning(c.id)
    )
    ids = [run_id for (run_id,) in conn.execute(update)]
    if ids:
        rows = [state_row(i, _CANCELLED, "Cancelled", message, now) for i in ids]
        conn.execute(sa.insert(state_history), rows)
    return ids
