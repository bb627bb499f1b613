"""SqlInsights: the RunInsights protocol (store/insights.py) in SQL, mixed into SqlStore.

Each method is one aggregate query that the indexes bound: windows by `flow_run.sort_time`,
task runs through `task_run(flow_run_id, ...)`, so a dashboard costs what its window holds,
not what the history holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.model import FlowRun, FlowRunFilter, StateType
from mainspring.model.deployments import DeploymentRun
from mainspring.model.insights import FlowStats, RunPoint, StateBucket
from mainspring.model.text import storable_text
from mainspring.store.base import check_page
from mainspring.store.insights import RunInsights
from mainspring.store.sql.deployment_rows import deployment_run_from_row
from mainspring.store.sql.rows import flow_run_from_row
from mainspring.store.sql.schema import flow_run, task_run

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend

MAX_BUCKETS = 1000
#: `IN (...)` lists are sent in slices below SQLite's limit of bound values.
ID_SLICE = 500
FAILED_TYPES = (StateType.FAILED.value, StateType.CRASHED.value)
UNLIMITED = 2**62  # a LIMIT that limits nothing (valid on both dialects)


class SqlInsights(RunInsights):
    """The RunInsights half of SqlStore; needs its `_reading` and `_conditions`."""

    if TYPE_CHECKING:
        _backend: SqlBackend

        def _reading(self) -> AbstractContextManager[sa.Connection]: ...

        def _conditions(self, filter: FlowRunFilter | None) -> list[sa.ColumnElement[bool]]: ...

    def count_flow_runs_by_state(
        self, since: float, until: float, buckets: int
    ) -> list[StateBucket]:
        since, until = float(since), float(until)
        if not since < until:
            raise ValueError(f"the window must end after it starts ({since} .. {until})")
        if isinstance(buckets, bool) or not isinstance(buckets, int):
            raise ValueError(f"buckets must be an integer, got {buckets!r}")
        if not 1 <= buckets <= MAX_BUCKETS:
            raise ValueError(f"buckets must be 1 to {MAX_BUCKETS}, got {buckets}")
        c = flow_run.c
        width = (until - since) / buckets
        bucket = self._whole((c.sort_time - since) / width).label("bucket")
        query = (
            sa.select(bucket, c.state_type, sa.func.count())
            .where(c.sort_time >= since, c.sort_time < until)
            .group_by(bucket, c.state_type)
        )
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [StateBucket(min(int(b), buckets - 1), StateType(t), int(n)) for b, t, n in rows]

    def _whole(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
        """floor(value) as an integer, for value >= 0: SQLite's CAST truncates (and it may
        lack floor()); PostgreSQL's CAST rounds, so it floors first."""
        if self._backend.url.get_backend_name() == "postgresql":
            value = sa.func.floor(value)
        return sa.cast(value, sa.Integer)

    def count_task_runs_by_state(self, since: float, until: float) -> dict[StateType, int]:
        t = task_run.c
        query = (
            sa.select(t.state_type, sa.func.count())
            .where(t.created >= float(since), t.created < float(until))
            .group_by(t.state_type)
        )
        with self._reading() as conn:
            return {StateType(s): int(n) for s, n in conn.execute(query)}

    def count_task_runs_of(self, flow_run_ids: Sequence[str]) -> dict[str, dict[StateType, int]]:
        ids = list(dict.fromkeys(flow_run_ids))
        counts: dict[str, dict[StateType, int]] = defaultdict(dict)
        t = task_run.c
        with self._reading() as conn:
            for start in range(0, len(ids), ID_SLICE):
                query = (
                    sa.select(t.flow_run_id, t.state_type, sa.func.count())
                    .where(t.flow_run_id.in_(ids[start : start + ID_SLICE]))
                    .group_by(t.flow_run_id, t.state_type)
                )
                for run_id, state, n in conn.execute(query):
                    counts[run_id][StateType(state)] = int(n)
        return dict(counts)

    def read_flow_stats(
        self, since: float | None = None, flow_name: str | None = None
    ) -> list[FlowStats]:
        f = flow_run.c
        window = sa.select(f.flow_name, f.state_type, f.sort_time)
        if since is not None:
            window = window.where(f.sort_time >= float(since))
        if flow_name is not None:  # the (flow_name, sort_time) index finds its window
            window = window.where(f.flow_name == storable_text(flow_name))
        # A subquery with a LIMIT is not flattened by SQLite: for all flows it then reads the
        # window from the (sort_time, state_type, flow_name) index alone, instead of walking
        # every row by the (flow_name, sort_time) index for the GROUP BY (5x slower over
        # 100,000 runs).
        c = window.limit(UNLIMITED).subquery().c
        completed = sa.func.sum(sa.case((c.state_type == StateType.COMPLETED.value, 1), else_=0))
        failed = sa.func.sum(sa.case((c.state_type.in_(FAILED_TYPES), 1), else_=0))
        query = (
            sa.select(c.flow_name, sa.func.count(), completed, failed, sa.func.max(c.sort_time))
            .group_by(c.flow_name)
            .order_by(c.flow_name)
        )
        with self._reading() as conn:
            return [
                FlowStats(name, int(n), int(ok or 0), int(bad or 0), last)
                for name, n, ok, bad, last in conn.execute(query)
            ]

    def read_run_points(self, filter: FlowRunFilter | None, limit: int) -> list[RunPoint]:
        check_page(limit, 0)
        c = flow_run.c
        query = (
            sa.select(
                c.id,
                c.name,
                c.state_type,
                c.state_name,
                c.start_time,
                c.end_time,
                c.state_timestamp,
            )
            .where(c.start_time.is_not(None), *self._conditions(filter))
            .order_by(c.sort_time.desc(), c.id.desc())
            .limit(limit)
        )
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [
            RunPoint(
                id_,
                name,
                StateType(type_),
                state_name,
                start,
                max(0.0, (end if end is not None else state_ts) - start),
            )
            for id_, name, type_, state_name, start, end, state_ts in rows
        ]

    def read_recent_failures(self, since: float, limit: int) -> list[FlowRun]:
        check_page(limit, 0)
        c = flow_run.c
        # `state_type || ''` keeps SQLite off the state_type index: it walks the window back
        # from its end by the (sort_time, id) index and stops at `limit` failures (~0.1 ms),
        # where the state_type index would visit every failed run of the history (~15 ms).
        query = (
            sa.select(flow_run)
            .where(c.sort_time >= float(since), (c.state_type + "").in_(FAILED_TYPES))
            .order_by(c.sort_time.desc(), c.id.desc())
            .limit(limit)
        )
        with self._reading() as conn:
            return [flow_run_from_row(r) for r in conn.execute(query)]

    def read_upcoming_runs(self, limit: int) -> list[DeploymentRun]:
        check_page(limit, 0)
        c = flow_run.c
        query = (
            sa.select(flow_run)
            .where(c.state_name == "Scheduled", c.claimed_by.is_(None))
            .order_by(c.expected_start_time, c.id)
            .limit(limit)
        )
        with self._reading() as conn:
            return [deployment_run_from_row(r) for r in conn.execute(query)]
