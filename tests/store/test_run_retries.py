"""RunRetries.retry_deployment_run on SQLite and PostgreSQL: a finished deployment run goes
back to its pool (Scheduled, unclaimed, due now) once; other runs are refused with a reason."""

from __future__ import annotations

import time

import pytest

from mainspring.exceptions import NeedsDatabase, ObjectNotFound
from mainspring.model import State, StateType, new_id
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

from .conftest import make_flow_run

MESSAGE = "Retry asked from the test"


def failed_deployment_run(store: SqlStore, end: StateType = StateType.FAILED) -> str:
    store.create_work_pool(WorkPool("pool"))
    deployment = store.upsert_deployment(Deployment("etl", "nightly", work_pool_name="pool"))
    run = store.create_deployment_run(deployment.id, {}, when=time.time() - 5).run
    [claimed] = store.claim_runs("pool", None, "worker-1", 1)
    assert claimed.run.id == run.id
    assert store.set_state(run.id, State(StateType.RUNNING)).accepted
    assert store.set_state(run.id, State(end, message="boom")).accepted
    return run.id


@pytest.mark.parametrize("end", [StateType.FAILED, StateType.CRASHED, StateType.CANCELLED])
def test_a_finished_deployment_run_is_claimed_again(store: SqlStore, end: StateType) -> None:
    run_id = failed_deployment_run(store, end)
    assert store.claim_runs("pool", None, "worker-2", 5) == []  # finished: nothing to claim
    before = time.time()
    outcome = store.retry_deployment_run(run_id, MESSAGE)
    assert outcome.accepted, outcome.decision.reason
    run = store.read_flow_run(run_id)
    assert (run.state.type, run.state.name, run.state.message) == (
        StateType.SCHEDULED,
        "Scheduled",
        MESSAGE,
    )
    assert run.end_time is None
    assert store.read_states(run_id)[-1].message == MESSAGE
    [again] = store.claim_runs("pool", None, "worker-2", 5)
    assert again.run.id == run_id and again.claimed_by == "worker-2"
    assert again.expected_start_time is not None and again.expected_start_time >= before - 1


def test_a_second_retry_is_refused(store: SqlStore) -> None:
    run_id = failed_deployment_run(store)
    assert store.retry_deployment_run(run_id, MESSAGE).accepted
    second = store.retry_deployment_run(run_id, MESSAGE)
    assert not second.accepted
    assert "Scheduled" in second.decision.reason
    assert len([s for s in store.read_states(run_id) if s.message == MESSAGE]) == 1


def test_refusals_say_why(store: SqlStore) -> None:
    run_id = failed_deployment_run(store)
    store.retry_deployment_run(run_id, MESSAGE)
    store.claim_runs("pool", None, "w", 1)
    store.set_state(run_id, State(StateType.RUNNING))
    store.set_state(run_id, State(StateType.COMPLETED))
    done = store.retry_deployment_run(run_id, MESSAGE)
    assert not done.accepted and "Completed" in done.decision.reason

    plain = make_flow_run(state=State(StateType.FAILED))
    child = make_flow_run(state=State(StateType.FAILED), parent_flow_run_id=plain.id)
    store.write(Batch(flow_runs={plain.id: plain, child.id: child}))
    not_deployed = store.retry_deployment_run(plain.id, MESSAGE)
    assert not not_deployed.accepted
    assert "mainspring flow-run retry" in not_deployed.decision.reason
    assert store.read_flow_run(plain.id).state.type is StateType.FAILED  # left as it was

    with pytest.raises(ObjectNotFound):
        store.retry_deployment_run(new_id(), MESSAGE)


def test_the_api_store_needs_the_database() -> None:
    from mainspring.store.http import ApiStore

    with pytest.raises(NeedsDatabase):
        ApiStore("http://127.0.0.1:9/api").retry_deployment_run(new_id(), MESSAGE)
