"""The scheduler's bulk writes on SQLite and PostgreSQL: many deployments planned in one
transaction create exactly their runs (once, whoever plans), missed runs are moved in one
compare-and-set, and a backlog worked off in bounded ticks ends as one unbounded tick would."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mainspring.deploy.scheduler import Scheduler
from mainspring.deploy.tick_budget import MIN_PIECE
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.schedules import Cron, Interval, Plan, PlannedRun
from mainspring.model.states import Late, State, StateType
from mainspring.store.sql import SqlStore

T0 = 1_700_000_040.0  # a whole minute: on the grid of both schedules below
ANCHOR = datetime.fromtimestamp(T0, UTC)


def many(store: SqlStore, count: int, **fields: object) -> list[Deployment]:
    """`count` deployments, half a 60 s interval and half cron every minute, on pool 'pool'."""
    made = []
    for i in range(count):
        schedule = Interval(60, anchor_date=ANCHOR) if i % 2 else Cron("* * * * *")
        deployment = Deployment(
            flow_name=f"flow{i % 3}",
            name=f"d{i:03}",
            entrypoint="flows.py:f",
            schedules=[schedule],
            parameters={"i": i},
            tags=["bulk"],
            work_pool_name="pool",
            **fields,  # type: ignore[arg-type]
        )
        made.append(store.upsert_deployment(deployment, now=T0))
    return made


def times_of(store: SqlStore, deployment: Deployment) -> list[float]:
    return [r.expected_start_time or 0 for r in store.read_deployment_runs(deployment.id)]


def test_schedule_plans_creates_exactly_the_planned_runs(store: SqlStore) -> None:
    deployments = many(store, 30)
    paused = store.upsert_deployment(
        Deployment(flow_name="flow0", name="paused", schedules=[Interval(60)], paused=True),
        now=T0,
    )
    plans = []
    for i, d in enumerate(deployments):
        runs = [PlannedRun(T0 + 60 * k, 0) for k in range(1, 6)]
        if i == 0:  # one time skipped by the plan (a catch-up policy's reason)
            runs[0] = PlannedRun(T0 + 60, 0, skipped_reason="skipped by the plan")
        plans.append((d.id, Plan(tuple(runs), T0 + 300)))
    plans.append((paused.id, Plan((PlannedRun(T0 + 60, 0),), T0 + 60)))
    plans.append(("no-such-deployment", Plan((PlannedRun(T0 + 60, 0),), T0 + 60)))
    assert store.schedule_plans(plans, now=T0) == 30 * 5
    assert store.schedule_plans(plans, now=T0 + 1) == 0  # again: a restart, a second scheduler
    for i, d in enumerate(deployments):
        runs = store.read_deployment_runs(d.id)
        assert [r.expected_start_time for r in runs] == [T0 + 60 * k for k in range(1, 6)]
        assert {r.run.parameters["i"] for r in runs} == {i}
        assert all(r.run.tags == ["bulk"] and r.work_queue_name == "default" for r in runs)
        assert all(r.run.flow_name == d.flow_name for r in runs)
        assert store.read_deployment(d.id).scheduled_until == T0 + 300
        for r in runs:  # each run's timeline starts with the state it was made in
            assert [s.name for s in store.read_states(r.run.id)] == [r.run.state.name]
    first = store.read_deployment_runs(deployments[0].id)[0].run
    assert (first.state.name, first.state.message) == ("Skipped", "skipped by the plan")
    assert first.end_time == T0
    assert store.read_deployment_runs(paused.id) == []


def test_schedule_plans_never_moves_a_watermark_back(store: SqlStore) -> None:
    (d,) = many(store, 1)
    store.schedule_plans([(d.id, Plan((PlannedRun(T0 + 600, 0),), T0 + 600))], now=T0)
    store.schedule_plans([(d.id, Plan((PlannedRun(T0 + 60, 0),), T0 + 60))], now=T0)
    assert store.read_deployment(d.id).scheduled_until == T0 + 600
    assert times_of(store, d) == [T0 + 60, T0 + 600]


def test_move_waiting_runs_moves_only_runs_still_waiting(store: SqlStore) -> None:
    store.create_work_pool(WorkPool("pool"), now=T0)
    (d,) = many(store, 1)
    plan = Plan(tuple(PlannedRun(T0 + 60 * k, 0) for k in range(4)), T0 + 180)
    store.schedule_runs(d.id, plan, now=T0)
    runs = [r.run.id for r in store.read_deployment_runs(d.id)]
    (claimed,) = store.claim_runs("pool", None, "w", 1, T0 + 1)  # the first: a worker has it
    assert claimed.run.id == runs[0]
    skipped = State(StateType.CANCELLED, "Skipped", "missed", ts=T0 + 500)
    moves = [
        (runs[0], Late(message="too late for a claimed run", ts=T0 + 500)),
        (runs[1], Late(message="late", ts=T0 + 500)),
        (runs[2], skipped),
        ("no-such-run", skipped),
    ]
    assert store.move_waiting_runs(moves) == [runs[1], runs[2]]
    assert store.move_waiting_runs([(runs[1], Late(ts=T0 + 501))]) == []  # Late already
    assert store.read_flow_run(runs[0]).state.name == "Pending"
    late = store.read_flow_run(runs[1])
    assert (late.state.name, late.state.message, late.end_time) == ("Late", "late", None)
    ended = store.read_flow_run(runs[2])
    assert (ended.state.name, ended.end_time) == ("Skipped", T0 + 500)
    assert [s.name for s in store.read_states(runs[2])] == ["Scheduled", "Skipped"]
    assert store.read_flow_run(runs[3]).state.name == "Scheduled"
    # a Late run may still be skipped; a Skipped (ended) one is left alone
    assert store.move_waiting_runs([(runs[1], skipped), (runs[2], Late())]) == [runs[1]]


def test_find_overdue_runs_comes_by_deployment_and_honours_its_limit(store: SqlStore) -> None:
    deployments = many(store, 4)
    scheduler = Scheduler(store, horizon=300, lead=60)
    scheduler.catch_up(T0)
    found = store.find_overdue_runs(T0 + 400, 15)  # 5 missed runs each
    assert len(found) == 20
    assert [r.deployment_id for r in found] == sorted(d.id for d in deployments for _ in range(5))
    assert all(r.expected_start_time < T0 + 400 for r in found)
    assert [r.run_id for r in store.find_overdue_runs(T0 + 400, 15, limit=7)] == [
        r.run_id for r in found[:7]
    ]


def test_bounded_ticks_end_as_one_unbounded_tick(store_pair: tuple[SqlStore, SqlStore]) -> None:
    """A backlog (a first planning, then a catch-up with thousands of missed runs) spread over
    ticks of `plan_limit` deployments and `overdue_limit` runs ends with the same runs in the
    same states as a tick with no bound, and every bounded tick stays within its bounds."""
    bounded_store, unbounded_store = store_pair
    for s in store_pair:
        many(s, 12)
    bounded = Scheduler(bounded_store, plan_limit=5, overdue_limit=7, late_after=15)
    unbounded = Scheduler(
        unbounded_store, plan_limit=None, overdue_limit=None, budget=None, late_after=15
    )
    for now in (T0, T0 + 545, T0 + 1200):
        ticks = [bounded.tick(now)]
        while ticks[-1].more:
            ticks.append(bounded.tick(now))
        assert len(ticks) > 1
        assert all(t.planned <= 5 and len(t.late) + len(t.expired) <= 7 for t in ticks)
        assert not unbounded.tick(now).more
    assert outcome(bounded_store) == outcome(unbounded_store)
    states = {state for runs in outcome(bounded_store).values() for _, state in runs}
    assert states == {"Skipped", "Late", "Scheduled"}


def test_ticks_out_of_time_leave_work_to_the_next_and_end_as_one_unbounded_tick(
    store_pair: tuple[SqlStore, SqlStore],
) -> None:
    """A tick whose time budget is spent (here: at once) still takes one piece of each kind
    of work (`MIN_PIECE` runs), leaves the rest with `more`, and the ticks that follow take
    it: the same runs in the same states as a tick with no bound, none made twice."""
    budgeted_store, unbounded_store = store_pair
    for s in store_pair:
        many(s, 12)
    budgeted = Scheduler(budgeted_store, late_after=15, budget=1e-9)
    unbounded = Scheduler(
        unbounded_store, plan_limit=None, overdue_limit=None, budget=None, late_after=15
    )
    for now in (T0, T0 + 545, T0 + 1200):
        ticks = [budgeted.tick(now)]
        while ticks[-1].more:
            ticks.append(budgeted.tick(now))
        assert len(ticks) > 1 and all(t.more for t in ticks[:-1])
        # a piece: deployments until MIN_PIECE runs (10 or 9 runs each), MIN_PIECE moves
        assert all(t.planned <= 6 and len(t.late) + len(t.expired) <= MIN_PIECE for t in ticks)
        assert sum(t.planned for t in ticks) >= 12
        assert not unbounded.tick(now).more
    assert outcome(budgeted_store) == outcome(unbounded_store)
    for d in budgeted_store.read_deployments():
        assert len(times_of(budgeted_store, d)) == len(set(times_of(budgeted_store, d)))
    states = {state for runs in outcome(budgeted_store).values() for _, state in runs}
    assert states == {"Skipped", "Late", "Scheduled"}


class OverdueReadsCounted(SqlStore):
    """A real store that counts its reads of overdue runs."""

    reads = 0

    def find_overdue_runs(self, now: float, late_after: float, limit: int | None = None) -> list:
        self.reads += 1
        return super().find_overdue_runs(now, late_after, limit)


def test_moves_a_tick_had_no_time_for_are_made_by_the_next_without_reading_again(
    store: SqlStore,
) -> None:
    deployments = many(store, 12)
    counted = OverdueReadsCounted(store.url)
    try:
        scheduler = Scheduler(counted, late_after=15, budget=1e-9)
        scheduler.catch_up(T0)
        counted.reads = 0
        ticks = [scheduler.tick(T0 + 545)]  # 12 x 8 missed runs to move: a piece a tick
        while ticks[-1].more:
            ticks.append(scheduler.tick(T0 + 545))
        moved = sum(len(t.late) + len(t.expired) for t in ticks)
        assert moved == 12 * 8 and counted.reads < len(ticks)
        late = [r for d in deployments for r in store.read_deployment_runs(d.id, states=["Late"])]
        assert len(late) == 12  # 'latest': the newest missed run of each, the rest Skipped
    finally:
        counted.close()


def outcome(store: SqlStore) -> dict[str, list[tuple[float, str]]]:
    return {
        d.name: [
            (r.expected_start_time or 0, r.run.state.name) for r in store.read_deployment_runs(d.id)
        ]
        for d in store.read_deployments()
    }


@pytest.fixture
def store_pair(store: SqlStore, tmp_path: Path) -> Iterator[tuple[SqlStore, SqlStore]]:
    """The store under test (bounded ticks) and a fresh SQLite file (the unbounded tick)."""
    other = SqlStore(f"sqlite:///{tmp_path / 'other' / 'mainspring.db'}")
    yield store, other
    other.close()


def test_two_schedulers_in_threads_make_each_run_once(store: SqlStore) -> None:
    deployments = many(store, 40)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def tick_all(now: float) -> None:
        try:
            scheduler = Scheduler(store, plan_limit=7, overdue_limit=20)
            barrier.wait()
            scheduler.catch_up(now)
            scheduler.catch_up(now + 545)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tick_all, args=(T0,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    for d in deployments:
        times = times_of(store, d)
        assert len(times) == len(set(times)) == 19  # T0+60 ... T0+1140, each once


SCHEDULER = """
import sys
from mainspring.deploy.scheduler import Scheduler
from mainspring.deploy.tick_budget import MIN_PIECE
from mainspring.store.sql import SqlStore
store = SqlStore(sys.argv[1])
scheduler = Scheduler(store, plan_limit=7, overdue_limit=20)
sys.stdin.readline()  # start together
for now in (float(sys.argv[2]), float(sys.argv[2]) + 545):
    scheduler.catch_up(now)
store.close()
"""


@pytest.mark.slow
def test_three_scheduler_processes_make_each_run_once(store: SqlStore) -> None:
    deployments = many(store, 60)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCHEDULER, store.url, str(T0)],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for p in processes:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in processes:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    for d in deployments:
        times = times_of(store, d)
        assert len(times) == len(set(times)) == 19
    late = [r for d in deployments for r in store.read_deployment_runs(d.id, states=["Late"])]
    assert len(late) == len(deployments)  # catch-up 'latest': one missed run each runs
