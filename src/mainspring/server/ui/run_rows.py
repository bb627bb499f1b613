"""A page of flow runs with what their rows show besides the run: its flow's page, its
deployment, its parent run (for subflows) and its task runs counted by state. A few queries
per page whatever its length, never one per row."""

from __future__ import annotations

from dataclasses import dataclass, field

from mainspring.model import FlowRun, FlowRunFilter, StateType
from mainspring.model.deployments import Deployment
from mainspring.server.ui.reading import UiStore

FAILED_TYPES = (StateType.FAILED, StateType.CRASHED)


@dataclass(slots=True)
class RunRow:
    run: FlowRun
    flow_id: str | None = None
    deployment: Deployment | None = None
    parent: FlowRun | None = None
    tasks: dict[StateType, int] = field(default_factory=dict)

    @property
    def task_total(self) -> int:
        return sum(self.tasks.values())

    @property
    def tasks_failed(self) -> int:
        return sum(self.tasks.get(t, 0) for t in FAILED_TYPES)


def run_rows(
    store: UiStore, runs: list[FlowRun], deployments: dict[str, Deployment] | None = None
) -> list[RunRow]:
    """`deployments` by id, when the caller has read those of the runs already; otherwise
    those the runs name are read (never all of them: ~60 ms per 1,000 deployments)."""
    if not runs:
        return []
    flow_ids = {f.name: f.id for f in store.read_flows()}
    if deployments is None:
        named = [r.deployment_id for r in runs if r.deployment_id]
        deployments = store.read_deployments_by_id(named) if named else {}
    parent_ids = list({r.parent_flow_run_id for r in runs if r.parent_flow_run_id})
    parents = (
        {
            p.id: p
            for p in store.read_flow_runs(FlowRunFilter(ids=parent_ids), limit=len(parent_ids))
        }
        if parent_ids
        else {}
    )
    tasks = store.count_task_runs_of([r.id for r in runs])
    return [
        RunRow(
            run=r,
            flow_id=flow_ids.get(r.flow_name),
            deployment=deployments.get(r.deployment_id) if r.deployment_id else None,
            parent=parents.get(r.parent_flow_run_id) if r.parent_flow_run_id else None,
            tasks=tasks.get(r.id, {}),
        )
        for r in runs
    ]
