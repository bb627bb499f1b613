"""`/api/flow_runs/{id}/logs`: a flow run's log lines, oldest first, a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mainspring.server.api.deps import NOT_FOUND, FlowRunId, StoreDep
from mainspring.server.schemas import ID_PATTERN, LogOut

router = APIRouter(tags=["logs"])


@router.get("/flow_runs/{flow_run_id}/logs", response_model=list[LogOut], responses=NOT_FOUND)
def read_logs(
    store: StoreDep,
    flow_run_id: FlowRunId,
    task_run_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Only this task run's lines.")
    ] = None,
    min_level: Annotated[int, Query(ge=0, le=100, description="e.g. 30 = WARNING")] = 0,
    limit: Annotated[int, Query(ge=0, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[LogOut]:
    store.read_flow_run(flow_run_id)
    records = store.read_logs(flow_run_id, task_run_id, min_level, limit, offset)
    return [LogOut.of(r) for r in records]
