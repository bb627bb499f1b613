"""The RunPages protocol: pages of the flow runs list by cursor (model/run_cursor.py).

Apart from `Store` so that the core protocol stays as it is: `SqlStore` implements it
(store/sql/run_pages.py) by the sort's index, `ApiStore` through the server's `after` and
`before` parameters (store/http/run_pages.py). The web UI's runs list and the runs API page
by it; page numbers (an offset) keep working beside it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from mainspring.model import FlowRun, FlowRunFilter, FlowRunSort
from mainspring.model.run_cursor import RunCursor

__all__ = ["RunPage", "RunPages", "checked_cursor"]


@dataclass(frozen=True, slots=True)
class RunPage:
    """A page of runs in the list's order, and where the pages on each side of it start
    (None: there is none)."""

    runs: list[FlowRun]
    previous: RunCursor | None
    next: RunCursor | None


class RunPages(ABC):
    @abstractmethod
    def read_flow_run_page(
        self,
        filter: FlowRunFilter | None = None,
        sort: FlowRunSort = FlowRunSort.START_TIME_DESC,
        limit: int = 50,
        offset: int = 0,
        after: RunCursor | None = None,
        before: RunCursor | None = None,
    ) -> RunPage:
        """At most `limit` runs matching `filter` in `sort`'s order, ties broken by id: the
        first ones after `after`, the last ones before `before`, or (neither given) from
        `offset`. `next` is the place to continue after (as `after`), `previous` the place
        to go back from (as `before`). ValueError for both cursors, a cursor with an offset,
        or a cursor of another sort."""


def checked_cursor(
    sort: FlowRunSort, offset: int, after: RunCursor | None, before: RunCursor | None
) -> RunCursor | None:
    """The cursor a page starts from (None: by offset); ValueError, as `read_flow_run_page`
    promises, for both cursors, a cursor with an offset, or a cursor of another sort."""
    if after is not None and before is not None:
        raise ValueError("Give `after` or `before`, not both")
    cursor = after or before
    if cursor is not None and offset:
        raise ValueError("A page after or before a cursor takes no offset")
    if cursor is not None and cursor.sort is not sort:
        raise ValueError(f"The cursor is for a list sorted by {cursor.sort}, not {sort}")
    return cursor
