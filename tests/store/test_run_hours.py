"""The hourly counts of runs (migration 0015, kept by triggers) stay equal to a count of the
runs themselves, whatever path changes them, and the UI's aggregates read through them give
the answers a direct count gives. SQLite and PostgreSQL."""

from __future__ import annotations

import bisect
import random
import time as clock
from collections import Counter
from dataclasses import replace

import pytest
import sqlalchemy as sa
from alembic import command

from mainspring.model import FlowRunFilter, State, StateType
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore
from mainspring.store.sql.hour_counts import seal_task_hours
from mainspring.store.sql.migrations import alembic_config
from mainspring.store.sql.schema import (
    flow_run,
    flow_run_hour,
    task_run,
    task_run_hour,
    task_run_seal,
)

from .conftest import T0, make_flow_run, make_task_run

HOUR = 3600
TYPES = [StateType.RUNNING, StateType.COMPLETED, StateType.FAILED, StateType.CRASHED]


def kept_counts(store: SqlStore) -> tuple[Counter, Counter]:
    """The hourly counts as kept (zeros left out)."""
    f, t = flow_run_hour.c, task_run_hour.c
    with store.engine().connect() as conn:
        flows = Counter({(int(h), s, n): int(c) for h, s, n, c in conn.execute(sa.select(f)) if c})
        tasks = Counter({(int(h), s): int(c) for h, s, c in conn.execute(sa.select(t)) if c})
    return flows, tasks


def counted_counts(store: SqlStore) -> tuple[Counter, Counter]:
    """The same counts, from the runs themselves (task runs: those before the seal)."""
    r, t = flow_run.c, task_run.c
    with store.engine().connect() as conn:
        flows = Counter(
            (int(time // HOUR), s, n)
            for time, s, n in conn.execute(sa.select(r.sort_time, r.state_type, r.flow_name))
        )
        seal = conn.execute(sa.select(task_run_seal.c.sealed_until)).scalar()
        tasks = Counter(
            (int(time // HOUR), s)
            for time, s in conn.execute(sa.select(t.created, t.state_type))
            if seal is None or time < seal
        )
    return flows, tasks


def assert_counts_exact(store: SqlStore) -> None:
    assert kept_counts(store) == counted_counts(store)


def spread_history(store: SqlStore, rng: random.Random, runs: int = 60) -> list:
    """Runs of two flows over three days, each with two task runs, written in one batch."""
    batch = Batch()
    made = []
    for i in range(runs):
        at = T0 + rng.uniform(0, 3 * 86400)
        run = make_flow_run(
            rng.choice(["etl", "report"]),
            state=State(rng.choice(TYPES), ts=at + 5),
            created=at - rng.uniform(0, 2 * HOUR),  # its hour may change once it starts
            start_time=at if i % 3 else None,
        )
        batch.flow_runs[run.id] = run
        for key in ("a-0", "b-0"):
            task = make_task_run(run.id, key, created=at + 1, state=State(rng.choice(TYPES)))
            batch.task_runs[task.id] = task
        made.append(run)
    store.write(batch)
    return made


def test_counts_stay_exact_through_writes_transitions_resumes_and_deletes(store) -> None:
    rng = random.Random(15)
    runs = spread_history(store, rng)
    assert_counts_exact(store)

    # the recorder's path again: the same runs written with new states and start times
    again = Batch()
    for run in runs[::2]:
        started = run.created + rng.uniform(0, 3 * HOUR)
        again.flow_runs[run.id] = replace(
            run, state=State(StateType.COMPLETED, ts=started + 9), start_time=started
        )
    tasks = [store.read_task_runs(run.id) for run in runs[::3]]
    for task in (t for group in tasks for t in group):  # task runs retried, moved an hour
        again.task_runs[task.id] = replace(
            task, state=State(StateType.RUNNING), created=task.created + HOUR
        )
    store.write(again)
    assert_counts_exact(store)

    # compare-and-set from outside (the API, the UI): a cancel, a failure, a forced resume
    for run in runs[1::4]:
        store.set_state(run.id, State(StateType.CRASHED, message="lost"), force=True)
        store.set_state(run.id, State(StateType.RUNNING), force=True)
    assert_counts_exact(store)

    # deployment runs: made, claimed, started, crashed, requeued, forgotten with the deployment
    store.create_work_pool(WorkPool("pool"))
    deployment = store.upsert_deployment(
        Deployment("etl", "nightly", entrypoint="f.py:etl", work_pool_name="pool", retries=2)
    )
    made = [store.create_deployment_run(deployment.id, now=T0 + i).run.id for i in range(6)]
    claimed = store.claim_runs("pool", None, "w1", 3, now=T0 + 10)
    assert store.start_claimed_run(claimed[0].run.id, "w1", now=T0 + 11)
    store.set_state(claimed[0].run.id, State(StateType.CRASHED, message="killed"))
    assert store.requeue_crashed_runs(now=T0 + 20) == [claimed[0].run.id]
    assert_counts_exact(store)
    store.delete_deployment(deployment.id)  # deletes its runs that have not started
    assert len(store.read_flow_runs(limit=1000)) < len(runs) + len(made)
    assert_counts_exact(store)


def brute_buckets(store: SqlStore, boundaries: list[float]) -> dict:
    with store.engine().connect() as conn:
        rows = conn.execute(sa.select(flow_run.c.sort_time, flow_run.c.state_type)).all()
    counts: Counter = Counter()
    for time, state in rows:
        if boundaries[0] <= time < boundaries[-1]:
            counts[bisect.bisect_right(boundaries, time) - 1, StateType(state)] += 1
    return dict(counts)


def test_long_windows_match_a_direct_count(store) -> None:
    spread_history(store, random.Random(7), runs=150)
    since = T0 + 1234.5  # not on an hour: the part-hours come from the runs
    for until, buckets in ((since + 3 * 86400, 12), (since + 2 * 86400, 48), (T0 + 86400, 5)):
        width = (until - since) / buckets
        boundaries = [since + k * width for k in range(buckets)] + [until]
        got = {
            (b.bucket, b.state_type): b.count
            for b in store.count_flow_runs_by_state(since, until, buckets)
        }
        assert got == brute_buckets(store, boundaries)
        assert sum(got.values()) > 0


def test_flow_stats_and_task_counts_match_a_direct_count(store) -> None:
    spread_history(store, random.Random(3), runs=120)
    since = T0 + 86400 + 17.0
    with store.engine().connect() as conn:
        runs = conn.execute(
            sa.select(flow_run.c.flow_name, flow_run.c.state_type, flow_run.c.sort_time)
        ).all()
        tasks = conn.execute(sa.select(task_run.c.created, task_run.c.state_type)).all()
    for flow in ("etl", "report"):
        mine = [(s, t) for f, s, t in runs if f == flow and t >= since]
        [stats] = store.read_flow_stats(since, flow)
        assert (stats.runs, stats.completed, stats.failed) == (
            len(mine),
            sum(s == "COMPLETED" for s, _ in mine),
            sum(s in ("FAILED", "CRASHED") for s, _ in mine),
        )
        assert stats.last_run == max(t for s, t in mine)
    assert {s.flow_name: s.runs for s in store.read_flow_stats()} == Counter(f for f, *_ in runs)
    until = since + 36 * HOUR + 5
    expected = Counter(StateType(s) for c, s in tasks if since <= c < until)
    assert store.count_task_runs_by_state(since, until) == dict(expected)


def test_the_migration_counts_the_runs_already_there(store_url) -> None:
    store = SqlStore(store_url)
    spread_history(store, random.Random(1), runs=20)
    with store.engine().begin() as conn:
        command.downgrade(alembic_config(conn), "0013")  # drops the counts and triggers
    spread_history(store, random.Random(2), runs=30)  # written with nothing counting them
    with store.engine().begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert_counts_exact(store)
    flows, _ = kept_counts(store)
    assert sum(flows.values()) == 50
    store.close()


def test_recent_task_runs_are_counted_from_the_runs_until_sealed(store) -> None:
    """SQLite counts the last hours' task runs from the runs (its triggers skip them, for the
    write path's sake); moving the seal counts them into the table, exactly."""
    now = clock.time()
    recent = [make_flow_run("etl", created=now - 60, start_time=now - 60) for _ in range(3)]
    batch = Batch(flow_runs={r.id: r for r in recent})
    for i, run in enumerate(recent):
        task = make_task_run(run.id, "a-0", created=now - 60 + i, state=State(TYPES[i]))
        batch.task_runs[task.id] = task
    store.write(batch)
    expected = {TYPES[0]: 1, TYPES[1]: 1, TYPES[2]: 1}
    assert store.count_task_runs_by_state(now - 7200, now + 1) == expected
    assert_counts_exact(store)
    with store.engine().begin() as conn:
        seal_task_hours(conn, now + 3 * HOUR)  # three hours later
        seal = conn.execute(sa.select(task_run_seal.c.sealed_until)).scalar()
    if store.engine().dialect.name == "sqlite":
        assert seal > now
    _, tasks = kept_counts(store)
    assert sum(tasks.values()) == 3
    assert_counts_exact(store)
    assert store.count_task_runs_by_state(now - 7200, now + 1) == expected


@pytest.mark.postgres
def test_postgres_indexes_the_tag_filter_and_the_name_search(postgres_database) -> None:
    store = SqlStore(postgres_database)
    try:
        batch = Batch()
        for i in range(30):
            run = make_flow_run("etl", tags=["finance"] if i % 3 == 0 else ["ml"])
            batch.flow_runs[run.id] = run
        store.write(batch)
        with store.engine().connect() as conn:
            names = {n for (n,) in conn.exec_driver_sql("SELECT indexname FROM pg_indexes")}
            assert "ix_flow_run_tags_gin" in names and "ix_flow_run_name_trgm" in names
            conn.exec_driver_sql("SET enable_seqscan = off")  # as with a long history
            plan = conn.execute(
                sa.text("EXPLAIN SELECT count(*) FROM flow_run WHERE name ILIKE :q"),
                {"q": "%run-%"},
            ).all()
            searched = sa.select(sa.func.count()).select_from(flow_run)
            searched = searched.where(*store._conditions(FlowRunFilter(name_contains="run-")))
            sql = searched.compile(conn, compile_kwargs={"literal_binds": True})
            plan += conn.exec_driver_sql(f"EXPLAIN {sql}".replace("%", "%%")).all()
            plan += conn.execute(
                sa.text("EXPLAIN SELECT count(*) FROM flow_run WHERE tags @> CAST(:t AS jsonb)"),
                {"t": '["finance"]'},
            ).all()
        said = " ".join(line for (line,) in plan)
        assert said.count("ix_flow_run_name_trgm") == 2 and "ix_flow_run_tags_gin" in said
        assert store.count_flow_runs(FlowRunFilter(tags=["finance"])) == 10
        assert store.count_flow_runs(FlowRunFilter(tags=["finance"], name_contains="RUN-")) == 10
    finally:
        store.close()
