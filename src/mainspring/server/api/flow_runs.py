"""`/api/flow_runs`: list flow runs (filters, sorting, pagination), read one, its task runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mainspring.model import STATE_NAMES, FlowRunFilter, FlowRunSort, StateType
from mainspring.server.api.deps import NOT_FOUND, FlowRunId, StoreDep, invalid
from mainspring.server.schemas import ID_PATTERN, FlowRunOut, FlowRunPage, TaskRunOut
from mainspring.server.schemas.common import Name, Time

router = APIRouter(prefix="/flow_runs", tags=["flow runs"])

MAX_LIMIT = 1000
#: A state type or name, in any case: the store's filter vocabulary, spelled out for the docs.
STATE_WORD = "^(?i:" + "|".join([t.value for t in StateType] + list(STATE_NAMES)) + ")$"
MAX_OFFSET = 10**9


@router.get("", response_model=FlowRunPage)
def list_flow_runs(
    store: StoreDep,
    flow_name: Annotated[list[Name], Query(description="Any of these flows.")] = [],  # noqa: B006
    state: Annotated[
        list[Annotated[str, Query(pattern=STATE_WORD)]],
        Query(description="Any of these state types (FAILED) or names (TimedOut), any case."),
    ] = [],  # noqa: B006
    tag: Annotated[list[Name], Query(description="Runs carrying every one of these tags.")] = [],  # noqa: B006
    id: Annotated[
        list[Annotated[str, Query(pattern=ID_PATTERN)]], Query(description="Any of these runs.")
    ] = [],  # noqa: B006
    parent_flow_run_id: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Subflow runs of this run.")
    ] = None,
    deployment_id: Annotated[
        list[Annotated[str, Query(pattern=ID_PATTERN)]],
        Query(description="Runs of any of these deployments."),
    ] = [],  # noqa: B006
    name: Annotated[
        Name | None, Query(description="Runs whose name contains this text (any case).")
    ] = None,
    started_after: Annotated[Time | None, Query(description="ISO-8601; naive = UTC.")] = None,
    started_before: Annotated[Time | None, Query(description="ISO-8601; naive = UTC.")] = None,
    sort: FlowRunSort = FlowRunSort.START_TIME_DESC,
    limit: Annotated[int, Query(ge=0, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> FlowRunPage:
    """Flow runs matching every given filter, newest first by default, one page at a time.

    `count` is the number of matching runs on all pages. Runs that have not started sort by
    creation time among the others.
    """
    filter = FlowRunFilter(
        flow_names=flow_name,
        states=state,
        tags=tag,
        ids=id,
        parent_flow_run_id=parent_flow_run_id,
        deployment_ids=deployment_id,
        name_contains=name,
        started_after=started_after,
        started_before=started_before,
    )
    try:
        filter.state_types_and_names()
    except ValueError as exc:
        raise invalid(("query", "state"), str(exc)) from None
    runs = store.read_flow_runs(filter, sort, limit, offset)
    return FlowRunPage(
        items=[FlowRunOut.of(r) for r in runs],
        count=store.count_flow_runs(filter),
        limit=limit,
        offset=offset,
    )


@router.get("/{flow_run_id}", response_model=FlowRunOut, responses=NOT_FOUND)
def read_flow_run(store: StoreDep, flow_run_id: FlowRunId) -> FlowRunOut:
    return FlowRunOut.of(store.read_flow_run(flow_run_id))


@router.get("/{flow_run_id}/task_runs", response_model=list[TaskRunOut], responses=NOT_FOUND)
def list_task_runs(store: StoreDep, flow_run_id: FlowRunId) -> list[TaskRunOut]:
    """The task runs of one flow run, in the order they were created."""
    store.read_flow_run(flow_run_id)  # 404 for an unknown run rather than an empty list
    return [TaskRunOut.of(t) for t in store.read_task_runs(flow_run_id)]
