"""DeploymentStore on SQLite and PostgreSQL: deployments, pools, queues, workers, scheduling.

Claims are in test_deployment_claims.py; scheduling races here (one run per deployment and time).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from mainspring.exceptions import InvalidSchedule, ObjectNotFound
from mainspring.model import StateType
from mainspring.model.deployments import Deployment, WorkPool, WorkQueue
from mainspring.model.schedules import Cron, Interval, Plan, PlannedRun, plan_runs
from mainspring.store.deployments import DeploymentStore
from mainspring.store.sql import SqlStore
from mainspring.store.sql.schema import flow_run

from .conftest import T0

ANCHOR = datetime.fromtimestamp(T0, UTC)


def interval_deployment(**fields: object) -> Deployment:
    values: dict[str, object] = {
        "flow_name": "etl",
        "name": "hourly",
        "entrypoint": "flows/etl.py:etl",
        "parameters": {"source": "s3://in", "limit": 10},
        "tags": ["nightly", "team-a"],
        "schedules": [Interval(60, anchor_date=ANCHOR)],
        "work_pool_name": "pool",
    }
    values.update(fields)
    return Deployment(**values)  # type: ignore[arg-type]


def plan_of(times: list[float], until: float | None = None) -> Plan:
    runs = tuple(PlannedRun(t, 0) for t in times)
    return Plan(runs, until if until is not None else max(times))


def names(runs: list) -> list[tuple[float, str]]:
    return [(r.expected_start_time, r.run.state_name) for r in runs]


# -- deployments -----------------------------------------------------------------------------
def test_sql_store_is_a_deployment_store(store: SqlStore) -> None:
    assert isinstance(store, DeploymentStore)


def test_deployment_round_trip(store: SqlStore) -> None:
    given = interval_deployment(
        description="Loads the day's data.",
        version="1.2",
        parameter_openapi_schema={"type": "object", "properties": {"limit": {"type": "integer"}}},
        schedules=[Cron("30 1 * * *", timezone="America/New_York"), Interval(3600, active=False)],
        catch_up="all",
        max_lateness=600,
        concurrency_limit=2,
        collision_strategy="cancel_new",
        work_queue_name="fast",
        retries=3,
    )
    stored = store.upsert_deployment(given, now=T0)
    assert stored.id == given.id
    assert (stored.created, stored.updated, stored.scheduled_until) == (T0, T0, None)
    for read in (store.read_deployment(given.id), store.find_deployment("etl", "hourly")):
        for name in Deployment.__slots__:
            if name not in ("created", "updated"):
                assert getattr(read, name) == getattr(given, name), name
    assert [d.id for d in store.read_deployments()] == [given.id]
    assert store.read_deployments(flow_name="other") == []
    assert [f.name for f in store.read_flows()] == ["etl"]  # the flow is registered too


def test_registering_again_keeps_the_id_and_updates_the_rest(store: SqlStore) -> None:
    first = store.upsert_deployment(interval_deployment(), now=T0)
    again = store.upsert_deployment(
        interval_deployment(parameters={"limit": 5}, tags=["x"]), now=T0 + 10
    )
    assert again.id == first.id
    assert (again.created, again.updated) == (T0, T0 + 10)
    assert (again.parameters, again.tags) == ({"limit": 5}, ["x"])
    assert len(store.read_deployments()) == 1


def test_concurrent_first_registrations_make_one_deployment(store_url: str) -> None:
    SqlStore(store_url).read_flows()  # migrated once
    ids: list[str] = []
    barrier = threading.Barrier(4)

    def register() -> None:
        s = SqlStore(store_url)
        barrier.wait()
        ids.append(s.upsert_deployment(interval_deployment()).id)
        s.close()

    threads = [threading.Thread(target=register) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 4 and len(set(ids)) == 1
    assert len(SqlStore(store_url).read_deployments()) == 1


def test_unknown_deployments(store: SqlStore) -> None:
    with pytest.raises(ObjectNotFound):
        store.read_deployment("nope")
    with pytest.raises(ObjectNotFound, match="etl/none"):
        store.find_deployment("etl", "none")
    with pytest.raises(ObjectNotFound):
        store.delete_deployment("nope")
    with pytest.raises(ObjectNotFound):
        store.set_deployment_paused("nope", True)
    assert store.schedule_runs("nope", plan_of([T0])) == 0


def test_bad_deployments_are_refused_when_made() -> None:
    with pytest.raises(ValueError, match="255"):
        interval_deployment(name="x" * 256)
    with pytest.raises(ValueError, match="'/'"):
        interval_deployment(name="a/b")
    with pytest.raises(ValueError, match="catch-up policy"):
        interval_deployment(catch_up="some")
    with pytest.raises(ValueError, match="collision strategy"):
        interval_deployment(collision_strategy="drop")
    with pytest.raises(ValueError, match="concurrency_limit"):
        interval_deployment(concurrency_limit=-1)
    with pytest.raises(InvalidSchedule):
        interval_deployment(schedules=[{"kind": "cron", "cron": "not a cron"}])
    with pytest.raises(ValueError, match="work pool type"):
        WorkPool("p", type="bogus")


# -- scheduling ------------------------------------------------------------------------------
def test_schedule_runs_creates_each_run_once_and_advances_the_watermark(store: SqlStore) -> None:
    d = store.upsert_deployment(interval_deployment(), now=T0)
    plan = plan_runs(
        d.schedule_objects(), now=T0 + 300, scheduled_until=T0, horizon=300, policy="latest"
    )
    assert store.schedule_runs(d.id, plan, now=T0 + 300) == len(plan.runs) == 10
    assert store.schedule_runs(d.id, plan, now=T0 + 301) == 0  # a second scheduler, a restart
    assert store.read_deployment(d.id).scheduled_until == T0 + 600

    runs = store.read_deployment_runs(d.id)
    assert names(runs) == [(T0 + 60 * i, "Skipped") for i in range(1, 4)] + [
        (T0 + 60 * i, "Scheduled") for i in range(4, 11)
    ]
    skipped, scheduled = runs[0], runs[3]
    assert skipped.run.state.type is StateType.CANCELLED
    assert "catch-up policy 'latest'" in (skipped.run.state.message or "")
    assert scheduled.run.state.type is StateType.SCHEDULED
    assert scheduled.run.parameters == {"source": "s3://in", "limit": 10}
    assert scheduled.run.tags == ["nightly", "team-a"]
    assert scheduled.run.entrypoint == "flows/etl.py:etl"
    assert scheduled.run.deployment_id == d.id
    assert (scheduled.work_pool_name, scheduled.work_queue_name) == ("pool", "default")
    assert [s.name for s in store.read_states(scheduled.run.id)] == ["Scheduled"]

    # an older plan (a slow scheduler) never moves the watermark back
    store.schedule_runs(d.id, plan_of([T0 + 60], until=T0 + 60), now=T0 + 302)
    assert store.read_deployment(d.id).scheduled_until == T0 + 600


def test_a_schedules_parameters_overlay_the_deployments(store: SqlStore) -> None:
    d = store.upsert_deployment(interval_deployment(), now=T0)
    plan = Plan((PlannedRun(T0 + 60, 0, {"limit": 99}),), T0 + 60)
    store.schedule_runs(d.id, plan, now=T0)
    [run] = store.read_deployment_runs(d.id)
    assert run.run.parameters == {"source": "s3://in", "limit": 99}


def test_the_unique_index_refuses_a_second_run_for_a_deployment_and_time(store: SqlStore) -> None:
    d = store.upsert_deployment(interval_deployment(), now=T0)
    store.schedule_runs(d.id, plan_of([T0 + 60]), now=T0)
    [run] = store.read_deployment_runs(d.id)
    with store.engine().connect() as conn:
        row = dict(
            conn.execute(sa.select(flow_run).where(flow_run.c.id == run.run.id)).one()._mapping
        )
        row["id"] = "another-id"
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.insert(flow_run).values(**row))
        conn.rollback()
        row["deployment_id"] = None  # runs outside deployments are not constrained
        conn.execute(sa.insert(flow_run).values(**row))
        row["id"] = "a-third-id"
        conn.execute(sa.insert(flow_run).values(**row))
        conn.commit()


PLAN_TIMES = [T0 + 60 * i for i in range(1, 41)]


def test_threads_scheduling_the_same_plan_at_once_create_each_run_once(store_url: str) -> None:
    setup = SqlStore(store_url)
    d = setup.upsert_deployment(interval_deployment(), now=T0)
    created: list[int] = []
    barrier = threading.Barrier(4)

    def schedule() -> None:
        s = SqlStore(store_url)
        s.read_flows()
        barrier.wait()
        created.append(s.schedule_runs(d.id, plan_of(PLAN_TIMES), now=T0))
        s.close()

    threads = [threading.Thread(target=schedule) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(created) == [0, 0, 0, 40]
    runs = setup.read_deployment_runs(d.id)
    assert [r.expected_start_time for r in runs] == PLAN_TIMES


SCHEDULER = """
import sys, time
from mainspring.model.schedules import Plan, PlannedRun
from mainspring.store.sql import SqlStore
url, deployment_id, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
times = [float(t) for t in sys.argv[4].split(",")]
store = SqlStore(url)
store.read_flows()
time.sleep(max(0.0, start_at - time.time()))
print(store.schedule_runs(deployment_id, Plan(tuple(PlannedRun(t, 0) for t in times), max(times))))
"""


def test_processes_scheduling_the_same_plan_at_once_create_each_run_once(store_url: str) -> None:
    setup = SqlStore(store_url)
    d = setup.upsert_deployment(interval_deployment(), now=T0)
    start_at = time.time() + 3.0
    times = ",".join(repr(t) for t in PLAN_TIMES)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCHEDULER, store_url, d.id, str(start_at), times],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert sorted(int(out) for out, _ in outputs) == [0, 0, 40]
    assert [r.expected_start_time for r in setup.read_deployment_runs(d.id)] == PLAN_TIMES


# -- pausing and changing schedules ----------------------------------------------------------
def _scheduled(store: SqlStore, deployment_id: str) -> list[float | None]:
    waiting = store.read_deployment_runs(deployment_id, states=["Scheduled"])
    return [r.expected_start_time for r in waiting]


def test_pausing_deletes_waiting_runs_and_resuming_lets_them_be_recreated(store: SqlStore) -> None:
    store.create_work_pool(WorkPool("pool"))
    d = store.upsert_deployment(interval_deployment(), now=T0)
    store.schedule_runs(d.id, plan_of([T0 + 60 * i for i in range(1, 6)]), now=T0)
    [claimed] = store.claim_runs("pool", None, "w", 1, now=T0 + 60)  # a worker has this one

    paused = store.set_deployment_paused(d.id, True, now=T0 + 61)
    assert paused.paused and paused.scheduled_until is None
    assert _scheduled(store, d.id) == []
    remaining = store.read_deployment_runs(d.id)
    assert [r.run.id for r in remaining] == [claimed.run.id]  # a claimed run is left alone
    assert store.read_states(remaining[0].run.id)  # its history too
    # a plan made before the pause (a scheduler mid-tick) creates nothing now
    assert store.schedule_runs(d.id, plan_of([T0 + 120, T0 + 180]), now=T0 + 62) == 0
    assert _scheduled(store, d.id) == []

    resumed = store.set_deployment_paused(d.id, False, now=T0 + 500)
    assert not resumed.paused
    plan = plan_runs(
        resumed.schedule_objects(),
        now=T0 + 500,
        scheduled_until=resumed.scheduled_until,
        horizon=200,
    )
    assert store.schedule_runs(d.id, plan, now=T0 + 500) == 3  # from now on: nothing caught up
    assert _scheduled(store, d.id) == [T0 + 540, T0 + 600, T0 + 660]


def test_pausing_deletes_the_scheduled_runs_only(store: SqlStore) -> None:
    d = store.upsert_deployment(interval_deployment(), now=T0)
    store.schedule_runs(d.id, plan_of([T0 + 60, T0 + 120]), now=T0)
    by_hand = store.create_deployment_run(d.id, now=T0 + 1)
    later = store.create_deployment_run(d.id, when=T0 + 90, now=T0 + 1)

    store.set_deployment_paused(d.id, True, now=T0 + 2)

    assert _scheduled(store, d.id) == [by_hand.expected_start_time, T0 + 90]
    assert [r.run.id for r in store.read_deployment_runs(d.id)] == [by_hand.run.id, later.run.id]
    store.set_deployment_paused(d.id, False, now=T0 + 3)
    store.upsert_deployment(interval_deployment(paused=True), now=T0 + 4)  # paused again
    assert [r.run.id for r in store.read_deployment_runs(d.id)] == [by_hand.run.id, later.run.id]


def test_runs_from_before_the_marker_are_taken_as_scheduled(store: SqlStore) -> None:
    d = store.upsert_deployment(interval_deployment(), now=T0)
    store.schedule_runs(d.id, plan_of([T0 + 60]), now=T0)
    with store.engine().begin() as conn:  # as a row written before migration 0014 reads
        conn.execute(sa.update(flow_run).values(auto_scheduled=None))

    store.set_deployment_paused(d.id, True, now=T0 + 1)

    assert store.read_deployment_runs(d.id) == []


def test_registering_paused_deletes_waiting_runs(store: SqlStore) -> None:
    d = store.upsert_deployment(interval_deployment(), now=T0)
    store.schedule_runs(d.id, plan_of([T0 + 60, T0 + 120]), now=T0)
    store.upsert_deployment(interval_deployment(paused=True), now=T0 + 1)
    assert store.read_deployment_runs(d.id) == []


def test_changing_the_schedules_replaces_the_future_runs_they_made(store: SqlStore) -> None:
    d = store.upsert_deployment(interval_deployment(), now=T0)
    store.schedule_runs(d.id, plan_of([T0 + 60 * i for i in range(1, 6)]), now=T0)

    same = store.upsert_deployment(interval_deployment(description="new words"), now=T0 + 100)
    assert len(_scheduled(store, d.id)) == 5  # schedules unchanged: runs kept
    assert same.scheduled_until == T0 + 300

    changed = store.upsert_deployment(
        interval_deployment(schedules=[Interval(300, anchor_date=ANCHOR)]), now=T0 + 100
    )
    # the run due before the change (T0 + 60) stays due; the future ones are gone
    assert _scheduled(store, d.id) == [T0 + 60]
    assert changed.scheduled_until is None
    plan = plan_runs(changed.schedule_objects(), now=T0 + 100, horizon=600)
    store.schedule_runs(d.id, plan, now=T0 + 100)
    assert _scheduled(store, d.id) == [T0 + 60, T0 + 300, T0 + 600]


def test_changing_the_parameters_replaces_the_future_runs(store: SqlStore) -> None:
    d = store.upsert_deployment(interval_deployment(), now=T0)
    store.schedule_runs(d.id, plan_of([T0 + 60, T0 + 120]), now=T0)
    store.upsert_deployment(interval_deployment(parameters={"limit": 1}), now=T0 + 100)
    assert _scheduled(store, d.id) == [T0 + 60]
    store.schedule_runs(d.id, plan_of([T0 + 120]), now=T0 + 100)
    assert [r.run.parameters for r in store.read_deployment_runs(d.id)] == [
        {"source": "s3://in", "limit": 10},
        {"limit": 1},
    ]


def test_deleting_a_deployment_deletes_its_waiting_runs_only(store: SqlStore) -> None:
    store.create_work_pool(WorkPool("pool"))
    d = store.upsert_deployment(interval_deployment(), now=T0)
    store.schedule_runs(d.id, plan_of([T0 + 60, T0 + 120, T0 + 180]), now=T0)
    [claimed] = store.claim_runs("pool", None, "w", 1, now=T0 + 60)
    store.delete_deployment(d.id)
    with pytest.raises(ObjectNotFound):
        store.read_deployment(d.id)
    assert [r.run.id for r in store.read_deployment_runs(d.id)] == [claimed.run.id]
    assert store.schedule_runs(d.id, plan_of([T0 + 240]), now=T0) == 0


# -- pools, queues, workers ------------------------------------------------------------------
def test_pools_queues_and_workers(store: SqlStore) -> None:
    pool = store.create_work_pool(WorkPool("pool", concurrency_limit=4), now=T0)
    assert (pool.name, pool.type, pool.concurrency_limit, pool.created) == (
        "pool",
        "process",
        4,
        T0,
    )
    with pytest.raises(ValueError, match="exists already"):
        store.create_work_pool(WorkPool("pool"))
    store.create_work_pool(WorkPool("another", paused=True))
    assert [p.name for p in store.read_work_pools()] == ["another", "pool"]
    assert store.read_work_pool("another").paused

    store.create_work_queue(WorkQueue("pool", "urgent", priority=0, concurrency_limit=2))
    with pytest.raises(ValueError, match="already"):
        store.create_work_queue(WorkQueue("pool", "urgent"))
    with pytest.raises(ObjectNotFound):
        store.create_work_queue(WorkQueue("missing", "q"))
    queues = store.read_work_queues("pool")
    assert [(q.name, q.priority, q.concurrency_limit) for q in queues] == [
        ("urgent", 0, 2),
        ("default", 1, None),
    ]

    store.worker_heartbeat("pool", "w1", now=T0)
    store.worker_heartbeat("pool", "w2", now=T0 + 1)
    store.worker_heartbeat("pool", "w1", now=T0 + 5)
    assert [(w.name, w.last_heartbeat) for w in store.read_workers("pool")] == [
        ("w1", T0 + 5),
        ("w2", T0 + 1),
    ]
    with pytest.raises(ObjectNotFound):
        store.worker_heartbeat("missing", "w1")
    with pytest.raises(ObjectNotFound):
        store.read_work_pool("missing")
