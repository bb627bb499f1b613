"""Runs forked from the runner's fork server, with real processes on SQLite: the run's cwd and
environment reach its child; a cancelled child gets SIGTERM after the grace (SIGKILL after
another: tests/deploy/test_runner.py); a child killed with SIGKILL leaves its run Crashed
naming the signal; a fork server killed with SIGKILL is started again, its running child is
still watched (and its run ended), and the next run is forked by the new one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from mainspring.deploy.workers.fork_client import ForkedProcess
from mainspring.deploy.workers.process import Runner, child_environment
from mainspring.model import FlowRun, State, StateType, new_id
from mainspring.settings import get_settings
from mainspring.store.base import Batch
from mainspring.store.processes import start_time, this_process
from mainspring.store.sql import SqlStore
from mainspring.store.sql.schema import SCHEMA_HEAD

from .test_runner import claim_one, run_until_ended
from .workers import wait_until

pytestmark = pytest.mark.slow

FLOWS = """
import gc, json, os, sys, time
from mainspring import flow

@flow
def report(out: str = "") -> None:
    with open(os.environ["REPORT_TO"], "w") as f:
        json.dump({"cwd": os.getcwd(), "env": os.environ.get("ONLY_FOR_THIS_RUNNER"),
                   "path": sys.path, "pid": os.getpid(), "sid": os.getsid(0),
                   "frozen": gc.get_freeze_count()}, f)

@flow
def sleepy() -> None:
    with open(os.environ["REPORT_TO"], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(600)
"""


@pytest.fixture
def store() -> SqlStore:
    s = SqlStore(get_settings().effective_database_url)
    yield s
    s.close()


def flows(tmp_path: Path) -> Path:
    (tmp_path / "flows.py").write_text(textwrap.dedent(FLOWS))
    return tmp_path / "flows.py"


def running(store: SqlStore, run_id: str) -> None:
    wait_until(lambda: store.read_flow_run(run_id).state.name == "Running", what="the run starting")


def test_the_runs_cwd_and_environment_reach_its_forked_child(
    tmp_path: Path, store: SqlStore
) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    report = tmp_path / "report.json"
    env = dict(child_environment(), ONLY_FOR_THIS_RUNNER="yes", REPORT_TO=str(report))
    claimed = claim_one(store, f"{flows(tmp_path)}:report", "report")
    runner = Runner(store, cwd=str(folder), env=env, fork=True)
    try:
        runner.start(claimed.run.id)
        child = runner.children[claimed.run.id].process
        assert isinstance(child, ForkedProcess)
        run_until_ended(runner, claimed.run.id)
        assert child.returncode == 0
        seen = json.loads(report.read_text())
        assert seen["cwd"] == str(folder) and str(folder) in seen["path"]  # as `python -m`
        assert seen["env"] == "yes"
        assert seen["pid"] == child.pid == seen["sid"]  # a session of its own
        assert seen["frozen"] > 10_000  # the preloaded objects: never walked by its collections
        run = store.read_flow_run(claimed.run.id)
        assert run.state.name == "Completed" and run.pid == child.pid
    finally:
        runner.stop()
    assert runner._fork_server is None


def test_a_cancelled_forked_run_gets_sigterm_after_the_grace(
    tmp_path: Path, store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the child does not see the cancel itself (its next heartbeat is a minute away)
    monkeypatch.setenv("MAINSPRING_HEARTBEAT_INTERVAL", "60")
    monkeypatch.setenv("MAINSPRING_SERVER_CRASH_TIMEOUT", "120")
    env = dict(child_environment(), REPORT_TO=str(tmp_path / "pid"))
    claimed = claim_one(store, f"{flows(tmp_path)}:sleepy", "sleepy")
    runner = Runner(store, cancel_grace=1.0, env=env, fork=True)
    try:
        runner.start(claimed.run.id)
        child = runner.children[claimed.run.id]
        running(store, claimed.run.id)
        runner.cancel(claimed.run.id)
        run_until_ended(runner, claimed.run.id)
        # the engine's SIGTERM handler ends the run and exits 128 + 15, as when spawned; a
        # SIGTERM after a cancel was asked is that cancel carried out (engine/run_flow.py)
        assert child.process.returncode == 128 + signal.SIGTERM and not child.killed
        state = store.read_flow_run(claimed.run.id).state
        assert state.name == "Cancelled", (state.name, state.message)
        assert "signal 15" in (state.message or "")
    finally:
        runner.stop()


def test_a_forked_child_killed_by_sigkill_leaves_its_run_crashed(
    tmp_path: Path, store: SqlStore
) -> None:
    env = dict(child_environment(), REPORT_TO=str(tmp_path / "pid"))
    claimed = claim_one(store, f"{flows(tmp_path)}:sleepy", "sleepy")
    runner = Runner(store, env=env, fork=True)
    try:
        runner.start(claimed.run.id)
        running(store, claimed.run.id)
        os.kill(runner.children[claimed.run.id].process.pid, signal.SIGKILL)
        run_until_ended(runner, claimed.run.id)
        run = store.read_flow_run(claimed.run.id)
        assert run.state.name == "Crashed"
        assert "killed by SIGKILL" in (run.state.message or "")
    finally:
        runner.stop()


def test_a_killed_fork_server_is_replaced_and_its_runs_accounted_for(
    tmp_path: Path, store: SqlStore
) -> None:
    report = tmp_path / "pid"
    env = dict(child_environment(), REPORT_TO=str(report))
    claimed = claim_one(store, f"{flows(tmp_path)}:sleepy", "sleepy")
    runner = Runner(store, env=env, fork=True)
    try:
        runner.start(claimed.run.id)
        running(store, claimed.run.id)
        first = runner._fork_server
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        first.process.wait(30)
        runner.check()
        runner.prepare()  # a new fork server
        assert runner._fork_server is not None and runner._fork_server is not first
        assert claimed.run.id in runner.children  # its run still runs, still watched
        child = runner.children[claimed.run.id].process
        os.kill(child.pid, signal.SIGKILL)  # now ends unfinished, its exit code unknown
        run_until_ended(runner, claimed.run.id)
        run = store.read_flow_run(claimed.run.id)
        assert run.state.name == "Crashed"
        assert "exit code unknown" in (run.state.message or "")

        deadline = time.time() + 10
        while not (next_one := store.claim_runs("pool", None, "test", 1)):  # 1-second interval
            assert time.time() < deadline, "the second run never came due"
            time.sleep(0.05)
        second = next_one[0].run.id
        report.unlink()
        runner.start(second)
        assert isinstance(runner.children[second].process, ForkedProcess)
        running(store, second)
        assert int(report.read_text()) == runner.children[second].process.pid
    finally:
        runner.stop()


def _dead_run_of_this_host(store: SqlStore) -> str:
    """A Running flow run of this host whose process has ended: what a store's dead-run scan
    (store/sql/dead_runs.py) ends Crashed when it opens."""
    ended = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = start_time(ended.pid)
    ended.kill()
    ended.wait()
    run = FlowRun(
        id=new_id(),
        name="ghost",
        flow_name="ghost",
        state=State(StateType.RUNNING, ts=time.time()),
        host=this_process().host,
        pid=ended.pid,
        process_start=started,
    )
    store.write(Batch(flow_runs={run.id: run}))
    return run.id


def test_a_forked_child_leaves_the_dead_run_scan_to_its_runner(
    tmp_path: Path, store: SqlStore
) -> None:
    """Its runner's process scanned when it opened its store; each child repeating that
    scan cost its run the time between claimed and Running. A process started otherwise
    (`flow-run execute`, the CLI) still scans."""
    report = tmp_path / "report.json"
    claimed = claim_one(store, f"{flows(tmp_path)}:report", "report")
    store.engine()  # the runner's store is open (and scanned) before the ghost is written
    ghost = _dead_run_of_this_host(store)
    runner = Runner(store, env=dict(child_environment(), REPORT_TO=str(report)), fork=True)
    try:
        runner.start(claimed.run.id)
        run_until_ended(runner, claimed.run.id)
    finally:
        runner.stop()
    assert store.read_flow_run(claimed.run.id).state.name == "Completed"
    assert store.read_flow_run(ghost).state.name == "Running"  # left to the others
    SqlStore(store.url).engine()  # any other open: the scan ends it
    assert store.read_flow_run(ghost).state.name == "Crashed"


def test_a_forked_child_still_notices_a_database_migrated_since(
    tmp_path: Path, store: SqlStore
) -> None:
    """The child keeps the schema check (one plain SELECT): a database moved to a revision
    this Mainspring does not know, after its runner and fork server started, is refused, and
    the flow does not run."""
    report = tmp_path / "report.json"
    claimed = claim_one(store, f"{flows(tmp_path)}:report", "report")
    runner = Runner(store, env=dict(child_environment(), REPORT_TO=str(report)), fork=True)
    version = sa.table("alembic_version", sa.column("version_num", sa.String))
    try:
        runner.start(claimed.run.id)  # the fork server is up
        run_until_ended(runner, claimed.run.id)
        assert claimed.run.deployment_id is not None
        store.create_deployment_run(claimed.run.deployment_id)
        [second] = store.claim_runs("pool", None, "test", 1)
        report.unlink()
        with store.engine().begin() as conn:
            conn.execute(sa.update(version).values(version_num="9999_from_the_future"))
        try:
            runner.start(second.run.id)
            run_until_ended(runner, second.run.id)
        finally:
            with store.engine().begin() as conn:
                conn.execute(sa.update(version).values(version_num=SCHEMA_HEAD))
    finally:
        runner.stop()
    assert not report.exists()
    assert store.read_flow_run(second.run.id).state.name == "Crashed"
