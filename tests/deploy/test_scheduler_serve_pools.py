"""The scheduler leaves alone the deployments of a serve() process that is not running (no
worker heartbeat in its `serve-...` pool): no runs are planned that no one would run, and
serve() started again catches up from where it stopped. It also reschedules crashed runs of
deployments with `retries`. SQLite and PostgreSQL."""

from __future__ import annotations

from mainspring.deploy.scheduler import SERVE_ALIVE_WITHIN, Scheduler
from mainspring.model import State, StateType
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.schedules import Interval
from mainspring.store.sql import SqlStore

T0 = 1_800_000_000.0


def served(store: SqlStore, pool: str = "serve-0123456789ab") -> Deployment:
    store.create_work_pool(WorkPool(pool))
    return store.upsert_deployment(
        Deployment(
            flow_name="f",
            name="served",
            entrypoint="f.py:f",
            schedules=[Interval(60)],
            work_pool_name=pool,
        )
    )


def test_a_stopped_serve_process_gets_no_runs_until_it_is_back(store: SqlStore) -> None:
    d = served(store)
    scheduler = Scheduler(store)
    store.worker_heartbeat(d.work_pool_name or "", "serve-host-1", now=T0)
    assert scheduler.tick(T0).created > 0  # alive: planned
    planned = len(store.read_deployment_runs(d.id))
    later = T0 + 3600  # serve() stopped an hour ago: its heartbeat is old
    figures = scheduler.tick(later)
    assert figures.planned == 0
    future = [r for r in store.read_deployment_runs(d.id) if (r.expected_start_time or 0) > later]
    assert future == []
    assert len(store.read_deployment_runs(d.id)) == planned  # nothing new
    # serve() back: it heartbeats first, then its tick catches up by the policy (latest)
    store.worker_heartbeat(d.work_pool_name or "", "serve-host-2", now=later)
    scheduler.tick(later, late_after=0.0)
    missed = [r for r in store.read_deployment_runs(d.id) if (r.expected_start_time or 0) < later]
    waiting = [r for r in missed if r.run.state.name in ("Scheduled", "Late")]
    assert len(waiting) == 1  # the newest missed run runs; the others were Skipped
    assert any(r.expected_start_time > later for r in store.read_deployment_runs(d.id))


def test_other_pools_are_planned_whatever_their_workers(store: SqlStore) -> None:
    served(store, pool="local")
    assert Scheduler(store).tick(T0).created > 0


def test_stopped_serve_deployments_do_not_hold_back_the_others(store: SqlStore) -> None:
    for i in range(4):
        store.create_work_pool(WorkPool(f"serve-{i:012d}"))
        store.upsert_deployment(
            Deployment(
                flow_name="f",
                name=f"served-{i}",
                schedules=[Interval(60)],
                work_pool_name=f"serve-{i:012d}",
            )
        )
    store.create_work_pool(WorkPool("local"))
    other = store.upsert_deployment(
        Deployment(flow_name="g", name="worker", schedules=[Interval(60)], work_pool_name="local")
    )
    scheduler = Scheduler(store, plan_limit=2)  # a page filled by stopped serve() deployments
    assert scheduler.tick(T0).planned == 1
    assert store.read_deployment_runs(other.id) != []
    assert SERVE_ALIVE_WITHIN > 10  # several of serve()'s heartbeat intervals


def test_a_tick_reschedules_crashed_runs_of_deployments_with_retries(store: SqlStore) -> None:
    store.create_work_pool(WorkPool("local"))
    d = store.upsert_deployment(
        Deployment(flow_name="f", name="d", work_pool_name="local", retries=1)
    )
    run_id = store.create_deployment_run(d.id, now=T0).run.id
    store.claim_runs("local", None, "w", 1, now=T0)
    assert store.set_state(run_id, State(StateType.CRASHED)).accepted
    figures = Scheduler(store).tick(T0 + 10)
    assert figures.requeued == [run_id]
    assert store.read_flow_run(run_id).state_name == "Scheduled"
