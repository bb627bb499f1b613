"""`/api/task_runs/{id}`: one task run."""

from __future__ import annotations

from fastapi import APIRouter

from mainspring.server.api.deps import NOT_FOUND, StoreDep, TaskRunId
from mainspring.server.schemas import TaskRunOut

router = APIRouter(prefix="/task_runs", tags=["task runs"])


@router.get("/{task_run_id}", response_model=TaskRunOut, responses=NOT_FOUND)
def read_task_run(store: StoreDep, task_run_id: TaskRunId) -> TaskRunOut:
    return TaskRunOut.of(store.read_task_run(task_run_id))
