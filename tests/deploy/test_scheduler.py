"""The scheduler tick on SQLite and PostgreSQL: plans, skips what is ahead, marks Late, honours
max_lateness, releases stale claims, and never makes a (deployment, time) twice."""

from __future__ import annotations

from datetime import UTC, datetime

from mainspring.deploy.scheduler import Scheduler
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.schedules import Interval
from mainspring.store.sql import SqlStore

T0 = 1_700_000_000.0
ANCHOR = datetime.fromtimestamp(T0, UTC)


def every_minute(name: str = "minutely", **fields: object) -> Deployment:
    values: dict[str, object] = {
        "flow_name": "etl",
        "name": name,
        "entrypoint": "flows/etl.py:etl",
        "schedules": [Interval(60, anchor_date=ANCHOR)],
        "work_pool_name": "pool",
    }
    values.update(fields)
    return Deployment(**values)  # type: ignore[arg-type]


def test_a_tick_plans_the_horizon_and_the_next_tick_skips_what_is_ahead(store: SqlStore) -> None:
    deployment = store.upsert_deployment(every_minute(), now=T0)
    scheduler = Scheduler(store, horizon=600, lead=60)
    first = scheduler.tick(T0)
    assert (first.planned, first.created) == (
        1,
        10,
    )  # T0+60 ... T0+600 (times after the watermark T0)
    again = scheduler.tick(T0 + 30)  # watermark T0+600 is > 60 s ahead: not even read
    assert (again.planned, again.created) == (0, 0)
    later = scheduler.tick(T0 + 550)  # now within `lead` of the watermark: planned on
    assert later.planned == 1 and later.created == 9  # up to T0+1150: T0+660 ... T0+1140
    times = [r.expected_start_time for r in store.read_deployment_runs(deployment.id)]
    assert len(times) == len(set(times)) == 19


def test_two_schedulers_ticking_at_once_make_each_run_once(store: SqlStore) -> None:
    deployment = store.upsert_deployment(every_minute(), now=T0)
    a, b = Scheduler(store), Scheduler(store)
    created = a.tick(T0).created + b.tick(T0).created
    runs = store.read_deployment_runs(deployment.id)
    assert created == len(runs) == len({r.expected_start_time for r in runs})


def test_paused_deployments_get_no_runs(store: SqlStore) -> None:
    deployment = store.upsert_deployment(every_minute(paused=True), now=T0)
    assert Scheduler(store).tick(T0).planned == 0
    assert store.read_deployment_runs(deployment.id) == []


def test_a_run_not_started_on_time_is_marked_late_once(store: SqlStore) -> None:
    deployment = store.upsert_deployment(every_minute(), now=T0)
    scheduler = Scheduler(store, late_after=15)
    scheduler.tick(T0)
    assert scheduler.tick(T0 + 70).late == []  # the first run (T0+60) is within the grace
    figures = scheduler.tick(T0 + 80)
    assert len(figures.late) == 1
    assert scheduler.tick(T0 + 85).late == []  # already Late
    late = store.read_deployment_runs(deployment.id, states=["Late"])
    assert [r.expected_start_time for r in late] == [T0 + 60]
    assert "20.0 s after its scheduled time" in (late[0].run.state.message or "")


def test_a_run_past_max_lateness_is_not_started(store: SqlStore) -> None:
    store.create_work_pool(WorkPool("pool"), now=T0)
    deployment = store.upsert_deployment(every_minute(max_lateness=30), now=T0)
    scheduler = Scheduler(store, late_after=5)
    scheduler.tick(T0)
    assert len(scheduler.tick(T0 + 70).late) == 1
    figures = scheduler.tick(T0 + 100)  # T0+60 is 40 s late; T0+120 not due
    assert len(figures.expired) == 1
    (skipped,) = store.read_deployment_runs(deployment.id, states=["Skipped"])
    assert skipped.expected_start_time == T0 + 60
    assert "max_lateness (30 s)" in (skipped.run.state.message or "")
    assert store.claim_runs("pool", None, "w", 10, T0 + 101) == []  # no worker starts it


def test_a_stale_claim_is_released_by_the_tick(store: SqlStore) -> None:
    store.create_work_pool(WorkPool("pool"), now=T0)
    deployment = store.upsert_deployment(every_minute(), now=T0)
    scheduler = Scheduler(store, claim_timeout=60)
    scheduler.tick(T0)
    (claimed,) = store.claim_runs("pool", None, "w", 1, T0 + 61)
    assert scheduler.tick(T0 + 90).released == 0  # claimed 29 s ago: still the worker's
    assert scheduler.tick(T0 + 130).released == 1  # 69 s, past the claim timeout
    (again,) = store.read_deployment_runs(deployment.id, states=["Scheduled"])[:1]
    assert again.run.id == claimed.run.id and again.claimed_by is None


def test_runs_planned_ahead_and_then_missed_follow_the_catch_up_policy(store: SqlStore) -> None:
    """serve() or the workers were down while runs made ahead of time came due: under `latest`
    only the newest of them runs, the others are Skipped with the reason."""
    latest = store.upsert_deployment(every_minute("latest"), now=T0)
    none = store.upsert_deployment(every_minute("none", catch_up="none"), now=T0)
    every = store.upsert_deployment(every_minute("all", catch_up="all"), now=T0)
    scheduler = Scheduler(store, late_after=15)
    scheduler.tick(T0)
    scheduler.tick(T0 + 200)  # T0+60, +120, +180 missed (+180 by 20 s)

    def states(deployment: Deployment, until: float = T0 + 200) -> list[tuple[float, str]]:
        return [
            (r.expected_start_time - T0, r.run.state.name)
            for r in store.read_deployment_runs(deployment.id)
            if r.expected_start_time < until
        ]

    assert states(latest) == [(60, "Skipped"), (120, "Skipped"), (180, "Late")]
    assert states(none) == [(60, "Skipped"), (120, "Skipped"), (180, "Skipped")]
    assert states(every) == [(60, "Late"), (120, "Late"), (180, "Late")]
    (skipped, *_) = store.read_deployment_runs(latest.id, states=["Skipped"])
    assert "'latest' runs only the newest" in (skipped.run.state.message or "")
    scheduler.tick(T0 + 260)  # +240 missed too: the earlier Late one is skipped now
    assert states(latest, T0 + 260)[-2:] == [(180, "Skipped"), (240, "Late")]


def test_a_tick_plans_at_most_plan_limit_deployments_most_urgent_first(store: SqlStore) -> None:
    for i in range(5):
        store.upsert_deployment(every_minute(f"d{i}"), now=T0)
    scheduler = Scheduler(store, plan_limit=2, budget=None)
    assert [scheduler.tick(T0 + i).planned for i in range(4)] == [2, 2, 1, 0]


def test_a_late_run_with_nothing_to_decide_is_not_read_again(store: SqlStore) -> None:
    """1,000 deployments without a worker must not cost a read of each per tick."""
    store.upsert_deployment(every_minute(), now=T0)
    scheduler = Scheduler(store, late_after=15)
    scheduler.tick(T0)
    assert len(scheduler.tick(T0 + 80).late) == 1
    assert store.find_overdue_runs(T0 + 90, 15) == []  # Late, and no newer missed run
    assert len(store.find_overdue_runs(T0 + 140, 15)) == 2  # +120 missed: +60 may be skipped
