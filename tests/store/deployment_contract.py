"""The DeploymentStore contract through the protocol alone, for every implementation.

Imported by tests/store/test_deployment_contract.py (SqlStore on SQLite and PostgreSQL) and
tests/server/test_deployment_api_store.py (ApiStore against a real server on each), which
provide the `deployments` fixture: the same assertions hold whichever way the calls travel.
"""

from __future__ import annotations

import threading
import time

import pytest

from mainspring.exceptions import ObjectNotFound
from mainspring.model.deployments import Deployment, WorkPool, WorkQueue
from mainspring.model.schedules import Cron, Plan, PlannedRun
from mainspring.model.states import Running
from mainspring.store.base import Store
from mainspring.store.deployments import DeploymentStore

SCHEMA = {
    "type": "object",
    "properties": {"source": {"type": "string"}, "limit": {"type": "integer"}},
    "required": ["source"],
}


def register(store: DeploymentStore, name: str = "nightly", **fields: object) -> Deployment:
    values: dict[str, object] = {
        "flow_name": "etl",
        "name": name,
        "entrypoint": "flows/etl.py:etl",
        "parameters": {"source": "s3://in", "limit": 10},
        "parameter_openapi_schema": SCHEMA,
        "tags": ["team-a"],
        "schedules": [Cron("0 3 * * *", timezone="America/New_York")],
        "work_pool_name": "pool",
    }
    values.update(fields)
    return store.upsert_deployment(Deployment(**values))  # type: ignore[arg-type]


def test_deployment_round_trip(deployments: DeploymentStore) -> None:
    made = register(deployments, description="Loads the day's data.", concurrency_limit=2)
    assert made.created is not None
    assert deployments.read_deployment(made.id) == made
    assert deployments.find_deployment("etl", "nightly") == made
    again = register(deployments, parameters={"source": "s3://other"})
    assert again.id == made.id and again.parameters == {"source": "s3://other"}
    other = register(deployments, "hourly", flow_name="load")
    assert [d.full_name for d in deployments.read_deployments()] == ["etl/nightly", "load/hourly"]
    assert deployments.read_deployments("load") == [other]


def test_a_new_deployment_cannot_take_anothers_id(deployments: DeploymentStore) -> None:
    made = register(deployments)
    with pytest.raises(ValueError, match="etl/nightly"):
        register(deployments, "other", id=made.id)
    assert [d.name for d in deployments.read_deployments()] == ["nightly"]


def test_unknown_deployments_are_object_not_found(deployments: DeploymentStore) -> None:
    with pytest.raises(ObjectNotFound, match="no-such-id"):
        deployments.read_deployment("no-such-id")
    with pytest.raises(ObjectNotFound, match="etl/ghost"):
        deployments.find_deployment("etl", "ghost")
    with pytest.raises(ObjectNotFound):
        deployments.delete_deployment("0190b5e0-0000-7000-8000-000000000000")
    with pytest.raises(ObjectNotFound):
        deployments.set_deployment_paused("0190b5e0-0000-7000-8000-000000000000", True)
    with pytest.raises(ObjectNotFound):
        deployments.create_deployment_run("0190b5e0-0000-7000-8000-000000000000")


def test_pause_resume_and_delete(deployments: DeploymentStore) -> None:
    made = register(deployments)
    assert deployments.set_deployment_paused(made.id, True).paused is True
    assert deployments.read_deployment(made.id).paused is True
    assert deployments.set_deployment_paused(made.id, False).paused is False
    deployments.delete_deployment(made.id)
    assert deployments.read_deployments() == []


def test_a_run_asked_for_merges_parameters_and_is_due_now(deployments: DeploymentStore) -> None:
    made = register(deployments)
    before = time.time()
    run = deployments.create_deployment_run(made.id, {"limit": 3}, tags=["by-hand"])
    assert run.run.parameters == {"source": "s3://in", "limit": 3}
    assert run.run.tags == ["team-a", "by-hand"]
    assert run.run.state_name == "Scheduled" and run.run.deployment_id == made.id
    assert run.expected_start_time is not None and before <= run.expected_start_time
    assert (run.work_pool_name, run.work_queue_name, run.claimed_by) == ("pool", "default", None)
    assert [r.run.id for r in deployments.read_deployment_runs(made.id)] == [run.run.id]
    assert deployments.read_deployment_runs(made.id, states=["Completed"]) == []


def test_runs_asked_for_the_same_instant_are_distinct_runs(deployments: DeploymentStore) -> None:
    made = register(deployments)
    at = time.time() + 3600
    first = deployments.create_deployment_run(made.id, when=at)
    second = deployments.create_deployment_run(made.id, when=at)
    assert first.run.id != second.run.id
    assert first.expected_start_time == at
    assert second.expected_start_time is not None and 0 < second.expected_start_time - at < 1e-3
    assert len(deployments.read_deployment_runs(made.id, states=["Scheduled"])) == 2


def test_a_paused_deployment_still_runs_when_asked(deployments: DeploymentStore) -> None:
    made = register(deployments, paused=True)
    assert deployments.create_deployment_run(made.id).run.state_name == "Scheduled"


def test_pausing_keeps_the_runs_asked_for_by_hand(deployments: DeploymentStore) -> None:
    made = register(deployments)
    now = deployments.create_deployment_run(made.id)
    later = deployments.create_deployment_run(made.id, when=time.time() + 3600)
    asked = sorted([now.run.id, later.run.id])

    register(deployments, paused=True)  # registered again, paused
    kept = deployments.read_deployment_runs(made.id, states=["Scheduled"])
    assert sorted(r.run.id for r in kept) == asked
    deployments.set_deployment_paused(made.id, False)
    deployments.set_deployment_paused(made.id, True)
    kept = deployments.read_deployment_runs(made.id, states=["Scheduled"])
    assert sorted(r.run.id for r in kept) == asked


def test_registering_again_with_new_settings_keeps_the_runs_asked_for_by_hand(
    deployments: DeploymentStore,
) -> None:
    """Changed settings replace the runs the schedules made, never the ones asked for by
    hand (due later, with their own parameters)."""
    made = register(deployments)
    later = deployments.create_deployment_run(made.id, {"limit": 3}, when=time.time() + 3600)
    changes: list[dict[str, object]] = [
        {"schedules": [Cron("0 4 * * *", timezone="America/New_York")]},
        {"parameters": {"source": "s3://elsewhere", "limit": 11}},
        {"tags": ["team-b"]},
        {"version": "2"},
    ]
    for change in changes:
        register(deployments, **change)
        kept = deployments.read_deployment_runs(made.id, states=["Scheduled"])
        assert [r.run.id for r in kept] == [later.run.id], change
        assert kept[0].run.parameters == {"source": "s3://in", "limit": 3}


def test_parameters_that_do_not_fit_the_schema_are_refused(deployments: DeploymentStore) -> None:
    made = register(deployments)
    with pytest.raises(TypeError, match="'limit'"):
        deployments.create_deployment_run(made.id, {"limit": "ten"})
    bare = register(deployments, "bare", parameters={})
    with pytest.raises(ValueError, match="'source' is a required property"):
        deployments.create_deployment_run(bare.id, {"limit": 1})
    assert deployments.read_deployment_runs(made.id) == []
    assert deployments.read_deployment_runs(bare.id) == []


def test_default_parameters_that_do_not_fit_the_schema_register_nothing(
    deployments: DeploymentStore,
) -> None:
    """The defaults are checked when registered, as a run asked for would check them; a
    required parameter may be left to the runs."""
    with pytest.raises(TypeError, match=r"'limit'.*integer"):
        register(deployments, parameters={"source": "s3://in", "limit": "ten"})
    assert deployments.read_deployments() == []
    made = register(deployments)
    with pytest.raises(TypeError, match="'source'"):  # an update refused keeps the old one
        register(deployments, parameters={"source": 3})
    assert deployments.read_deployments() == [made]
    assert register(deployments, "bare", parameters={"limit": 1}).parameters == {"limit": 1}


def test_parameters_the_flow_call_would_coerce_are_taken_as_given(
    deployments: DeploymentStore,
) -> None:
    """ "10" for an int parameter: the flow call coerces it (pydantic's lax mode), so neither
    registering nor a run asked for refuses it; what it would refuse still is."""
    made = register(deployments, parameters={"source": "s3://in", "limit": "10"})
    assert made.parameters == {"source": "s3://in", "limit": "10"}
    run = deployments.create_deployment_run(made.id, {"limit": " 3 "})
    assert run.run.parameters == {"source": "s3://in", "limit": " 3 "}
    with pytest.raises(TypeError, match=r"parameter 'limit' expects integer, got '3\.5'"):
        register(deployments, parameters={"source": "s3://in", "limit": "3.5"})
    assert deployments.read_deployments() == [made]


def test_without_a_schema_any_parameters_are_taken(deployments: DeploymentStore) -> None:
    made = register(deployments, parameter_openapi_schema={})
    run = deployments.create_deployment_run(made.id, {"limit": "ten", "extra": [1]})
    assert run.run.parameters == {"source": "s3://in", "limit": "ten", "extra": [1]}


def test_work_pools_queues_and_workers(deployments: DeploymentStore) -> None:
    pool = deployments.create_work_pool(WorkPool("pool", concurrency_limit=4))
    assert pool.concurrency_limit == 4 and pool.created is not None
    assert deployments.read_work_pool("pool") == pool
    assert deployments.read_work_pools() == [pool]
    with pytest.raises(ValueError, match="exists"):
        deployments.create_work_pool(WorkPool("pool"))
    with pytest.raises(ObjectNotFound, match="ghost"):
        deployments.read_work_pool("ghost")
    queue = deployments.create_work_queue(WorkQueue("pool", "urgent", priority=0))
    assert [q.name for q in deployments.read_work_queues("pool")] == ["urgent", "default"]
    assert queue.priority == 0
    with pytest.raises(ValueError, match="urgent"):
        deployments.create_work_queue(WorkQueue("pool", "urgent"))
    with pytest.raises(ObjectNotFound, match="ghost"):
        deployments.create_work_queue(WorkQueue("ghost", "q"))
    beat = deployments.worker_heartbeat("pool", "w1")
    assert deployments.read_workers("pool") == [beat]
    with pytest.raises(ObjectNotFound, match="ghost"):
        deployments.worker_heartbeat("ghost", "w1")


def test_a_run_asked_for_is_claimed_once(deployments: DeploymentStore) -> None:
    deployments.create_work_pool(WorkPool("pool"))
    made = register(deployments)
    run = deployments.create_deployment_run(made.id)
    claimed = deployments.claim_runs("pool", None, "w1", 5)
    assert [c.run.id for c in claimed] == [run.run.id]
    assert claimed[0].claimed_by == "w1" and claimed[0].run.state_name == "Pending"
    assert deployments.claim_runs("pool", ["default"], "w2", 5) == []
    with pytest.raises(ObjectNotFound, match="ghost"):
        deployments.claim_runs("ghost", None, "w1", 1)


def test_concurrent_claimers_take_each_run_once(deployments: DeploymentStore) -> None:
    deployments.create_work_pool(WorkPool("pool"))
    made = register(deployments)
    asked = {deployments.create_deployment_run(made.id).run.id for _ in range(12)}
    taken: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        for _ in range(20):
            got = deployments.claim_runs("pool", None, name, 2)
            with lock:
                taken.extend(r.run.id for r in got)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted(asked)


def test_a_claim_with_wait_returns_a_run_made_meanwhile(deployments: DeploymentStore) -> None:
    deployments.create_work_pool(WorkPool("pool"))
    made = register(deployments)
    asked: list[str] = []
    later = threading.Timer(
        0.5, lambda: asked.append(deployments.create_deployment_run(made.id).run.id)
    )
    later.start()
    started = time.monotonic()
    claimed = deployments.claim_runs("pool", None, "w1", 1, wait=20)
    later.join()
    assert [r.run.id for r in claimed] == asked
    assert time.monotonic() - started < 15


def test_a_claim_ahead_takes_a_run_due_within_it(deployments: DeploymentStore) -> None:
    """A worker's prefetch (`ahead`): a run due within that many seconds is claimed now, and a
    waiting claim answers once a run comes within it, not at the run's time."""
    deployments.create_work_pool(WorkPool("pool"))
    made = register(deployments)
    later = deployments.create_deployment_run(made.id, when=time.time() + 120).run.id
    assert deployments.claim_runs("pool", None, "w1", 5) == []
    [claimed] = deployments.claim_runs("pool", None, "w1", 5, ahead=300)
    assert claimed.run.id == later and claimed.run.state_name == "Pending"
    assert claimed.expected_start_time is not None and claimed.expected_start_time > time.time()
    soon_at = time.time() + 3.0
    soon = deployments.create_deployment_run(made.id, when=soon_at).run.id
    [waited] = deployments.claim_runs("pool", None, "w1", 5, wait=20, ahead=2.5)
    assert waited.run.id == soon
    assert time.time() < soon_at  # answered within the prefetch, before the run's time


# -- added by deploy-python ------------------------------------------------------------------
def check_pausing_ends_claimed_runs_not_started(
    deployments: Store, scheduler: DeploymentStore, *, by_registering: bool
) -> None:
    """A run its schedules made, claimed ahead of its time (its process waiting for the
    instant), of a deployment paused (`set_deployment_paused`, or registered again paused)
    ends Cancelled, saying why; one asked for by hand still runs, as a waiting one would; one
    already Running is left to run. Deleting the deployment ends the rest. `scheduler` makes
    the schedules' run (`schedule_runs` needs the database: ApiStore refuses it)."""
    deployments.create_work_pool(WorkPool("pool"))
    made = register(deployments)
    soon = time.time() + 30
    scheduler.schedule_runs(made.id, Plan((PlannedRun(soon, 0),), soon))
    by_hand = deployments.create_deployment_run(made.id, when=soon + 1)
    running = deployments.create_deployment_run(made.id, when=soon + 2)
    claimed = [r.run.id for r in deployments.claim_runs("pool", None, "w", 5, ahead=60)]
    assert len(claimed) == 3
    [scheduled] = [i for i in claimed if i not in (by_hand.run.id, running.run.id)]
    deployments.set_state(running.run.id, Running())

    if by_registering:
        register(deployments, paused=True)
    else:
        deployments.set_deployment_paused(made.id, True)
    ended = deployments.read_flow_run(scheduled).state
    assert (ended.name, ended.message) == (
        "Cancelled",
        "Its deployment was paused before the run started",
    )
    assert deployments.read_flow_run(by_hand.run.id).state.name == "Pending"
    assert deployments.read_flow_run(running.run.id).state.name == "Running"

    deployments.delete_deployment(made.id)
    ended = deployments.read_flow_run(by_hand.run.id).state
    assert (ended.name, ended.message) == (
        "Cancelled",
        "Its deployment was deleted before the run started",
    )
    assert deployments.read_flow_run(running.run.id).state.name == "Running"


def test_an_idempotency_key_names_one_run(deployments: DeploymentStore) -> None:
    made = register(deployments)
    first = deployments.create_deployment_run(made.id, {"limit": 1}, idempotency_key="day-1")
    again = deployments.create_deployment_run(made.id, {"limit": 2}, idempotency_key="day-1")
    other = deployments.create_deployment_run(made.id, idempotency_key="day-2")
    assert again.run.id == first.run.id and again.run.parameters["limit"] == 1
    assert other.run.id != first.run.id
    assert len(deployments.read_deployment_runs(made.id)) == 2


def test_a_run_asked_for_by_a_flow_run_records_it_as_parent(
    deployments: DeploymentStore,
) -> None:
    made = register(deployments)
    parent = "0190b5e0-0000-7000-8000-00000000abcd"
    asked = deployments.create_deployment_run(made.id, parent_flow_run_id=parent)
    assert asked.run.parent_flow_run_id == parent
    [stored] = deployments.read_deployment_runs(made.id)
    assert stored.run.parent_flow_run_id == parent
    assert deployments.create_deployment_run(made.id).run.parent_flow_run_id is None


def test_only_the_claiming_worker_may_start_a_claimed_run(deployments: DeploymentStore) -> None:
    deployments.create_work_pool(WorkPool("pool"))
    made = register(deployments)
    run_id = deployments.create_deployment_run(made.id).run.id
    assert deployments.start_claimed_run(run_id, "w1") is False  # not claimed yet
    [claimed] = deployments.claim_runs("pool", None, "w1", 1)
    assert deployments.start_claimed_run(run_id, "w2") is False
    assert deployments.start_claimed_run(run_id, "w1") is True
    assert deployments.start_claimed_run(run_id, "w1") is True  # asked again: same answer
    assert deployments.start_claimed_run("0190b5e0-0000-7000-8000-000000000000", "w1") is False
    assert claimed.run.id == run_id
