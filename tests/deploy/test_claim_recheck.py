"""A slow worker (not dead) whose claim was released as stale and taken by another worker
must not start the run too: the loop checks its claim (`start_claimed_run`) before it starts
a subprocess. SQLite and PostgreSQL, with a real Runner."""

from __future__ import annotations

import time
from typing import Any

from mainspring.deploy.loop import RunLoop
from mainspring.deploy.workers.process import Runner
from mainspring.model.deployments import Deployment, DeploymentRun, WorkPool
from mainspring.store.sql import SqlStore


class FrozenAfterClaim(SqlStore):
    """A store whose claim returns only after the claim was released as stale and claimed by
    worker 'quick': what a worker frozen between its claim and its start finds on waking."""

    def claim_runs(self, *args: Any, **kwargs: Any) -> list[DeploymentRun]:
        runs = super().claim_runs(*args, **kwargs)
        if runs:
            assert self.release_stale_claims(time.time() + 1) == len(runs)
            other = SqlStore(self.url)
            try:
                assert len(other.claim_runs("local", None, "quick", 10)) == len(runs)
            finally:
                other.close()
        return runs


def test_a_slow_worker_does_not_start_a_run_another_worker_claimed(store: SqlStore) -> None:
    store.create_work_pool(WorkPool("local"))
    deployment = store.upsert_deployment(
        Deployment(flow_name="f", name="d", entrypoint="nowhere.py:f", work_pool_name="local")
    )
    run_id = store.create_deployment_run(deployment.id).run.id
    slow = FrozenAfterClaim(store.url)
    runner = Runner(slow, warm=False)
    try:
        loop = RunLoop(slow, "local", runner, worker_name="slow")
        loop.turn()
        assert runner.children == {} and loop.started == 0  # not started by the slow worker
    finally:
        runner.stop(cancel=True, timeout=30)
        slow.close()
    [run] = store.read_deployment_runs(deployment.id)
    assert (run.run.id, run.claimed_by, run.run.state_name) == (run_id, "quick", "Pending")
