"""SqlRunReads: the run history's reads of the Store protocol (flows, flow runs and their
filters, task runs, states, logs, edges), mixed into SqlStore. Each rebuilds model records
from rows (store/sql/rows.py) in one query."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.exceptions import ObjectNotFound
from mainspring.model import (
    FlowRecord,
    FlowRun,
    FlowRunFilter,
    FlowRunSort,
    LogRecord,
    StateRecord,
    TaskRun,
    TaskRunEdge,
)
from mainspring.store.base import check_page
from mainspring.store.sql.dialect import like_escaped
from mainspring.store.sql.rows import (
    flow_from_row,
    flow_run_from_row,
    log_from_row,
    state_from_row,
    task_run_from_row,
)
from mainspring.store.sql.run_search import RunIdSets
from mainspring.store.sql.schema import flow, flow_run, log, state_history, task_run, task_run_edge

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend

_SORTS: dict[FlowRunSort, tuple[sa.ColumnElement[Any], ...]] = {
    FlowRunSort.START_TIME_DESC: (flow_run.c.sort_time.desc(), flow_run.c.id.desc()),
    FlowRunSort.START_TIME_ASC: (flow_run.c.sort_time.asc(), flow_run.c.id.asc()),
    FlowRunSort.CREATED_DESC: (flow_run.c.created.desc(), flow_run.c.id.desc()),
    FlowRunSort.NAME_ASC: (flow_run.c.name.asc(), flow_run.c.id.asc()),
}


def _utc(value: datetime, field: str) -> float:
    """A time filter as epoch seconds, like stored times; naive datetimes are taken as UTC."""
    if not isinstance(value, datetime):
        raise TypeError(f"{field} must be a datetime, got {type(value).__name__}")
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).timestamp()


class SqlRunReads:
    """The history-reading half of SqlStore; needs its `_backend` and `_reading`."""

    if TYPE_CHECKING:
        _backend: SqlBackend

        def _reading(self) -> AbstractContextManager[sa.Connection]: ...

    def read_flows(self) -> list[FlowRecord]:
        query = sa.select(flow).order_by(flow.c.name)
        with self._reading() as conn:
            return [flow_from_row(r) for r in conn.execute(query)]

    def read_flow_run(self, flow_run_id: str) -> FlowRun:
        with self._reading() as conn:
            row = conn.execute(sa.select(flow_run).where(flow_run.c.id == flow_run_id)).first()
        if row is None:
            raise ObjectNotFound(f"No flow run with id {flow_run_id!r}")
        return flow_run_from_row(row)

    def _conditions(
        self, filter: FlowRunFilter | None, conn: sa.Connection | None = None
    ) -> list[sa.ColumnElement[bool]]:
        """The filter as conditions on `flow_run`. With `conn`, the tag filter and the name
        search use the tables of run ids the dialect keeps for them, if any (SQLite:
        store/sql/run_search.py)."""
        if filter is None:
            return []
        c = flow_run.c
        where: list[sa.ColumnElement[bool]] = []
        tags = list(dict.fromkeys(filter.tags))
        sets = None if conn is None else self._backend.run_id_sets(tags, filter.name_contains)
        found: list[str] | None = None
        if sets is not None and conn is not None:
            found, _ = sets.leading(conn)
            where += [c.id.in_(found)] if found is not None else sets.row_tests(c.id)
        if filter.flow_names:
            where.append(c.flow_name.in_(filter.flow_names))
        if filter.states:
            types, names = filter.state_types_and_names()
            # only the non-empty side: `x IN () OR ...` keeps the planner off the index
            either = [c.state_type.in_([t.value for t in types])] if types else []
            either += [c.state_name.in_(names)] if names else []
            where.append(sa.or_(*either))
        if tags and (sets is None or not sets.tags):
            where.append(self._backend.has_all_tags(c.tags, tags))
        if filter.ids:
            where.append(c.id.in_(filter.ids))
        if filter.parent_flow_run_id is not None:
            where.append(c.parent_flow_run_id == filter.parent_flow_run_id)
        if filter.deployment_ids:
            where.append(c.deployment_id.in_(filter.deployment_ids))
        if filter.name_contains and (found is None or sets is None or sets.name is None):
            where.append(c.name.ilike(f"%{like_escaped(filter.name_contains)}%", escape="\\"))
        if filter.started_after is not None:
            where.append(c.start_time >= _utc(filter.started_after, "started_after"))
        if filter.started_before is not None:
            where.append(c.start_time <= _utc(filter.started_before, "started_before"))
        return where

    def read_flow_runs(
        self,
        filter: FlowRunFilter | None = None,
        sort: FlowRunSort = FlowRunSort.START_TIME_DESC,
        limit: int = 100,
        offset: int = 0,
    ) -> list[FlowRun]:
        check_page(limit, offset)
        order = _SORTS[FlowRunSort(sort)]
        with self._reading() as conn:
            query = (
                sa.select(flow_run)
                .where(*self._conditions(filter, conn))
                .order_by(*order)
                .limit(limit)
                .offset(offset)
            )
            return [flow_run_from_row(r) for r in conn.execute(query)]

    def count_flow_runs(self, filter: FlowRunFilter | None = None) -> int:
        with self._reading() as conn:
            tags = [] if filter is None else list(dict.fromkeys(filter.tags))
            sets = None if filter is None else self._backend.run_id_sets(tags, filter.name_contains)
            if sets is not None and filter is not None and _only_sets(filter, sets):
                return sets.count(conn)  # from the sets' indexes: no run read
            query = sa.select(sa.func.count()).select_from(flow_run)
            return int(conn.execute(query.where(*self._conditions(filter, conn))).scalar_one())

    def read_task_run(self, task_run_id: str) -> TaskRun:
        with self._reading() as conn:
            row = conn.execute(sa.select(task_run).where(task_run.c.id == task_run_id)).first()
        if row is None:
            raise ObjectNotFound(f"No task run with id {task_run_id!r}")
        return task_run_from_row(row)

    def read_task_runs(self, flow_run_id: str) -> list[TaskRun]:
        query = (
            sa.select(task_run)
            .where(task_run.c.flow_run_id == flow_run_id)
            .order_by(task_run.c.created, task_run.c.seq)
        )
        with self._reading() as conn:
            return [task_run_from_row(r) for r in conn.execute(query)]

    def read_states(self, run_id: str) -> list[StateRecord]:
        query = (
            sa.select(state_history)
            .where(state_history.c.run_id == run_id)
            .order_by(state_history.c.timestamp, state_history.c.id)
        )
        with self._reading() as conn:
            return [state_from_row(r) for r in conn.execute(query)]

    def read_logs(
        self,
        flow_run_id: str,
        task_run_id: str | None = None,
        min_level: int = 0,
        limit: int = 10_000,
        offset: int = 0,
    ) -> list[LogRecord]:
        check_page(limit, offset)
        query = sa.select(log).where(log.c.flow_run_id == flow_run_id)
        if task_run_id is not None:
            query = query.where(log.c.task_run_id == task_run_id)
        if min_level:
            query = query.where(log.c.level >= min_level)
        query = query.order_by(log.c.timestamp, log.c.id).limit(limit).offset(offset)
        with self._reading() as conn:
            return [log_from_row(r) for r in conn.execute(query)]

    def read_edges(self, flow_run_id: str) -> list[TaskRunEdge]:
        e = task_run_edge.c
        query = (
            sa.select(e.flow_run_id, e.task_run_id, e.upstream_id, e.kind)
            .where(e.flow_run_id == flow_run_id)
            .order_by(e.task_run_id, e.kind, e.upstream_id)
        )
        with self._reading() as conn:
            return [TaskRunEdge(*r) for r in conn.execute(query)]


def _only_sets(filter: FlowRunFilter, sets: RunIdSets) -> bool:
    """Whether `sets` answer the whole filter (it asks nothing else of the runs)."""
    answered = replace(
        filter,
        tags=[] if sets.tags else filter.tags,
        name_contains=None if sets.name is not None else filter.name_contains,
    )
    return answered == FlowRunFilter()
