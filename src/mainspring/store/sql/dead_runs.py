"""Ending the runs whose process is gone, found when a store is opened on the same host.

A flow process killed with SIGKILL (or the OOM killer, or a power cut) cannot record how its
run ended, and without a server nothing would ever notice: the run stayed Running for ever.
Each flow run records its process (store/processes.py), so whoever opens the store next on
that host (the CLI, a new flow run, the server starting) checks the unfinished runs of this
host and ends those whose process is gone:

- Running (or Pending, or waiting to retry) -> Crashed, with the dead pid in the message;
- Cancelling -> Cancelled: a cancel was asked for, and the process will never finish it.

Their task runs that had not finished end the same way. Runs of other hosts are left to the
server's heartbeat-based crash detector (server/services/crash_detector.py).

Cheap enough for every store open: one query on the `state_type` index, which reads only the
unfinished runs, and nothing written unless a run's process is gone. The move is a
compare-and-set on the state and process read, so a retry that has just taken the run over in
another process is left alone.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from mainspring.model import TERMINAL_TYPES, State, StateType
from mainspring.model.states import Cancelled, Crashed
from mainspring.store.processes import describe, process_gone, this_process
from mainspring.store.sql.schema import flow_run, state_history, task_run

logger = logging.getLogger("mainspring.store")

#: States a process holds a flow run in while it runs it (AwaitingRetry is a Scheduled state).
WATCHED = tuple(
    t.value
    for t in (StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.CANCELLING)
)


def end_dead_runs(engine: sa.Engine, backend: Any) -> list[str]:
    """End the unfinished flow runs of this host whose process is gone; return their ids."""
    c = flow_run.c
    query = sa.select(c.id, c.state_type, c.state_timestamp, c.host, c.pid, c.process_start).where(
        c.state_type.in_(WATCHED), c.host == this_process().host, c.pid.is_not(None)
    )
    with engine.connect() as conn:
        rows = [r for r in conn.execute(query) if process_gone(r.host, r.pid, r.process_start)]
    if not rows:
        return []
    ended = []
    with backend.write_transaction(engine) as conn:
        for row in rows:
            state = final_state(row.state_type, row.host, row.pid)
            update = (
                sa.update(flow_run)
                .where(
                    c.id == row.id,
                    c.state_type == row.state_type,
                    c.state_timestamp == row.state_timestamp,
                    c.pid == row.pid,
                )
                .values(_state_values(state))
            )
            if conn.execute(update).rowcount == 1:
                conn.execute(sa.insert(state_history).values(_history(row.id, False, state)))
                end_unfinished_task_runs(conn, row.id, state)
                ended.append(row.id)
                logger.warning("Flow run %s marked %s: %s", row.id, state.name, state.message)
    return ended


def final_state(state_type: str, host: str | None, pid: int | None) -> State:
    """How a run its process left unfinished ends: Cancelled if it was being cancelled."""
    process = describe(host, pid)
    if state_type == StateType.CANCELLING.value:
        return Cancelled(message=f"Cancelled: the {process} that was cancelling it is gone")
    return Crashed(
        message=f"The {process} running this flow run is gone (killed, or it exited without "
        "ending the run)"
    )


def end_unfinished_task_runs(conn: sa.Connection, flow_run_id: str, state: State) -> int:
    """Move the flow run's unfinished task runs to `state` (Crashed or Cancelled: their process
    is gone, they will never finish), in the caller's transaction; return how many."""
    c = task_run.c
    unfinished = sa.and_(
        c.flow_run_id == flow_run_id, c.state_type.not_in([t.value for t in TERMINAL_TYPES])
    )
    ids = [r.id for r in conn.execute(sa.select(c.id).where(unfinished))]
    if ids:
        values = _state_values(state)
        conn.execute(sa.update(task_run).where(unfinished, c.id.in_(ids)).values(values))
        conn.execute(sa.insert(state_history), [_history(id_, True, state) for id_ in ids])
    return len(ids)


def _state_values(state: State) -> dict[str, Any]:
    return {
        "state_type": state.type.value,
        "state_name": state.name,
        "state_message": state.message,
        "state_timestamp": state.ts,
        "state_result": sa.null(),
        "end_time": state.ts,
    }


def _history(run_id: str, is_task: bool, state: State) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "is_task": is_task,
        "type": state.type.value,
        "name": state.name,
        "message": state.message,
        "timestamp": state.ts,
    }
