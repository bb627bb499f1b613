"""What the flow-run and task-run pages share: finding a run (a missing one is a 404 page),
and describing where a result lives."""

from __future__ import annotations

import re
from typing import Any

from mainspring.exceptions import ObjectNotFound
from mainspring.model import FlowRun, TaskRun
from mainspring.server.schemas import ID_PATTERN
from mainspring.server.ui.errors import UiError
from mainspring.settings import redact_url
from mainspring.store.results.storage import ResultRef

_ID = re.compile(ID_PATTERN)


def find_flow_run(store: Any, flow_run_id: str) -> FlowRun:
    if not _ID.fullmatch(flow_run_id):
        raise UiError(404, "There is no flow run with that id.")
    try:
        run: FlowRun = store.read_flow_run(flow_run_id)
    except ObjectNotFound:
        raise UiError(404, f"There is no flow run with the id {flow_run_id}.") from None
    return run


def find_task_run(store: Any, task_run_id: str) -> TaskRun:
    if not _ID.fullmatch(task_run_id):
        raise UiError(404, "There is no task run with that id.")
    try:
        run: TaskRun = store.read_task_run(task_run_id)
    except ObjectNotFound:
        raise UiError(404, f"There is no task run with the id {task_run_id}.") from None
    return run


def result_location(data: Any) -> dict[str, str] | None:
    """Where a state's persisted result is (its storage, credentials left out, and key), or
    None when it has none."""
    if type(data) is not ResultRef:
        return None
    return {"storage": redact_url(data.storage_url), "key": data.key}
