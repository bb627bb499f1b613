"""SqlRunChangeFeed: the RunChangeFeed protocol (store/run_changes.py) in SQL, mixed into
SqlStore. A read is a range of `state_history`'s primary key from the cursor, then the
changed runs by their keys, kept to the flow run's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.model import StateType
from mainspring.model.run_changes import RunChanges, TaskRunMark
from mainspring.store.run_changes import SCAN, RunChangeFeed
from mainspring.store.sql.rows import flow_run_from_row, task_run_from_row
from mainspring.store.sql.scheduling import chunks
from mainspring.store.sql.schema import flow_run, state_history, task_run


class SqlRunChangeFeed(RunChangeFeed):
    """The RunChangeFeed half of SqlStore; needs its `_reading`."""

    if TYPE_CHECKING:

        def _reading(self) -> AbstractContextManager[sa.Connection]: ...

    def change_cursor(self) -> int:
        with self._reading() as conn:
            newest = conn.execute(sa.select(sa.func.max(state_history.c.id))).scalar()
        return int(newest or 0)

    def read_task_run_marks(self, flow_run_id: str) -> list[TaskRunMark]:
        c = task_run.c
        query = sa.select(c.id, c.task_name, c.state_type, c.start_time, c.end_time).where(
            c.flow_run_id == flow_run_id
        )
        with self._reading() as conn:
            return [
                TaskRunMark(id_, name, StateType(state), start, end)
                for id_, name, state, start, end in conn.execute(query)
            ]

    def read_run_changes(self, flow_run_id: str, after: int, limit: int = SCAN) -> RunChanges:
        s = state_history.c
        cap = max(1, min(limit, SCAN))
        scan = sa.select(s.id, s.run_id, s.is_task).where(s.id > after).order_by(s.id).limit(cap)
        with self._reading() as conn:
            rows = conn.execute(scan).all()
            if not rows:
                return RunChanges([], [], after, False)
            tasks = list(dict.fromkeys(run_id for _, run_id, is_task in rows if is_task))
            flows = list(dict.fromkeys(run_id for _, run_id, is_task in rows if not is_task))
            task_runs = [
                task_run_from_row(row)
                for row in _children(conn, task_run, task_run.c.flow_run_id, flow_run_id, tasks)
            ]
            subflows = [
                flow_run_from_row(row)
                for row in _children(
                    conn, flow_run, flow_run.c.parent_flow_run_id, flow_run_id, flows
                )
            ]
        task_runs.sort(key=lambda t: (t.created or 0.0, t.id))
        subflows.sort(key=lambda r: (r.created or 0.0, r.id))
        return RunChanges(task_runs, subflows, int(rows[-1][0]), len(rows) >= cap)


def _children(
    conn: sa.Connection, table: sa.Table, parent: sa.Column[str], run_id: str, keys: list[str]
) -> Iterator[sa.Row[Any]]:
    """The rows of `table` among `keys` whose `parent` is `run_id`, a chunk of keys a query."""
    for chunk in chunks(keys):
        yield from conn.execute(sa.select(table).where(table.c.id.in_(chunk), parent == run_id))
