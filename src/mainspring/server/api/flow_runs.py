"""`/api/flow_runs`: list flow runs (filters, sorting, pagination), read one, its task runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mainspring.model import STATE_NAMES, FlowRunFilter, FlowRunSort, StateType
from mainspring.model.run_cursor import MAX_CURSOR, RunCursor
from mainspring.server.api.deps import NOT_FOUND, FlowRunId, StoreDep, invalid
from mainspring.server.schemas import ID_PATTERN, FlowRunOut, FlowRunPage, TaskRunOut
from mainspring.server.schemas.common import Name, Time
from mainspring.store.run_pages import RunPage, RunPages

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
    after: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR, description="A `next_cursor`: the page after it."),
    ] = None,
    before: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR, description="A `previous_cursor`: the page before it."),
    ] = None,
) -> FlowRunPage:
    """Flow runs matching every given filter, newest first by default, one page at a time.

    `count` is the number of matching runs on all pages. Runs that have not started sort by
    creation time among the others; ties are broken by id. A page is asked for by `offset`
    or, for any depth at the cost of the first page and unshifted by runs written meanwhile,
    by the cursor a page gives (`next_cursor` as `after`, `previous_cursor` as `before`,
    with the same filters and sort).
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
    cursors = {}
    for name, text in (("after", after), ("before", before)):
        try:
            cursors[name] = RunCursor.decode(text, sort) if text is not None else None
        except ValueError as exc:
            raise invalid(("query", name), str(exc)) from None
    if after is not None and before is not None:
        raise invalid(("query", "before"), "Give `after` or `before`, not both.")
    by_cursor = after is not None or before is not None
    if by_cursor and offset:
        raise invalid(("query", "offset"), "A page after or before a cursor takes no offset.")
    if not isinstance(store, RunPages):  # a store without cursors: offsets only
        if by_cursor:
            raise invalid(("query", "after"), "This server's store pages by offset only.")
        page = RunPage(store.read_flow_runs(filter, sort, limit, offset), None, None)
    elif limit:
        page = store.read_flow_run_page(filter, sort, limit, offset, **cursors)
    else:  # the count alone (ApiStore.count_flow_runs)
        page = RunPage([], None, None)
    return FlowRunPage(
        items=[FlowRunOut.of(r) for r in page.runs],
        count=store.count_flow_runs(filter),
        limit=limit,
        offset=offset,
        next_cursor=page.next.encode() if page.next else None,
        previous_cursor=page.previous.encode() if page.previous else None,
    )


@router.get("/{flow_run_id}", response_model=FlowRunOut, responses=NOT_FOUND)
def read_flow_run(store: StoreDep, flow_run_id: FlowRunId) -> FlowRunOut:
    return FlowRunOut.of(store.read_flow_run(flow_run_id))


@router.get("/{flow_run_id}/task_runs", response_model=list[TaskRunOut], responses=NOT_FOUND)
def list_task_runs(store: StoreDep, flow_run_id: FlowRunId) -> list[TaskRunOut]:
    """The task runs of one flow run, in the order they were created."""
    store.read_flow_run(flow_run_id)  # 404 for an unknown run rather than an empty list
    return [TaskRunOut.of(t) for t in store.read_task_runs(flow_run_id)]
