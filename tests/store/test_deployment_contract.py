"""The DeploymentStore contract (deployment_contract.py) on SqlStore: SQLite and PostgreSQL;
and what only SqlStore does (`next_run_due`, the server's long poll's)."""

from __future__ import annotations

import pytest

from mainspring.model.deployments import WorkPool, WorkQueue
from mainspring.store.sql import SqlStore

from .conftest import T0
from .deployment_contract import *  # noqa: F403  (the contract's tests, collected here)
from .deployment_contract import check_pausing_ends_claimed_runs_not_started, register


@pytest.fixture
def deployments(store: SqlStore) -> SqlStore:
    return store


def test_next_run_due_is_the_earliest_waiting_run(deployments: SqlStore) -> None:
    deployments.create_work_pool(WorkPool("pool"))
    deployments.create_work_queue(WorkQueue("pool", "urgent"))
    assert deployments.next_run_due("pool") is None
    made = register(deployments)
    later = deployments.create_deployment_run(made.id, when=T0 + 200).expected_start_time
    sooner = deployments.create_deployment_run(made.id, when=T0 + 100).expected_start_time
    assert deployments.next_run_due("pool") == sooner == T0 + 100
    assert deployments.next_run_due("pool", ["urgent"]) is None
    assert [r.expected_start_time for r in deployments.claim_runs("pool", None, "w", 1)] == [sooner]
    assert deployments.next_run_due("pool", ["default"]) == later
    assert deployments.next_run_due("ghost") is None


@pytest.mark.parametrize("by_registering", [False, True])
def test_pausing_ends_the_claimed_runs_not_started_of_its_schedules(
    deployments: SqlStore, by_registering: bool
) -> None:
    check_pausing_ends_claimed_runs_not_started(
        deployments, deployments, by_registering=by_registering
    )
