"""Timelines (`.../states`) and orchestrated transitions (`.../set_state`) of runs.

A transition is answered ACCEPT or REJECT with a reason, both with status 200: a rejection is
the rules working, not a malformed request (see `model/orchestration.py` for the rules).
"""

from __future__ import annotations

from fastapi import APIRouter

from mainspring.server.api.deps import NOT_FOUND, FlowRunId, StoreDep, TaskRunId
from mainspring.server.schemas import SetStateIn, SetStateOut, StateOut, TimelineEntry
from mainspring.store.base import Store

router = APIRouter(tags=["states"])


@router.get(
    "/flow_runs/{flow_run_id}/states", response_model=list[TimelineEntry], responses=NOT_FOUND
)
def flow_run_timeline(store: StoreDep, flow_run_id: FlowRunId) -> list[TimelineEntry]:
    """Every state the flow run entered, oldest first."""
    store.read_flow_run(flow_run_id)
    return [TimelineEntry.of(s) for s in store.read_states(flow_run_id)]


@router.get(
    "/task_runs/{task_run_id}/states", response_model=list[TimelineEntry], responses=NOT_FOUND
)
def task_run_timeline(store: StoreDep, task_run_id: TaskRunId) -> list[TimelineEntry]:
    """Every state the task run entered, oldest first."""
    store.read_task_run(task_run_id)
    return [TimelineEntry.of(s) for s in store.read_states(task_run_id)]


def _transition(store: Store, run_id: str, body: SetStateIn, is_task: bool) -> SetStateOut:
    set_state = store.set_task_run_state if is_task else store.set_state
    outcome = set_state(run_id, body.state.to_state(), force=body.force)
    return SetStateOut(
        status=outcome.decision.status,
        reason=outcome.decision.reason,
        state=StateOut.of(outcome.state),
    )


@router.post("/flow_runs/{flow_run_id}/set_state", response_model=SetStateOut, responses=NOT_FOUND)
def set_flow_run_state(store: StoreDep, flow_run_id: FlowRunId, body: SetStateIn) -> SetStateOut:
    """Propose a new state for a flow run; the orchestration rules accept or reject it."""
    return _transition(store, flow_run_id, body, is_task=False)


@router.post("/task_runs/{task_run_id}/set_state", response_model=SetStateOut, responses=NOT_FOUND)
def set_task_run_state(store: StoreDep, task_run_id: TaskRunId, body: SetStateIn) -> SetStateOut:
    """Propose a new state for a task run; the orchestration rules accept or reject it."""
    return _transition(store, task_run_id, body, is_task=True)
