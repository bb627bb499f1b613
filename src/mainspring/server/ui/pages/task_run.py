"""`/runs/task-run/ID`: one task run: its states and attempts, where its inputs came from,
its cache key and whether it was a hit, where its result is, and its log lines."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mainspring.exceptions import ObjectNotFound
from mainspring.model import StateType
from mainspring.server.ui import run_logs
from mainspring.server.ui.artifact_view import views_of
from mainspring.server.ui.pages.artifacts import run_artifacts
from mainspring.server.ui.run_pages import find_task_run, result_location
from mainspring.server.ui.templating import render
from mainspring.server.ui.viewer import Viewer, page_viewer

router = APIRouter(include_in_schema=False)

#: Upstream or downstream task runs named on the page at most.
MAX_LINKED = 100


@router.get("/runs/task-run/{task_run_id}", response_class=HTMLResponse, name="task_run")
def task_run_page(
    request: Request,
    task_run_id: str,
    _viewer: Annotated[Viewer, Depends(page_viewer)],
    level: str | None = None,
    q: str | None = None,
) -> HTMLResponse:
    store = request.app.state.store
    task_run = find_task_run(store, task_run_id)
    flow_run = None
    upstream: list[tuple[Any, str]] = []
    downstream: list[tuple[Any, str]] = []
    query = run_logs.LogQuery.of(level, q)
    lines: list[Any] = []
    if task_run.flow_run_id is not None:
        try:
            flow_run = store.read_flow_run(task_run.flow_run_id)
        except ObjectNotFound:
            flow_run = None
        edges = store.read_task_run_edges(task_run.id, MAX_LINKED)
        upstream = _linked(
            store, [(e.upstream_id, e.kind) for e in edges if e.task_run_id == task_run.id]
        )
        downstream = _linked(
            store, [(e.task_run_id, e.kind) for e in edges if e.upstream_id == task_run.id]
        )
        records = store.read_logs(
            task_run.flow_run_id, task_run.id, min_level=query.min_level, limit=run_logs.PAGE
        )
        lines = [r for r in records if query.matches(r)]
    states = store.read_states(task_run.id)
    context = {
        "task_run": task_run,
        "flow_run": flow_run,
        "states": states,
        "attempts": _attempts(states),
        "upstream": upstream,
        "downstream": downstream,
        "cache_hit": task_run.state.name == "Cached",
        "result": result_location(task_run.state.data),
        "artifacts": views_of(run_artifacts(request, task_run_id=task_run.id)),
        "logs": {"query": query, "lines": lines, "levels": [n for n in run_logs.LEVELS if n]},
    }
    return render(request, "task_run.html", context)


def _linked(store: Any, ids: list[tuple[str, str]]) -> list[tuple[Any, str]]:
    found = []
    for run_id, kind in ids[:MAX_LINKED]:
        try:
            found.append((store.read_task_run(run_id), kind))
        except ObjectNotFound:
            continue
    return found


def _attempts(states: list[Any]) -> list[dict[str, Any]]:
    """Each time the task ran (a Running state) with how it ended (the next state after)."""
    attempts: list[dict[str, Any]] = []
    for s in states:
        if s.type is StateType.RUNNING:
            attempts.append(
                {"number": len(attempts) + 1, "start": s.ts, "end": None, "outcome": None}
            )
        elif attempts and attempts[-1]["outcome"] is None:
            attempts[-1]["end"] = s.ts
            attempts[-1]["outcome"] = s
    return attempts
