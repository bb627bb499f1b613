"""SqlStore only (the server's own): a started claim is never released as stale, a released
one is not the slow worker's to start; a deployment's `retries` reschedule its crashed runs.
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from mainspring.model import State, StateType
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

from .conftest import T0


@pytest.fixture
def pool(store: SqlStore) -> WorkPool:
    return store.create_work_pool(WorkPool("pool"))


def deploy(
    store: SqlStore, retries: int = 0, catch_up: str = "latest", name: str = "nightly"
) -> Deployment:
    return store.upsert_deployment(
        Deployment(
            flow_name="etl",
            name=name,
            entrypoint="flows.py:etl",
            work_pool_name="pool",
            retries=retries,
            catch_up=catch_up,  # type: ignore[arg-type]
        )
    )


def test_a_started_claim_is_not_released_while_its_worker_lives(
    store: SqlStore, pool: WorkPool
) -> None:
    d = deploy(store)
    run_id = store.create_deployment_run(d.id, now=T0).run.id
    store.claim_runs("pool", None, "w1", 1, now=T0)
    assert store.start_claimed_run(run_id, "w1", now=T0 + 1)
    store.worker_heartbeat("pool", "w1", now=T0 + 10_000)  # slow to start it, but alive
    assert store.release_stale_claims(older_than=T0 + 10_000) == 0
    assert store.read_flow_run(run_id).state_name == "Pending"


def test_a_started_claim_whose_worker_died_before_the_process_is_released(
    store: SqlStore, pool: WorkPool
) -> None:
    """The worker said it was starting the run, then was killed before its subprocess
    recorded itself: the run went back to the queue (it stayed Pending for ever)."""
    d = deploy(store)
    run_id = store.create_deployment_run(d.id, now=T0).run.id
    store.worker_heartbeat("pool", "w1", now=T0)
    store.claim_runs("pool", None, "w1", 1, now=T0)
    assert store.start_claimed_run(run_id, "w1", now=T0 + 1)
    assert store.release_stale_claims(older_than=T0 + 1) == 0  # not silent for long enough
    assert store.release_stale_claims(older_than=T0 + 100) == 1
    assert store.read_flow_run(run_id).state_name == "Scheduled"
    [again] = store.claim_runs("pool", None, "w2", 1, now=T0 + 100)
    assert again.run.id == run_id


def test_a_claim_its_process_took_up_is_never_released(store: SqlStore, pool: WorkPool) -> None:
    d = deploy(store)
    run_id = store.create_deployment_run(d.id, now=T0).run.id
    store.claim_runs("pool", None, "w1", 1, now=T0)
    assert store.start_claimed_run(run_id, "w1", now=T0 + 1)
    run = store.read_flow_run(run_id)  # its process recorded itself, still Pending
    run.pid, run.host = 4242, "host-a"
    store.write(Batch(flow_runs={run.id: run}))
    assert store.release_stale_claims(older_than=T0 + 10_000) == 0


def test_a_slow_workers_released_claim_is_not_its_to_start(store: SqlStore, pool: WorkPool) -> None:
    d = deploy(store)
    run_id = store.create_deployment_run(d.id, now=T0).run.id
    store.claim_runs("pool", None, "slow", 1, now=T0)
    assert store.release_stale_claims(older_than=T0 + 100) == 1  # the slow one looked dead
    [again] = store.claim_runs("pool", None, "quick", 1, now=T0 + 100)
    assert again.run.id == run_id
    assert store.start_claimed_run(run_id, "slow") is False
    assert store.start_claimed_run(run_id, "quick") is True


def crash(store: SqlStore, run_id: str) -> None:
    assert store.set_state(run_id, State(StateType.CRASHED, message="killed")).accepted


def test_retries_reschedule_a_crashed_run_under_its_id(store: SqlStore, pool: WorkPool) -> None:
    d = deploy(store, retries=2, catch_up="none")
    run_id = store.create_deployment_run(d.id, now=T0).run.id
    for attempt in (1, 2):
        [claimed] = store.claim_runs("pool", None, "w", 1)
        assert claimed.run.id == run_id
        assert store.start_claimed_run(run_id, "w")  # a rescheduled run is startable too
        run = store.read_flow_run(run_id)  # its process records itself and starts it
        run.state, run.pid, run.start_time = State(StateType.RUNNING), 4242, T0 + attempt
        store.write(Batch(flow_runs={run.id: run}))
        crash(store, run_id)
        assert store.requeue_crashed_runs(now=T0 + 1000 * attempt) == [run_id]
        assert store.requeue_crashed_runs(now=T0 + 1000 * attempt) == []  # once
        [waiting] = store.read_deployment_runs(d.id)
        assert waiting.run.state_name == "Scheduled" and waiting.claimed_by is None
        assert f"({attempt} of 2)" in (waiting.run.state.message or "")
        # due now, not at its old time: a catch-up policy must not skip it as missed
        assert waiting.expected_start_time == T0 + 1000 * attempt
    store.claim_runs("pool", None, "w", 1)
    crash(store, run_id)
    assert store.requeue_crashed_runs(now=T0 + 5000) == []  # both retries spent
    assert store.read_flow_run(run_id).state_name == "Crashed"


def test_no_retries_no_reschedule(store: SqlStore, pool: WorkPool) -> None:
    d = deploy(store)
    run_id = store.create_deployment_run(d.id, now=T0).run.id
    store.claim_runs("pool", None, "w", 1)
    crash(store, run_id)
    assert store.requeue_crashed_runs(now=T0 + 10) == []
    other = deploy(store, retries=3, name="other")
    failed = store.create_deployment_run(other.id, now=T0 + 1).run.id
    store.claim_runs("pool", None, "w", 1)
    assert store.set_state(failed, State(StateType.FAILED)).accepted
    assert store.requeue_crashed_runs(now=T0 + 10) == []  # Failed is not Crashed


def test_a_claim_ahead_takes_runs_due_soon_and_is_dated_now(
    store: SqlStore, pool: WorkPool
) -> None:
    """A worker's prefetch: runs due within `ahead` seconds are claimed, at the claim's time."""
    d = deploy(store)
    soon = store.create_deployment_run(d.id, when=T0 + 1, now=T0).run.id
    store.create_deployment_run(d.id, when=T0 + 10, now=T0)
    assert store.claim_runs("pool", None, "w", 5, now=T0) == []
    [claimed] = store.claim_runs("pool", None, "w", 5, now=T0, ahead=2)
    assert claimed.run.id == soon and claimed.claimed_at == T0
    assert claimed.expected_start_time == T0 + 1
    with pytest.raises(ValueError, match="ahead"):
        store.claim_runs("pool", None, "w", 5, now=T0, ahead=-1)
