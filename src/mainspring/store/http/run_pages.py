"""ApiRunPages: the runs list a page at a time by cursor (store/run_pages.py) over the
server's `GET /api/flow_runs` (its `after` and `before` parameters), mixed into ApiStore."""

from __future__ import annotations

from typing import Any

from mainspring.model import FlowRunFilter, FlowRunSort
from mainspring.model.run_cursor import RunCursor
from mainspring.store.base import check_page
from mainspring.store.http import wire
from mainspring.store.http.queries import filter_params
from mainspring.store.http.server_calls import ServerCalls
from mainspring.store.run_pages import RunPage, RunPages, checked_cursor

#: The server's largest page.
MAX_PAGE = 1000


class ApiRunPages(RunPages, ServerCalls):
    """Needs ApiStore's `_json`."""

    def read_flow_run_page(
        self,
        filter: FlowRunFilter | None = None,
        sort: FlowRunSort = FlowRunSort.START_TIME_DESC,
        limit: int = 50,
        offset: int = 0,
        after: RunCursor | None = None,
        before: RunCursor | None = None,
    ) -> RunPage:
        check_page(limit, offset)
        if limit > MAX_PAGE:
            raise ValueError(f"A page over the API holds at most {MAX_PAGE} runs, not {limit}")
        sort = FlowRunSort(sort)
        checked_cursor(sort, offset, after, before)
        params = filter_params(filter)
        if params is None or not limit:  # a filter no run can match, or nothing asked
            return RunPage([], None, None)
        params += [("sort", sort.value), ("limit", limit), ("offset", offset)]
        params += [(k, c.encode()) for k, c in (("after", after), ("before", before)) if c]
        page: dict[str, Any] = self._json("/flow_runs", params)
        return RunPage(
            [wire.flow_run_from_json(d) for d in page["items"]],
            _cursor(page.get("previous_cursor"), sort),
            _cursor(page.get("next_cursor"), sort),
        )


def _cursor(text: str | None, sort: FlowRunSort) -> RunCursor | None:
    return RunCursor.decode(text, sort) if text else None
