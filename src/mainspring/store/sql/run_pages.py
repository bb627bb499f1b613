"""SqlRunPages: the runs list a page at a time by cursor (store/run_pages.py), mixed into
SqlStore. A cursor's page is a range of the sort's index from the cursor on (`(sort_time,
id) < (key, id)` on the `(sort_time, id)` index for the default, newest first), so page
1,500 costs what page 1 does; the page before a cursor is read in the reverse order."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.model import FlowRun, FlowRunFilter, FlowRunSort
from mainspring.model.run_cursor import RunCursor
from mainspring.store.base import check_page
from mainspring.store.run_pages import RunPage, RunPages, checked_cursor
from mainspring.store.sql.rows import flow_run_from_row
from mainspring.store.sql.schema import flow_run

Condition = sa.ColumnElement[bool]

#: Each sort's key and whether it runs from the largest down (ties broken by id the same way).
_KEYS: dict[FlowRunSort, tuple[sa.ColumnElement[Any], bool]] = {
    FlowRunSort.START_TIME_DESC: (flow_run.c.sort_time, True),
    FlowRunSort.START_TIME_ASC: (flow_run.c.sort_time, False),
    FlowRunSort.CREATED_DESC: (flow_run.c.created, True),
    FlowRunSort.NAME_ASC: (flow_run.c.name, False),
}


def _past(cursor: RunCursor, descending: bool) -> Condition:
    """The runs that come after `cursor` in a list running down (or up) its sort's key."""
    key, _ = _KEYS[cursor.sort]
    here, place = sa.tuple_(key, flow_run.c.id), sa.tuple_(sa.literal(cursor.key), cursor.id)
    return here < place if descending else here > place


def _order(sort: FlowRunSort, descending: bool) -> list[sa.ColumnElement[Any]]:
    key, _ = _KEYS[sort]
    return [key.desc(), flow_run.c.id.desc()] if descending else [key.asc(), flow_run.c.id.asc()]


class SqlRunPages(RunPages):
    """Needs SqlStore's `_reading` and `_conditions` (store/sql/run_reads.py)."""

    if TYPE_CHECKING:

        def _reading(self) -> AbstractContextManager[sa.Connection]: ...

        def _conditions(
            self, filter: FlowRunFilter | None, conn: sa.Connection | None = None
        ) -> list[Condition]: ...

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
        sort = FlowRunSort(sort)
        cursor = checked_cursor(sort, offset, after, before)
        _, descending = _KEYS[sort]
        backwards = before is not None  # read from the cursor towards the list's start
        with self._reading() as conn:
            where = self._conditions(filter, conn)

            def read(
                start: RunCursor | None, reverse: bool, count: int, skip: int = 0
            ) -> list[FlowRun]:
                going = descending != reverse
                query = sa.select(flow_run).where(*where).order_by(*_order(sort, going))
                if start is not None:
                    query = query.where(_past(start, going))
                rows = conn.execute(query.limit(count).offset(skip))
                return [flow_run_from_row(r) for r in rows]

            runs = read(cursor, backwards, limit + 1, offset)
            more = len(runs) > limit  # beyond the page, on the side it was read towards
            runs = runs[:limit]
            if backwards:
                runs.reverse()
            if not runs:
                return RunPage([], None, None)
            first, last = (RunCursor.of(r, sort) for r in (runs[0], runs[-1]))
            if backwards:
                return RunPage(
                    runs, first if more else None, last if read(last, False, 1) else None
                )
            earlier = offset > 0 or (cursor is not None and bool(read(first, True, 1)))
            return RunPage(runs, first if earlier else None, last if more else None)
