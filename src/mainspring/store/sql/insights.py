"""SqlInsights: the RunInsights protocol (store/insights.py) in SQL, mixed into SqlStore.

Each method is an aggregate the indexes bound, so a page costs what its window holds, not what
the history holds; counts by state over windows wider than a few hours read the hourly counts
(`flow_run_hour`, `task_run_hour`: migration 0015, store/sql/hour_counts.py), so a 30-day
window costs ~720 hours of counts, not a month of runs.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.exceptions import StoreError
from mainspring.model import FlowRun, FlowRunFilter, StateType
from mainspring.model.deployments import DeploymentRun
from mainspring.model.insights import FlowStats, RunPoint, StateBucket
from mainspring.model.text import storable_text
from mainspring.store.base import check_page
from mainspring.store.insights import RunInsights
from mainspring.store.sql.deployment_rows import deployment_run_from_row
from mainspring.store.sql.hour_counts import (
    MIN_ROLLUP_WIDTH,
    bucket_counts,
    flow_counts_since,
    latest_runs,
    seal_task_hours,
    task_counts,
)
from mainspring.store.sql.rows import flow_run_from_row
from mainspring.store.sql.scheduling import chunks
from mainspring.store.sql.schema import flow_run, task_run

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend

log = logging.getLogger(__name__)

MAX_BUCKETS = 1000
FAILED_TYPES = (StateType.FAILED.value, StateType.CRASHED.value)


class SqlInsights(RunInsights):
    """The RunInsights half of SqlStore; needs its `_reading` and `_conditions`."""

    if TYPE_CHECKING:
        _backend: SqlBackend

        def _reading(self) -> AbstractContextManager[sa.Connection]: ...

        def _transaction(self, what: str) -> AbstractContextManager[sa.Connection]: ...

        def _conditions(
            self, filter: FlowRunFilter | None, conn: sa.Connection | None = None
        ) -> list[sa.ColumnElement[bool]]: ...

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
        width = (until - since) / buckets
        if width >= MIN_ROLLUP_WIDTH:  # whole hours from the hourly counts (0015)
            boundaries = [since + k * width for k in range(buckets)] + [until]
            with self._reading() as conn:
                counts = bucket_counts(conn, boundaries)
            return [StateBucket(b, StateType(t), n) for (b, t), n in sorted(counts.items())]
        c = flow_run.c
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
        if self._backend.url.get_backend_name() == "sqlite":
            self._seal_task_hours()
        with self._reading() as conn:
            counts = task_counts(conn, float(since), float(until))
        return {StateType(s): n for s, n in counts.items()}

    def _seal_task_hours(self) -> None:
        """Move SQLite's task-run seal up to the last hour (about once an hour: the write is
        skipped when it is there). Counting stays exact if it cannot be moved now."""
        try:
            with self._transaction("count the task runs of the last hours") as conn:
                seal_task_hours(conn, time.time())
        except StoreError as exc:
            log.debug("task-run counts not sealed: %s", exc)

    def count_task_runs_of(self, flow_run_ids: Sequence[str]) -> dict[str, dict[StateType, int]]:
        ids = list(dict.fromkeys(flow_run_ids))
        counts: dict[str, dict[StateType, int]] = defaultdict(dict)
        t = task_run.c
        with self._reading() as conn:
            for chunk in chunks(ids):
                query = (
                    sa.select(t.flow_run_id, t.state_type, sa.func.count())
                    .where(t.flow_run_id.in_(chunk))
                    .group_by(t.flow_run_id, t.state_type)
                )
                for run_id, state, n in conn.execute(query):
                    counts[run_id][StateType(state)] = int(n)
        return dict(counts)

    def read_flow_stats(
        self, since: float | None = None, flow_name: str | None = None
    ) -> list[FlowStats]:
        # The hourly counts (0015) and the part-hour at the window's start; each flow's
        # latest run by the (flow_name, sort_time) index.
        name = storable_text(flow_name) if flow_name is not None else None
        with self._reading() as conn:
            counts = flow_counts_since(conn, None if since is None else float(since), name)
            flows = sorted({flow for flow, _ in counts})
            latest = latest_runs(conn, flows)
        stats = []
        for flow in flows:
            runs = {state: n for (f, state), n in counts.items() if f == flow}
            stats.append(
                FlowStats(
                    flow,
                    sum(runs.values()),
                    runs.get(StateType.COMPLETED.value, 0),
                    sum(runs.get(t, 0) for t in FAILED_TYPES),
                    latest.get(flow),
                )
            )
        return stats

    def read_run_points(self, filter: FlowRunFilter | None, limit: int) -> list[RunPoint]:
        check_page(limit, 0)
        c = flow_run.c
        with self._reading() as conn:
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
                .where(c.start_time.is_not(None), *self._conditions(filter, conn))
                .order_by(c.sort_time.desc(), c.id.desc())
                .limit(limit)
            )
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
