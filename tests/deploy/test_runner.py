"""The runner with real subprocesses: a run whose process ignores the cancel and SIGTERM is
killed after the grace periods and ends Cancelled; a process that fails before its flow starts
leaves the run Crashed with its exit code."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from mainspring.deploy.scheduler import Scheduler
from mainspring.deploy.workers.fork_client import ForkedProcess, fork_supported
from mainspring.deploy.workers.process import Runner
from mainspring.model.deployments import Deployment, DeploymentRun, WorkPool
from mainspring.model.schedules import Interval
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

STUBBORN = """
import signal, time
from mainspring import flow

@flow
def stubborn() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    for _ in range(600):
        time.sleep(0.1)
"""


def claim_one(store: SqlStore, entrypoint: str, flow_name: str) -> DeploymentRun:
    store.create_work_pool(WorkPool("pool"))
    store.upsert_deployment(
        Deployment(
            flow_name=flow_name,
            name="d",
            entrypoint=entrypoint,
            schedules=[Interval(1)],
            work_pool_name="pool",
        )
    )
    Scheduler(store).tick()
    deadline = time.time() + 10
    while time.time() < deadline:
        claimed = store.claim_runs("pool", None, "test", 1)
        if claimed:
            return claimed[0]
        time.sleep(0.05)
    raise AssertionError("no run came due")


def run_until_ended(runner: Runner, run_id: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while run_id in runner.children and time.time() < deadline:
        runner.check()
        time.sleep(0.05)
    assert run_id not in runner.children, "the subprocess did not end"


def test_a_process_ignoring_cancel_and_sigterm_is_killed_and_the_run_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stubborn.py").write_text(textwrap.dedent(STUBBORN))
    monkeypatch.setenv("MAINSPRING_HEARTBEAT_INTERVAL", "1")
    store = SqlStore(get_settings().effective_database_url)
    try:
        claimed = claim_one(store, f"{tmp_path / 'stubborn.py'}:stubborn", "stubborn")
        runner = Runner(store, cancel_grace=1.0, warm=False)
        runner.start(claimed.run.id)
        child = runner.children[claimed.run.id]
        assert isinstance(child.process, ForkedProcess) == fork_supported()  # the default
        deadline = time.time() + 30
        while store.read_flow_run(claimed.run.id).state.name != "Running":
            assert time.time() < deadline, "the run never started"
            time.sleep(0.05)
        time.sleep(0.5)  # inside the flow: its handlers now ignore SIGTERM and SIGUSR1
        runner.cancel(claimed.run.id)
        run_until_ended(runner, claimed.run.id)
        assert child.process.returncode == -9 and child.killed  # SIGTERM ignored: SIGKILL
        run = store.read_flow_run(claimed.run.id)
        assert run.state.name == "Cancelled", run.state
    finally:
        store.close()


def test_a_process_failing_before_its_flow_leaves_the_run_crashed(tmp_path: Path) -> None:
    store = SqlStore(get_settings().effective_database_url)
    try:
        claimed = claim_one(store, f"{tmp_path / 'missing.py'}:nothing", "missing")
        runner = Runner(store, warm=False)
        runner.start(claimed.run.id)
        run_until_ended(runner, claimed.run.id)
        run = store.read_flow_run(claimed.run.id)
        assert run.state.name == "Crashed"
        assert "exited with code 1 before the run finished" in (run.state.message or "")
    finally:
        store.close()
