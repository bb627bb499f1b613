"""`Store.set_state` on SQL: decide, then compare-and-set, atomically.

The store reads a run's current state, asks the pure rules (model.orchestration) whether the
proposed state may follow it, and writes it with an UPDATE whose WHERE clause repeats the state
it read (type, name and timestamp). If another client changed the run in between, the UPDATE
matches no row, nothing is written, and the decision is taken again on the new state. The run
row and its timeline row are written in one transaction, so a client that loses a race leaves
no trace. On PostgreSQL (READ COMMITTED) a concurrent UPDATE of the same row waits for the first
to commit and then re-checks the WHERE clause on the new row; on SQLite the write transaction
takes the database's write lock up front (BEGIN IMMEDIATE), so the check and the write cannot
interleave with another writer at all.

The crash detector's move (`crash_silent`) is the same compare-and-set with one more
condition: the run is still silent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa

from mainspring.exceptions import ObjectNotFound
from mainspring.model import State, StateType
from mainspring.model.liveness import SilentRun
from mainspring.model.orchestration import (
    TERMINAL_TYPES,
    Decision,
    Outcome,
    abort,
    accept,
    decide,
    reject,
)
from mainspring.model.states import Cancelled
from mainspring.store.processes import describe, process_gone
from mainspring.store.sql.dead_runs import end_unfinished_task_runs
from mainspring.store.sql.schema import flow_run, state_history, task_run

#: Times a transition is re-decided after losing a race before the client is told to retry.
MAX_ATTEMPTS = 20

#: A write transaction of the store (`SqlStore._writing`): commits on success, and turns a
#: database failure into `StoreError`.
Writing = Callable[[], AbstractContextManager[sa.Connection]]
#: What goes with an accepted move, in its transaction.
Then = Callable[[sa.Connection, State], object]

#: Flow run states the crash detector watches.
WATCHED = (StateType.RUNNING.value, StateType.CANCELLING.value)


def _current(conn: sa.Connection, table: sa.Table, run_id: str) -> sa.Row[Any] | None:
    c = table.c
    columns = [c.state_type, c.state_name, c.state_message, c.state_timestamp, c.start_time]
    if table is flow_run:
        columns += [c.heartbeat, c.host, c.pid, c.process_start]
    query = sa.select(*columns).where(c.id == run_id)
    return conn.execute(query).first()


def _new_values(table: sa.Table, current: StateType, proposed: State) -> dict[str, Any]:
    """Columns to set: the state, and the run's times and attempt count that follow from it."""
    c = table.c
    values: dict[str, Any] = {
        "state_type": proposed.type.value,
        "state_name": proposed.name,
        "state_message": proposed.message,
        "state_timestamp": proposed.ts,
        "state_result": sa.null(),  # a proposed state carries no persisted result
    }
    if proposed.type is StateType.RUNNING:
        values["start_time"] = sa.func.coalesce(c.start_time, proposed.ts)
        if table is flow_run:  # sort_time is COALESCE(start_time, created); see schema.py
            values["sort_time"] = sa.func.coalesce(c.start_time, proposed.ts)
        if current is not StateType.RUNNING:
            values["run_count"] = c.run_count + 1
    if proposed.type in TERMINAL_TYPES:
        values["end_time"] = proposed.ts
    elif current in TERMINAL_TYPES:  # an explicit retry: the run is no longer finished
        values["end_time"] = None
    return values


def last_sign_of_life(table: sa.Table) -> sa.ColumnElement[Any]:
    """The later of a flow run's last heartbeat and when it entered its state: a state change
    is a sign of life too (a retried run starts with its dead process's old heartbeat)."""
    heartbeat, entered = table.c.heartbeat, table.c.state_timestamp
    return sa.case(
        (sa.or_(heartbeat.is_(None), heartbeat < entered), entered), else_=heartbeat
    )  # CASE, not max()/greatest(): the same SQL on SQLite and PostgreSQL


def set_state(
    writing: Writing,
    run_id: str,
    proposed: State,
    *,
    is_task: bool,
    force: bool = False,
    silent_since: float | None = None,
    on_accepted: Then | None = None,
) -> Outcome:
    """Move a flow run (or task run) to `proposed` if the orchestration rules allow it.

    `silent_since` (flow runs only; the crash detector's) adds a condition to the
    compare-and-set: the run has shown no sign of life (heartbeat, or state change) since that
    time, so a heartbeat that lands between the detector's scan and its write saves the run.
    `on_accepted(conn, state)` runs in the same transaction once the move is made, so what
    goes with the move (the crash detector's crashing of the run's task runs) is stored with
    it or not at all.
    A proposed Cancelling for a flow run whose process is gone (on this host: see
    store/processes.py) becomes Cancelled at once, with its unfinished task runs: no process
    is left to finish the cancel.
    Raises `ObjectNotFound` for an unknown id and `StoreError` when the database fails.
    """
    table = task_run if is_task else flow_run
    kind = "task run" if is_task else "flow run"
    for _ in range(MAX_ATTEMPTS):
        with writing() as conn:
            row = _current(conn, table, run_id)
            if row is None:
                raise ObjectNotFound(f"No {kind} with id {run_id!r}")
            current = State(
                StateType(row.state_type),
                row.state_name,
                row.state_message,
                ts=float(row.state_timestamp),
            )
            move, then = proposed, on_accepted
            if not is_task and proposed.type is StateType.CANCELLING and _gone(row):
                move, then = _cancelled_at_once(run_id, proposed, row, on_accepted)
            decision = decide(current.type, current.name, move.type, move.name, force)
            if decision.accepted and silent_since is not None:
                decision = _still_silent(row, silent_since)
            if not decision.accepted:
                return Outcome(decision, current)
            c = table.c
            update = (
                sa.update(table)
                .where(
                    c.id == run_id,
                    c.state_type == row.state_type,
                    c.state_name == row.state_name,
                    c.state_timestamp == row.state_timestamp,
                )
                .values(_new_values(table, current.type, move))
            )
            if silent_since is not None:
                update = update.where(last_sign_of_life(table) < silent_since)
            if conn.execute(update).rowcount == 1:
                conn.execute(
                    sa.insert(state_history).values(
                        run_id=run_id,
                        is_task=is_task,
                        type=move.type.value,
                        name=move.name,
                        message=move.message,
                        timestamp=move.ts,
                    )
                )
                if then is not None:
                    then(conn, move)
                return Outcome(decision, move)
        time.sleep(0.001)  # lost a race: the run changed since we read it; decide again
    return Outcome(abort("The run's state kept changing; try again."), current)


def _still_silent(row: sa.Row[Any], silent_since: float) -> Decision:
    last = max(row.state_timestamp, row.heartbeat or row.state_timestamp)  # last_sign_of_life
    if float(last) >= silent_since:
        return reject("The run has shown a sign of life since; it is not crashed.")
    return accept("No sign of life since the cut-off.")


def _gone(row: sa.Row[Any]) -> bool:
    return process_gone(row.host, row.pid, row.process_start)


def _cancelled_at_once(
    run_id: str,
    proposed: State,
    row: sa.Row[Any],
    on_accepted: Then | None,
) -> tuple[State, Then]:
    """Cancelled instead of Cancelling (the run's process is gone), and what goes with it: its
    unfinished task runs end Cancelled too, in the same transaction."""
    reason = f"its {describe(row.host, row.pid)} is gone, so it is cancelled at once"
    cancelled = Cancelled(message=f"{proposed.message}: {reason}" if proposed.message else reason)

    def then(conn: sa.Connection, state: State) -> None:
        end_unfinished_task_runs(conn, run_id, state)
        if on_accepted is not None:
            on_accepted(conn, state)

    return cancelled, then


# -- the crash detector's ------------------------------------------------------------------
def find_silent(conn: sa.Connection, silent_since: float) -> list[SilentRun]:
    """`Store.find_silent_flow_runs`: one query on the `state_type` index."""
    c = flow_run.c
    last = last_sign_of_life(flow_run)
    query = sa.select(c.id, c.state_name, c.heartbeat, last.label("last")).where(
        c.state_type.in_(WATCHED), last < silent_since
    )
    return [
        SilentRun(row.id, row.state_name, row.heartbeat, float(row.last))
        for row in conn.execute(query)
    ]


def crash_silent(
    writing: Writing, flow_run_id: str, crashed: State, silent_since: float
) -> int | None:
    """`Store.crash_silent_flow_run`: the crash and the crashing of the run's unfinished task
    runs in one transaction; how many task runs, or None when the run was left alone."""
    if crashed.type is not StateType.CRASHED:
        raise ValueError(f"A silent run is moved to a Crashed state, not {crashed.name}")
    counts: list[int] = []

    def crash_task_runs(conn: sa.Connection, state: State) -> None:
        counts.append(end_unfinished_task_runs(conn, flow_run_id, state))

    outcome = set_state(
        writing,
        flow_run_id,
        crashed,
        is_task=False,
        silent_since=silent_since,
        on_accepted=crash_task_runs,
    )
    return counts[0] if outcome.accepted else None
