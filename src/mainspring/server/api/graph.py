"""`/api/flow_runs/{id}/graph`: task runs as nodes, their dependencies as edges."""

from __future__ import annotations

from fastapi import APIRouter

from mainspring.server.api.deps import NOT_FOUND, FlowRunId, StoreDep
from mainspring.server.schemas import GraphOut

router = APIRouter(tags=["graph"])


@router.get("/flow_runs/{flow_run_id}/graph", response_model=GraphOut, responses=NOT_FOUND)
def read_graph(store: StoreDep, flow_run_id: FlowRunId) -> GraphOut:
    """Edges point from the upstream task run (`source`) to the one that used it (`target`)."""
    store.read_flow_run(flow_run_id)
    return GraphOut.of(store.read_task_runs(flow_run_id), store.read_edges(flow_run_id))
