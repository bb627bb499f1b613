"""A task run context rebuilt inside another process (process pools, later Dask and Ray)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from mainspring.engine.context import TaskRunContext, task_run_context
from mainspring.engine.logging import configure_logging, enable_print_capture
from mainspring.model import TaskRun
from mainspring.model.states import Running
from mainspring.store.recorder import get_recorder


def task_run_info(task_run: Any, label: str, log_prints: bool, timeout: float | None) -> dict:
    """What a worker process needs to know to log and time out as part of a task run."""
    return {
        "task_run_id": task_run.id,
        "flow_run_id": task_run.flow_run_id,
        "name": task_run.name,
        "task_name": task_run.task_name,
        "task_key": task_run.task_key,
        "label": label,
        "log_prints": log_prints,
        "timeout": timeout,
    }


@contextlib.contextmanager
def remote_task_context(info: dict) -> Iterator[None]:
    run = TaskRun(
        id=info["task_run_id"],
        name=info["name"],
        task_name=info["task_name"],
        task_key=info["task_key"],
        state=Running(),
        flow_run_id=info["flow_run_id"],
    )
    configure_logging()
    if info["log_prints"]:
        enable_print_capture()
    context = TaskRunContext(
        task=None,
        task_run=run,
        log_prints=info["log_prints"],  # type: ignore[arg-type]
        label=info["label"],
    )
    token = task_run_context.set(context)
    try:
        yield
    finally:
        task_run_context.reset(token)
        get_recorder().flush(timeout=60)
