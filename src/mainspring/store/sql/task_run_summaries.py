"""SqlTaskRunSummaries: the TaskRunSummaries protocol (store/task_run_summaries.py) in SQL,
mixed into SqlStore. Each is one query bounded by the `task_run(flow_run_id, created)` index
or the edges' keys."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import sqlalchemy as sa

from mainspring.model import StateType, TaskRun, TaskRunEdge
from mainspring.model.task_groups import TaskGroup, TaskLink
from mainspring.store.base import check_page
from mainspring.store.sql.rows import task_run_from_row
from mainspring.store.sql.schema import task_run, task_run_edge
from mainspring.store.task_run_summaries import TaskRunSummaries

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend


class SqlTaskRunSummaries(TaskRunSummaries):
    """The TaskRunSummaries half of SqlStore; needs its `_reading`."""

    if TYPE_CHECKING:
        _backend: SqlBackend

        def _reading(self) -> AbstractContextManager[sa.Connection]: ...

    def read_task_groups(self, flow_run_id: str) -> list[TaskGroup]:
        c = task_run.c
        unfinished = sa.case((sa.and_(c.start_time.is_not(None), c.end_time.is_(None)), 1), else_=0)
        query = (
            sa.select(
                c.task_name,
                c.state_type,
                sa.func.count(),
                sa.func.min(c.created),
                sa.func.min(c.start_time),
                sa.func.max(c.end_time),
                sa.func.sum(unfinished),
            )
            .where(c.flow_run_id == flow_run_id)
            .group_by(c.task_name, c.state_type)
        )
        groups: dict[str, TaskGroup] = {}
        with self._reading() as conn:
            rows = conn.execute(query).all()
        for name, state, count, created, start, end, running in rows:
            group = groups.get(name)
            if group is None:
                group = groups[name] = TaskGroup(name, 0)
            group.count += count
            group.by_state[StateType(state)] = count
            group.unfinished += int(running or 0)
            group.first_created = _least(group.first_created, _time(created))
            group.first_start = _least(group.first_start, _time(start))
            end = _time(end)
            if end is not None and (group.last_end is None or end > group.last_end):
                group.last_end = end
        return sorted(groups.values(), key=lambda g: (g.first_created or 0.0, g.task_name))

    def read_task_runs_page(
        self, flow_run_id: str, task_name: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[TaskRun]:
        check_page(limit, offset)
        c = task_run.c
        query = sa.select(task_run).where(c.flow_run_id == flow_run_id)
        if task_name is not None:
            query = query.where(c.task_name == task_name)
        query = query.order_by(c.created, c.seq).limit(limit).offset(offset)
        with self._reading() as conn:
            return [task_run_from_row(r) for r in conn.execute(query)]

    def read_task_links(self, flow_run_id: str) -> list[TaskLink]:
        e = task_run_edge.c
        up, down = task_run.alias("up"), task_run.alias("down")
        query = (
            sa.select(up.c.task_name, down.c.task_name, e.kind, sa.func.count())
            .select_from(
                task_run_edge.join(up, up.c.id == e.upstream_id).join(
                    down, down.c.id == e.task_run_id
                )
            )
            .where(e.flow_run_id == flow_run_id)
            .group_by(up.c.task_name, down.c.task_name, e.kind)
        )
        with self._reading() as conn:
            return [TaskLink(a, b, kind, n) for a, b, kind, n in conn.execute(query)]

    def read_task_run_edges(self, task_run_id: str, limit: int = 100) -> list[TaskRunEdge]:
        e = task_run_edge.c
        columns = (e.flow_run_id, e.task_run_id, e.upstream_id, e.kind)
        inputs = sa.select(*columns).where(e.task_run_id == task_run_id).limit(limit)
        users = sa.select(*columns).where(e.upstream_id == task_run_id).limit(limit)
        with self._reading() as conn:
            rows = [*conn.execute(inputs), *conn.execute(users)]
        return [TaskRunEdge(f, t, u, k) for f, t, u, k in rows]


def _time(value: float | None) -> float | None:
    return None if value is None else float(value)


def _least(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)
