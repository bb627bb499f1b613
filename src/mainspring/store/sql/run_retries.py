"""SqlRunRetries: the RunRetries protocol (store/run_retries.py) in SQL, mixed into SqlStore.

One write transaction reads the run, judges it and moves it, so two Retry clicks cannot both
pass: the second finds the run Scheduled already and is refused.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.exceptions import ObjectNotFound
from mainspring.model import StateType
from mainspring.model.orchestration import Outcome, decide, reject
from mainspring.model.states import State
from mainspring.store.run_retries import RunRetries
from mainspring.store.sql.crash_retries import free_instant
from mainspring.store.sql.schema import flow_run, state_history

#: What a retry may start from: a run that ended without success.
RETRYABLE = (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED)


class SqlRunRetries(RunRetries):
    """The RunRetries half of SqlStore; needs its `_writing`."""

    if TYPE_CHECKING:

        def _writing(self, what: str = "write") -> AbstractContextManager[sa.Connection]: ...

    def retry_deployment_run(self, flow_run_id: str, message: str) -> Outcome:
        c = flow_run.c
        proposed = State(StateType.SCHEDULED, "Scheduled", message, ts=time.time())
        with self._writing("retry the run") as conn:
            row = conn.execute(
                sa.select(
                    c.deployment_id,
                    c.work_pool_name,
                    c.parent_flow_run_id,
                    c.state_type,
                    c.state_name,
                    c.state_message,
                    c.state_timestamp,
                )
                .where(c.id == flow_run_id)
                .with_for_update()
            ).first()
            if row is None:
                raise ObjectNotFound(f"No flow run with id {flow_run_id!r}")
            current = State(
                StateType(row.state_type),
                row.state_name,
                row.state_message,
                ts=float(row.state_timestamp),
            )
            refusal = _refusal(row, current)
            if refusal is not None:
                return Outcome(reject(refusal), current)
            decision = decide(current.type, current.name, proposed.type, proposed.name, True)
            if not decision.accepted:
                return Outcome(decision, current)
            conn.execute(
                sa.update(flow_run)
                .where(c.id == flow_run_id)
                .values(
                    state_type=proposed.type.value,
                    state_name=proposed.name,
                    state_message=proposed.message,
                    state_timestamp=proposed.ts,
                    state_result=sa.null(),
                    end_time=None,
                    # free for any worker of the pool, due now (not at its old time, which a
                    # scheduler's catch-up could skip as missed)
                    claimed_by=None,
                    claimed_at=None,
                    expected_start_time=free_instant(conn, row.deployment_id, proposed.ts),
                    # no process has it any more: the worker that claims it next may start it
                    # (`start_claimed_run` looks for a run no process took up)
                    heartbeat=None,
                    host=None,
                    pid=None,
                    process_start=None,
                )
            )
            conn.execute(
                sa.insert(state_history).values(
                    run_id=flow_run_id,
                    is_task=False,
                    type=proposed.type.value,
                    name=proposed.name,
                    message=proposed.message,
                    timestamp=proposed.ts,
                )
            )
            return Outcome(decision, proposed)


def _refusal(row: Any, current: State) -> str | None:
    if row.deployment_id is None or row.work_pool_name is None:
        return (
            "Only a deployment's run can be retried from the server (its pool's workers run "
            "it again); retry this run with `mainspring flow-run retry` where its code is."
        )
    if row.parent_flow_run_id is not None:
        return "This is a subflow run: retry its parent run, which resumes it."
    if current.type not in RETRYABLE:
        return f"The run is {current.name}: only a Failed, Crashed or Cancelled run is retried."
    return None
