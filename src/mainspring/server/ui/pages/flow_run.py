"""`/runs/flow-run/ID`: one flow run, its timeline, graph, states, logs, result and error,
with the actions Cancel and Retry; and its live log stream.

Retry from the server is offered for deployment runs only: the server does not run users'
code, so it hands the run back to its pool's workers, which resume it under the same id
(store/run_retries.py). Any other run is retried where its code is, with
`mainspring flow-run retry ID`, which the page shows instead.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from mainspring.model import TERMINAL_TYPES, FlowRunFilter, FlowRunSort, State, StateType
from mainspring.model.orchestration import cancel_proposal
from mainspring.model.task_groups import TaskGroup
from mainspring.server.ui import run_logs
from mainspring.server.ui.artifact_view import views_of
from mainspring.server.ui.badges import state_badge
from mainspring.server.ui.csrf import require_csrf
from mainspring.server.ui.pages.artifacts import run_artifacts
from mainspring.server.ui.run_graph import build_graph
from mainspring.server.ui.run_live import TaskWatch
from mainspring.server.ui.run_pages import find_flow_run, result_location
from mainspring.server.ui.run_timeline import (
    GROUPS_OPENED,
    MAX_ROWS,
    MEMBERS_SHOWN,
    build_timeline,
)
from mainspring.server.ui.templating import redirect, render
from mainspring.server.ui.viewer import Viewer, action_viewer, page_viewer

router = APIRouter(include_in_schema=False)

#: Task runs listed on one page of the run's table.
TASK_PAGE = 50
#: Tasks called once whose run is looked up one by one; with more, among the first
#: SINGLES_READ task runs of the run.
SINGLES_ONE_BY_ONE = 30
SINGLES_READ = 500
#: Subflow runs read for the timeline and the links.
MAX_SUBFLOWS = 500
CANCELLED_BY = "Cancelled by user (web UI)"
RETRIED_BY = "Retry asked from the web UI"
RETRYABLE = (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED)


def _number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 10**6))
    except ValueError:
        return 1


@router.get("/runs/flow-run/{flow_run_id}", response_class=HTMLResponse, name="flow_run")
def flow_run_page(
    request: Request,
    flow_run_id: str,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    level: str | None = None,
    q: str | None = None,
    log_page: str | None = None,
    task: str | None = None,
    task_page: str | None = None,
) -> HTMLResponse:
    store = request.app.state.store
    run = find_flow_run(store, flow_run_id)
    now = time.time()
    # read first: what changes after it reaches the live page through its stream
    cursor = store.change_cursor() if run.state.type not in TERMINAL_TYPES else None
    groups = store.read_task_groups(run.id)
    subflows = store.read_flow_runs(
        FlowRunFilter(parent_flow_run_id=run.id), FlowRunSort.START_TIME_ASC, MAX_SUBFLOWS
    )
    parent = None
    if run.parent_flow_run_id is not None:
        parent = store.read_flow_runs(FlowRunFilter(ids=[run.parent_flow_run_id]), limit=1)
        parent = parent[0] if parent else None
    context: dict[str, Any] = {
        "run": run,
        "parent": parent,
        "subflows": subflows,
        "states": store.read_states(run.id),
        "timeline": build_timeline(run, groups, _members(store, run.id, groups), subflows, now),
        "result": result_location(run.state.data),
        "errors": _errors(store, run),
        "counts": _counts(groups),
        "tasks": _task_table(store, run.id, groups, task, task_page),
        "logs": _log_view(store, run, level, q, log_page),
        "actions": _actions(run),
        "finished": run.state.type in TERMINAL_TYPES,
        "cursor": cursor,
        "parameters_json": json.dumps(run.parameters, indent=2, default=repr, ensure_ascii=False),
        "artifacts": views_of(run_artifacts(request, flow_run_id=run.id)),
    }
    return render(request, "flow_run.html", context)


def _counts(groups: list[TaskGroup]) -> list[tuple[StateType, int]]:
    counts: dict[StateType, int] = {}
    for group in groups:
        for state, n in group.by_state.items():
            counts[state] = counts.get(state, 0) + n
    return sorted(counts.items(), key=lambda kv: -kv[1])


def _members(store: Any, run_id: str, groups: list[TaskGroup]) -> dict[str, list[Any]]:
    """The runs the timeline draws: the only run of each task called once (its row links
    to it), and the first runs of the first tasks of many runs (drawn when opened)."""
    singles = [g for g in groups if g.count == 1][:MAX_ROWS]
    members: dict[str, list[Any]] = {}
    if len(singles) <= SINGLES_ONE_BY_ONE:
        for group in singles:
            members[group.task_name] = store.read_task_runs_page(run_id, group.task_name, 1)
    else:  # many tasks called once: among the run's first task runs (the rest: their list)
        wanted = {g.task_name for g in singles}
        for t in store.read_task_runs_page(run_id, limit=SINGLES_READ):
            if t.task_name in wanted:
                members[t.task_name] = [t]
    for group in [g for g in groups if g.count > 1][:GROUPS_OPENED]:
        members[group.task_name] = store.read_task_runs_page(
            run_id, group.task_name, limit=MEMBERS_SHOWN
        )
    return members


def _errors(store: Any, run: Any) -> list[Any]:
    """The run's failures with their tracebacks (logged with each failure, by the task runs
    that failed and by the flow run), the last few; else its last error line."""
    if run.state.type not in (StateType.FAILED, StateType.CRASHED):
        return []
    lines = store.read_logs(run.id, min_level=40, limit=500)
    traced = [line for line in lines if "Traceback (most recent call last)" in line.message]
    return traced[-3:] or lines[-1:]


def _task_table(
    store: Any, run_id: str, groups: list[TaskGroup], task: str | None, page: str | None
) -> dict[str, Any]:
    chosen = [g for g in groups if g.task_name == task] if task else groups
    total = sum(g.count for g in chosen)
    pages = max(1, math.ceil(total / TASK_PAGE))
    number = min(_number(page), pages)
    start = (number - 1) * TASK_PAGE
    rows = store.read_task_runs_page(run_id, task or None, TASK_PAGE, start) if total else []
    return {
        "rows": rows,
        "task": task or "",
        "number": number,
        "pages": pages,
        "total": total,
        "first": start + 1,
        "page_size": TASK_PAGE,
    }


def _log_view(store: Any, run: Any, level: str | None, q: str | None, page: str | None) -> Any:
    query = run_logs.LogQuery.of(level, q)
    number = _number(page)
    offset = (number - 1) * run_logs.PAGE
    records = store.read_logs(
        run.id, min_level=query.min_level, limit=run_logs.PAGE + 1, offset=offset
    )
    more = len(records) > run_logs.PAGE
    records = records[: run_logs.PAGE]
    return {
        "query": query,
        "lines": [r for r in records if query.matches(r)],
        "read": len(records),
        "number": number,
        "more": more,
        # the live tail follows the page that reaches the end of the stored lines
        "tail_from": None if more else offset + len(records),
        "levels": [name for name in run_logs.LEVELS if name],
    }


def _actions(run: Any) -> dict[str, Any]:
    finished = run.state.type in TERMINAL_TYPES
    retry_here = (
        run.state.type in RETRYABLE
        and run.deployment_id is not None
        and run.parent_flow_run_id is None
    )
    return {
        "cancel": not finished and run.state.type is not StateType.CANCELLING,
        "retry": retry_here,
        "retry_cli": run.state.type in RETRYABLE
        and not retry_here
        and run.parent_flow_run_id is None,
    }


@router.get(
    "/runs/flow-run/{flow_run_id}/graph", response_class=HTMLResponse, name="flow_run_graph"
)
def graph_page(
    request: Request,
    flow_run_id: str,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    fragment: bool = False,
) -> HTMLResponse:
    """The dependency graph: its own page, or (`fragment`) the part the run's page loads
    once it is on screen. Apart from the page because counting the edges by task is a join
    over all of them (~70 ms for 10,000), which the page should not wait for."""
    store = request.app.state.store
    run = find_flow_run(store, flow_run_id)
    graph = build_graph(store.read_task_groups(run.id), store.read_task_links(run.id))
    template = "run_graph.html" if fragment else "run_graph_page.html"
    return render(request, template, {"run": run, "graph": graph})


@router.post(
    "/runs/flow-run/{flow_run_id}/cancel",
    dependencies=[Depends(require_csrf), Depends(action_viewer)],
)
def cancel(request: Request, flow_run_id: str) -> RedirectResponse:
    store = request.app.state.store
    run = find_flow_run(store, flow_run_id)
    page = f"/runs/flow-run/{run.id}"
    if run.state.type in TERMINAL_TYPES:
        return redirect(page, f"The run has already finished ({run.state.name}).", "error")
    proposed = State(cancel_proposal(run.state.type, run.heartbeat), message=CANCELLED_BY)
    outcome = store.set_state(run.id, proposed)
    if not outcome.accepted:
        return redirect(page, f"Not cancelled: {outcome.decision.reason}", "error")
    if outcome.state.type is StateType.CANCELLED:
        return redirect(page, "The run is Cancelled.")
    return redirect(
        page,
        "The run is Cancelling: its process stops it at its next heartbeat and ends it Cancelled.",
    )


@router.post(
    "/runs/flow-run/{flow_run_id}/retry",
    dependencies=[Depends(require_csrf), Depends(action_viewer)],
)
def retry(request: Request, flow_run_id: str) -> RedirectResponse:
    store = request.app.state.store
    run = find_flow_run(store, flow_run_id)
    page = f"/runs/flow-run/{run.id}"
    outcome = store.retry_deployment_run(run.id, RETRIED_BY)
    if not outcome.accepted:
        return redirect(page, f"Not retried: {outcome.decision.reason}", "error")
    request.app.state.run_signal.notify_threadsafe()  # a waiting worker claims it at once
    return redirect(
        page, "The run is Scheduled again: a worker of its pool picks it up and resumes it."
    )


@router.get("/runs/flow-run/{flow_run_id}/logs/stream")
def log_stream(
    request: Request,
    flow_run_id: str,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    offset: str | None = None,
    level: str | None = None,
    q: str | None = None,
    changes: str | None = None,
    tail: bool = True,
) -> StreamingResponse:
    """Server-sent events: the run's new log lines, its state badge, what changed in its
    task runs and subflow runs since the cursor `changes` (when given), and `end`. No log
    lines with `tail=false` (the page shows an earlier page of them)."""
    store = request.app.state.store
    run = find_flow_run(store, flow_run_id)
    query = run_logs.LogQuery.of(level, q)
    last = request.headers.get("last-event-id", "")
    resume_at = last if last.isdigit() else (offset or "0")
    start = int(resume_at) if resume_at.isdigit() else 0

    def read(at: int, limit: int) -> list[Any]:
        if not tail:
            return []
        return store.read_logs(run.id, min_level=query.min_level, limit=limit, offset=at)

    def run_state() -> tuple[bool, Any]:
        current = store.read_flow_run(run.id).state
        return current.type in TERMINAL_TYPES, state_badge(current.type, current.name)

    watch: Callable[[], TaskWatch] | None = None
    if changes is not None and changes.isdigit():
        watch = partial(TaskWatch, store, run.id, int(changes))

    events = run_logs.stream(read, run_state, query, start, request.is_disconnected, watch)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)
