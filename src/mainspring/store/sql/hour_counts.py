"""Counting flow runs over a window from `flow_run_hour` (migration 0015) plus the runs of the
window's edges, exactly.

A window split in buckets is read in two parts: the whole hours that lie inside one bucket
come from the hourly counts (a 30-day window: ~720 hours, whatever the number of runs), and
what is left (the part-hours at each bucket's edges) is counted from the runs themselves, by
the `sort_time` index. Buckets narrower than two hours hold few whole hours: those windows are
counted from the runs alone, as before (they are short, so cheap).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mainspring.store.sql.scheduling import chunks
from mainspring.store.sql.schema import (
    flow_run,
    flow_run_hour,
    task_run,
    task_run_hour,
    task_run_seal,
)
from mainspring.store.sql.task_hour_triggers import DROP, sqlite_task_triggers

HOUR = 3600
#: Buckets narrower than this are counted from the runs alone.
MIN_ROLLUP_WIDTH = 2 * HOUR
#: Edge ranges per UNION ALL (SQLite allows 500 terms in a compound SELECT).
RANGES_PER_QUERY = 200


@dataclass(slots=True)
class WindowPlan:
    """Where each bucket's counts come from: whole hours `[first_hour, end_hour)` from the
    hourly counts, and edge ranges `[start, end)` of `sort_time` from the runs."""

    hours: list[tuple[int, int, int]] = field(default_factory=list)  # (bucket, first, end)
    edges: list[tuple[int, float, float]] = field(default_factory=list)  # (bucket, start, end)


def plan_window(boundaries: Sequence[float]) -> WindowPlan:
    """The plan for buckets `[boundaries[k], boundaries[k + 1])`."""
    plan = WindowPlan()
    for bucket, (start, end) in enumerate(itertools.pairwise(boundaries)):
        first, last = math.ceil(start / HOUR), math.floor(end / HOUR)
        if first >= last:
            plan.edges.append((bucket, start, end))
            continue
        plan.hours.append((bucket, first, last))
        if start < first * HOUR:
            plan.edges.append((bucket, start, float(first * HOUR)))
        if last * HOUR < end:
            plan.edges.append((bucket, float(last * HOUR), end))
    return plan


def hour_counts(
    conn: sa.Connection, hours: Sequence[tuple[int, int, int]], counts: sa.Table = flow_run_hour
) -> dict[tuple[int, str], int]:
    """Runs in each bucket's whole hours `(bucket, first, end)`, by (bucket, state type): one
    range of the primary key (hour, state_type, ...), in its order (no sort), summed here."""
    if not hours:
        return defaultdict(int)
    h = counts.c
    firsts = [first for _, first, _ in hours]  # the plan's ranges are in order, disjoint
    query = (
        sa.select(h.hour, h.state_type, sa.func.sum(h.runs))
        .where(h.hour >= hours[0][1], h.hour < hours[-1][2])
        .group_by(h.hour, h.state_type)
    )
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for hour, state, n in conn.execute(query):
        bucket, _, end = hours[bisect.bisect_right(firsts, hour) - 1]
        if hour < end:  # not in a gap between two buckets' whole hours
            totals[bucket, state] += int(n)
    return totals


def edge_counts(
    conn: sa.Connection,
    edges: Sequence[tuple[int, float, float]],
    flow_name: str | None = None,
    by_flow: bool = False,
    time: sa.Column[float] = flow_run.c.sort_time,
) -> dict[tuple[int, str, str], int]:
    """Runs of each edge range `(bucket, start, end)` of `time`, counted from the runs
    themselves: by (bucket, flow name or '', state type)."""
    table = time.table
    state_type = table.c.state_type
    counts: dict[tuple[int, str, str], int] = defaultdict(int)
    for part in chunks(edges, RANGES_PER_QUERY):
        selects = []
        for bucket, low, high in part:
            flow = table.c.flow_name if by_flow else sa.literal("", sa.String)
            select = (
                sa.select(sa.literal(bucket, sa.Integer), flow, state_type, sa.func.count())
                .where(time >= low, time < high)
                .group_by(state_type, *([flow] if by_flow else []))
            )
            if flow_name is not None:
                select = select.where(table.c.flow_name == flow_name)
            selects.append(select)
        query = selects[0] if len(selects) == 1 else sa.union_all(*selects)
        for bucket, flow_, state, n in conn.execute(query):
            counts[int(bucket), flow_, state] += int(n)
    return counts


def bucket_counts(
    conn: sa.Connection,
    boundaries: Sequence[float],
    counts: sa.Table = flow_run_hour,
    time: sa.Column[float] = flow_run.c.sort_time,
) -> dict[tuple[int, str], int]:
    """Runs by (bucket, state type) for buckets `[boundaries[k], boundaries[k + 1])`."""
    plan = plan_window(boundaries)
    totals = hour_counts(conn, plan.hours, counts)
    for (bucket, _, state), n in edge_counts(conn, plan.edges, time=time).items():
        totals[bucket, state] += n
    return {key: n for key, n in totals.items() if n}


def flow_counts_since(
    conn: sa.Connection, since: float | None, flow_name: str | None
) -> dict[tuple[str, str], int]:
    """Runs with `sort_time >= since` (all when None) by (flow name, state type)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    first = 0 if since is None else math.ceil(since / HOUR)
    if since is not None and since < first * HOUR:
        edge = [(0, since, float(first * HOUR))]
        for (_, flow, state), n in edge_counts(conn, edge, flow_name, by_flow=True).items():
            counts[flow, state] += n
    h = flow_run_hour.c
    query = (
        sa.select(h.flow_name, h.state_type, sa.func.sum(h.runs))
        .where(h.hour >= first)
        .group_by(h.flow_name, h.state_type)
    )
    if flow_name is not None:
        query = query.where(h.flow_name == flow_name)
    for flow, state, n in conn.execute(query):
        counts[flow, state] += int(n)
    return {key: n for key, n in counts.items() if n}


def latest_runs(conn: sa.Connection, flow_names: Sequence[str]) -> dict[str, float]:
    """Each flow's latest `sort_time`: one descent of the (flow_name, sort_time) index each."""
    c = flow_run.c
    latest: dict[str, float] = {}
    for name in flow_names:
        value = conn.execute(sa.select(sa.func.max(c.sort_time)).where(c.flow_name == name))
        found = value.scalar()
        if found is not None:
            latest[name] = float(found)
    return latest


def task_counts(conn: sa.Connection, since: float, until: float) -> dict[str, int]:
    """Task runs created in [since, until) by state type: the hours before the seal from
    `task_run_hour`, the rest from the runs (migration 0015)."""
    seal = conn.execute(sa.select(task_run_seal.c.sealed_until)).scalar()
    counted_until = until if seal is None else min(until, float(seal))
    totals: dict[str, int] = defaultdict(int)
    if since < counted_until:
        window = [since, counted_until]
        for (_, state), n in bucket_counts(conn, window, task_run_hour, task_run.c.created).items():
            totals[state] += n
    if seal is not None and max(since, float(seal)) < until:
        edge = [(0, max(since, float(seal)), until)]
        for (_, _, state), n in edge_counts(conn, edge, time=task_run.c.created).items():
            totals[state] += n
    return {state: n for state, n in totals.items() if n}


def seal_task_hours(conn: sa.Connection, now: float) -> None:
    """SQLite: count into `task_run_hour` the task runs created from the seal to the start of
    the hour before `now`, and move the seal there, in its table and in the triggers (in the
    caller's write transaction, which on SQLite excludes every other writer, so no row is
    counted twice or missed)."""
    seal = conn.execute(sa.select(task_run_seal.c.sealed_until)).scalar()
    new_seal = float((math.floor(now / HOUR) - 1) * HOUR)
    if seal is None or float(seal) >= new_seal:
        return
    t = task_run.c
    hour = sa.cast(t.created / HOUR, sa.Integer)
    counted = (
        sa.select(hour, t.state_type, sa.func.count())
        .where(t.created >= float(seal), t.created < new_seal)
        .group_by(hour, t.state_type)
    )
    insert = sqlite_insert(task_run_hour).from_select(["hour", "state_type", "runs"], counted)
    runs = task_run_hour.c.runs + insert.excluded.runs
    conn.execute(
        insert.on_conflict_do_update(index_elements=["hour", "state_type"], set_={"runs": runs})
    )
    conn.execute(sa.update(task_run_seal).values(sealed_until=new_seal))
    for statement in (*DROP, *sqlite_task_triggers(new_seal)):  # the seal they hold
        conn.exec_driver_sql(statement)
