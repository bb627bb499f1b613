"""Claiming deployment runs (DeploymentStore.claim_runs) on SQLite and PostgreSQL: order,
limits, stale claims, and concurrent claimers that each claim disjoint runs, together all."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from mainspring.exceptions import ObjectNotFound
from mainspring.model import State, StateType
from mainspring.model.deployments import Deployment, WorkPool, WorkQueue
from mainspring.model.orchestration import decide
from mainspring.model.schedules import Interval, Plan, PlannedRun
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore
from mainspring.store.sql.schema import flow_run, state_history

from .conftest import T0

DUE = T0 + 10_000  # `now` for claims: every planned time below is due


def deploy(store: SqlStore, name: str = "hourly", **fields: object) -> Deployment:
    values: dict[str, object] = {
        "flow_name": "etl",
        "name": name,
        "schedules": [Interval(60, anchor_date=datetime.fromtimestamp(T0, UTC))],
        "work_pool_name": "pool",
    }
    values.update(fields)
    return store.upsert_deployment(Deployment(**values), now=T0)  # type: ignore[arg-type]


def schedule(store: SqlStore, d: Deployment, times: list[float]) -> None:
    plan = Plan(tuple(PlannedRun(t, 0) for t in times), max(times))
    assert store.schedule_runs(d.id, plan, now=T0) == len(times)


def times(n: int, start: float = T0) -> list[float]:
    return [start + 60 * i for i in range(1, n + 1)]


@pytest.fixture
def pool(store: SqlStore) -> WorkPool:
    return store.create_work_pool(WorkPool("pool"))


def test_the_state_rules_allow_a_claim_and_its_release() -> None:
    assert decide(StateType.SCHEDULED, "Scheduled", StateType.PENDING, "Pending").accepted
    assert decide(StateType.PENDING, "Pending", StateType.SCHEDULED, "Scheduled").accepted


def test_claims_due_runs_oldest_first_as_pending(store: SqlStore, pool: WorkPool) -> None:
    d = deploy(store)
    schedule(store, d, times(5))
    claimed = store.claim_runs("pool", None, "w1", 2, now=T0 + 180)
    assert [c.expected_start_time for c in claimed] == [T0 + 60, T0 + 120]
    for c in claimed:
        assert (c.run.state_name, c.run.state.type) == ("Pending", StateType.PENDING)
        assert (c.claimed_by, c.claimed_at) == ("w1", T0 + 180)
        assert [s.name for s in store.read_states(c.run.id)] == ["Scheduled", "Pending"]
    # only T0 + 180 is due now; the two later ones are not
    later = store.claim_runs("pool", None, "w1", 10, now=T0 + 180)
    assert [c.expected_start_time for c in later] == [T0 + 180]
    assert store.claim_runs("pool", None, "w1", 10, now=T0 + 180) == []


def test_skipped_and_other_pools_runs_are_not_claimed(store: SqlStore, pool: WorkPool) -> None:
    store.create_work_pool(WorkPool("other"))
    d = deploy(store)
    other = deploy(store, "elsewhere", work_pool_name="other")
    store.schedule_runs(
        d.id, Plan((PlannedRun(T0 + 60, 0, {}, "missed"), PlannedRun(T0 + 120, 0)), T0 + 120)
    )
    schedule(store, other, times(1))
    assert [c.expected_start_time for c in store.claim_runs("pool", None, "w", 10, now=DUE)] == [
        T0 + 120
    ]
    with pytest.raises(ObjectNotFound):
        store.claim_runs("missing", None, "w", 1, now=DUE)


def test_queue_priority_then_age(store: SqlStore, pool: WorkPool) -> None:
    store.create_work_queue(WorkQueue("pool", "urgent", priority=0))
    store.create_work_queue(WorkQueue("pool", "slow", priority=5))
    normal = deploy(store, "normal")
    urgent = deploy(store, "urgent", work_queue_name="urgent")
    slow = deploy(store, "slow", work_queue_name="slow")
    schedule(store, slow, times(2))
    schedule(store, normal, times(2, start=T0 + 1))
    schedule(store, urgent, times(2, start=T0 + 2))
    claimed = store.claim_runs("pool", None, "w", 6, now=DUE)
    assert [c.work_queue_name for c in claimed] == ["urgent"] * 2 + ["default"] * 2 + ["slow"] * 2
    assert [c.expected_start_time for c in claimed[:2]] == [T0 + 62, T0 + 122]
    # a worker may serve some queues only
    schedule(store, normal, [T0 + 1000])
    schedule(store, slow, [T0 + 1000])
    only = store.claim_runs("pool", ["slow"], "w", 6, now=DUE)
    assert [c.work_queue_name for c in only] == ["slow"]


def test_a_paused_pool_gives_nothing(store: SqlStore) -> None:
    store.create_work_pool(WorkPool("pool", paused=True))
    schedule(store, deploy(store), times(3))
    assert store.claim_runs("pool", None, "w", 10, now=DUE) == []


def _finish(store: SqlStore, run_id: str, state: StateType) -> None:
    run = store.read_flow_run(run_id)
    run.state = State(state)
    store.write(Batch(flow_runs={run.id: run}))


def test_deployment_limit_enqueue_and_a_finished_run_frees_its_slot(
    store: SqlStore, pool: WorkPool
) -> None:
    d = deploy(store, concurrency_limit=2)
    schedule(store, d, times(5))
    first = store.claim_runs("pool", None, "w", 10, now=DUE)
    assert len(first) == 2
    assert store.claim_runs("pool", None, "w", 10, now=DUE) == []  # the others wait
    _finish(store, first[0].run.id, StateType.CRASHED)  # a crashed run holds no slot
    [third] = store.claim_runs("pool", None, "w", 10, now=DUE)
    assert third.expected_start_time == T0 + 180
    _finish(store, first[1].run.id, StateType.RUNNING)  # a running one still does
    assert store.claim_runs("pool", None, "w", 10, now=DUE) == []
    assert len(store.read_deployment_runs(d.id, states=["Scheduled"])) == 2


def test_a_limited_deployment_does_not_hold_back_others(store: SqlStore, pool: WorkPool) -> None:
    limited = deploy(store, "limited", concurrency_limit=1)
    free = deploy(store, "free")
    schedule(store, limited, times(250))  # more than a page of blocked candidates, oldest first
    schedule(store, free, times(3, start=T0 + 100_000 - 10_000))
    claimed = store.claim_runs("pool", None, "w", 10, now=T0 + 100_000)
    assert sorted(c.run.deployment_id for c in claimed) == [limited.id] + [free.id] * 3


def test_deployment_limit_cancel_new(store: SqlStore, pool: WorkPool) -> None:
    d = deploy(store, concurrency_limit=1, collision_strategy="cancel_new")
    schedule(store, d, times(3))
    claimed = store.claim_runs("pool", None, "w", 10, now=DUE)
    assert len(claimed) == 1
    cancelled = store.read_deployment_runs(d.id, states=["Cancelled"])
    assert len(cancelled) == 2
    assert "cancel_new" in (cancelled[0].run.state.message or "")


def test_pool_and_queue_limits(store: SqlStore) -> None:
    store.create_work_pool(WorkPool("pool", concurrency_limit=3))
    store.create_work_queue(WorkQueue("pool", "narrow", priority=0, concurrency_limit=1))
    narrow = deploy(store, "narrow", work_queue_name="narrow")
    wide = deploy(store, "wide")
    schedule(store, narrow, times(4))
    schedule(store, wide, times(4))
    claimed = store.claim_runs("pool", None, "w", 10, now=DUE)
    assert sorted(c.work_queue_name or "" for c in claimed) == ["default", "default", "narrow"]
    assert store.claim_runs("pool", None, "w", 10, now=DUE) == []


def test_stale_claims_return_to_scheduled_unless_started(store: SqlStore, pool: WorkPool) -> None:
    d = deploy(store)
    schedule(store, d, times(3))
    stale, started = store.claim_runs("pool", None, "dead", 2, now=T0 + 1000)
    [fresh] = store.claim_runs("pool", None, "alive", 1, now=T0 + 2000)
    run = store.read_flow_run(started.run.id)  # the run's own process took this one up
    run.state, run.pid, run.start_time = State(StateType.RUNNING), 4242, T0 + 1001
    store.write(Batch(flow_runs={run.id: run}))

    assert store.release_stale_claims(older_than=T0 + 1500) == 1
    [released] = store.read_deployment_runs(d.id, states=["Scheduled"])
    assert released.run.id == stale.run.id
    assert (released.claimed_by, released.claimed_at) == (None, None)
    assert "claim expired" in (released.run.state.message or "")
    history = [s.name for s in store.read_states(stale.run.id)]
    assert history == ["Scheduled", "Pending", "Scheduled"]
    assert store.read_flow_run(fresh.run.id).state_name == "Pending"  # claimed recently
    # due again at once, for another worker
    [again] = store.claim_runs("pool", None, "other", 1, now=T0 + 2000)
    assert (again.run.id, again.claimed_by) == (stale.run.id, "other")


# -- concurrent claimers ---------------------------------------------------------------------
RUNS = 50


def _prepare(store_url: str) -> list[str]:
    store = SqlStore(store_url)
    store.create_work_pool(WorkPool("pool"))
    d = deploy(store)
    schedule(store, d, times(RUNS))
    ids = [r.run.id for r in store.read_deployment_runs(d.id)]
    store.close()
    return ids


def _check_each_claimed_once(store_url: str, ids: list[str], by: dict[str, list[str]]) -> None:
    claimed = [run_id for runs in by.values() for run_id in runs]
    assert len(claimed) == len(set(claimed)), "a run was claimed twice"
    assert sorted(claimed) == sorted(ids)
    engine = sa.create_engine(sa.make_url(store_url).set(drivername=_driver(store_url)))
    with engine.connect() as conn:
        owners = dict(conn.execute(sa.select(flow_run.c.id, flow_run.c.claimed_by)).all())
        pendings = conn.execute(
            sa.select(sa.func.count()).where(state_history.c.name == "Pending")
        ).scalar_one()
    engine.dispose()
    assert pendings == RUNS
    for worker, runs in by.items():
        assert all(owners[run_id] == worker for run_id in runs)


def _driver(url: str) -> str:
    return "postgresql+psycopg" if url.startswith("postgres") else "sqlite"


def test_three_threads_claim_disjoint_runs_and_together_all(store_url: str) -> None:
    ids = _prepare(store_url)
    by: dict[str, list[str]] = {}
    barrier = threading.Barrier(3)

    def work(name: str) -> None:
        store = SqlStore(store_url)
        store.read_flows()
        got: list[str] = []
        barrier.wait()
        while batch := store.claim_runs("pool", None, name, 3, now=DUE):
            got += [c.run.id for c in batch]
        by[name] = got
        store.close()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _check_each_claimed_once(store_url, ids, by)


CLAIMER = """
import json, sys, time
from mainspring.store.sql import SqlStore
url, name, start_at, now = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
store = SqlStore(url)
store.read_flows()
time.sleep(max(0.0, start_at - time.time()))
got = []
while batch := store.claim_runs("pool", None, name, 2, now=now):
    got += [c.run.id for c in batch]
print(json.dumps(got))
"""


def test_three_processes_claim_disjoint_runs_and_together_all(store_url: str) -> None:
    ids = _prepare(store_url)
    start_at = time.time() + 3.0
    procs = {
        f"p{i}": subprocess.Popen(
            [sys.executable, "-c", CLAIMER, store_url, f"p{i}", str(start_at), str(DUE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    }
    by: dict[str, list[str]] = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        by[name] = json.loads(out)
    _check_each_claimed_once(store_url, ids, by)


def test_concurrent_claimers_respect_a_deployment_limit(store_url: str) -> None:
    store = SqlStore(store_url)
    store.create_work_pool(WorkPool("pool"))
    d = deploy(store, concurrency_limit=4)
    schedule(store, d, times(RUNS))
    claimed: list[str] = []
    barrier = threading.Barrier(3)

    def work(name: str) -> None:
        s = SqlStore(store_url)
        s.read_flows()
        barrier.wait()
        for _ in range(5):
            claimed.extend(c.run.id for c in s.claim_runs("pool", None, name, 3, now=DUE))
        s.close()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == len(set(claimed)) == 4
    store.close()


def test_a_waiting_claim_takes_a_run_that_falls_due_during_its_wait(
    store: SqlStore, pool: WorkPool
) -> None:
    """`now` is the first attempt's time and the waiting claim's clock runs on from it (it
    claimed with the first `now` for the whole wait, so a served run due in the middle of a
    wait waited for the next claim)."""
    d = deploy(store)
    now = time.time()
    schedule(store, d, [now + 0.5])
    claimed = store.claim_runs("pool", None, "w", 1, now, wait=30)
    assert [c.expected_start_time for c in claimed] == [now + 0.5]
    assert claimed[0].claimed_at is not None and claimed[0].claimed_at >= now + 0.5
