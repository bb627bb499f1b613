"""A worker killed with SIGKILL after it said it was starting a run (`start_claimed_run`) and
before the run's subprocess started: the run goes back to the queue after the claim timeout
and another worker runs it (it used to stay Pending for ever). Real processes, SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mainspring.deploy.scheduler import Scheduler
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

from .workers import SRC, start_worker, stop, wait_until

pytestmark = pytest.mark.slow

FLOW = """
from mainspring import flow

@flow
def double(x: int) -> int:
    return 2 * x
"""

#: A worker's real loop whose runner is killed at the start of the subprocess: the instant
#: between the claim's last word (start_claimed_run) and the run's process.
DOOMED_WORKER = """
import os, signal
from mainspring.deploy.loop import RunLoop
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

class KilledAtStart:  # what RunLoop asks of a runner (deploy/workers/base.py)
    children = {}
    free_slots = 1
    prefetches = False

    def prepare(self):
        pass

    def start(self, run_id, label=None, not_before=None):
        os.kill(os.getpid(), signal.SIGKILL)

store = SqlStore(get_settings().effective_database_url)
RunLoop(store, "local", KilledAtStart(), worker_name="doomed").turn()
"""


def test_a_worker_killed_between_start_and_subprocess_gives_the_run_back(tmp_path: Path) -> None:
    (tmp_path / "double.py").write_text(textwrap.dedent(FLOW))
    store = SqlStore(get_settings().effective_database_url)
    try:
        store.create_work_pool(WorkPool("local"))
        deployment = store.upsert_deployment(
            Deployment(
                flow_name="double",
                name="once",
                entrypoint=f"{tmp_path / 'double.py'}:double",
                parameters={"x": 21},
                work_pool_name="local",
            )
        )
        run_id = store.create_deployment_run(deployment.id).run.id
        doomed = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(DOOMED_WORKER)],
            env=dict(os.environ, PYTHONPATH=SRC),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert doomed.returncode == -9, doomed.stderr
        [left] = store.read_deployment_runs(deployment.id)
        assert left.run.state_name == "Pending" and left.claimed_by == "doomed"
        assert left.run.heartbeat is not None  # it had said it was starting it

        time.sleep(1.5)
        figures = Scheduler(store, claim_timeout=1.0).tick()
        assert figures.released == 1
        assert store.read_flow_run(run_id).state_name == "Scheduled"

        worker = start_worker("--pool", "local")
        try:
            wait_until(
                lambda: store.read_flow_run(run_id).state_name == "Completed",
                what="the released run completing on another worker",
            )
        finally:
            stop(worker)
        [done] = store.read_deployment_runs(deployment.id)
        assert done.claimed_by != "doomed"
    finally:
        store.close()
