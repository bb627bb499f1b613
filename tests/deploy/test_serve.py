"""serve() with real processes on the embedded SQLite store: runs happen on time with their
parameters, once per (deployment, time); a restart follows the catch-up policy; cancel, kill
and pause do what they say. Timing bounds are generous (a shared 2-CPU machine)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mainspring.model.deployments import DeploymentRun
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

SRC = str(Path(__file__).resolve().parents[2] / "src")

FLOW = """
import os, sys, time
from mainspring import flow

@flow
def greet(name: str = "nobody", sleep: float = 0.0) -> str:
    time.sleep(sleep)
    return f"hello {name}"

if __name__ == "__main__":
    greet.serve(
        "served",
        interval=float(sys.argv[1]),
        parameters={"name": "ada", "sleep": float(sys.argv[2])},
        limit=int(sys.argv[3]) if len(sys.argv) > 3 else None,
    )
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "served_flow.py"
    path.write_text(textwrap.dedent(FLOW))
    return path


@pytest.fixture
def store() -> Iterator[SqlStore]:
    s = SqlStore(get_settings().effective_database_url)
    yield s
    s.close()


def start_serve(
    script: Path, interval: float = 1.0, sleep: float = 0.0, limit: int = 0
) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=SRC, MAINSPRING_HEARTBEAT_INTERVAL="1")
    limits = [str(limit)] if limit else []
    return subprocess.Popen(
        [sys.executable, str(script), str(interval), str(sleep), *limits],
        cwd=script.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_serve(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return out


def runs(store: SqlStore) -> list[DeploymentRun]:
    try:
        deployment = store.find_deployment("greet", "served")
    except LookupError:
        return []
    return store.read_deployment_runs(deployment.id)


def wait_for(
    store: SqlStore, check: Callable[[list[DeploymentRun]], bool], timeout: float = 30.0
) -> list[DeploymentRun]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = runs(store)
        if check(found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"not reached in {timeout} s: {[(r.run.state.name) for r in runs(store)]}")


def completed(found: list[DeploymentRun]) -> list[DeploymentRun]:
    return [r for r in found if r.run.state.name == "Completed"]


def test_a_served_flow_runs_on_its_interval_with_its_parameters(script: Path, store) -> None:
    process = start_serve(script)
    try:
        wait_for(store, lambda found: len(completed(found)) >= 3)
    finally:
        out = stop_serve(process)
    done = completed(runs(store))
    assert len(done) >= 3, out
    for run in done:
        assert run.run.parameters == {"name": "ada", "sleep": 0.0}
        assert run.run.state.is_completed()
        assert run.run.start_time >= run.expected_start_time  # never early
    times = [r.expected_start_time for r in runs(store)]
    assert len(times) == len(set(times))
    assert "Serving deployment 'greet/served'" in out


def test_a_restart_after_downtime_runs_only_the_latest_missed_run(script: Path, store) -> None:
    first = start_serve(script)
    try:
        wait_for(store, lambda found: len(completed(found)) >= 1)
    finally:
        stop_serve(first)
    stopped = time.time()
    time.sleep(4)  # four or so runs are missed
    second = start_serve(script)
    restarted = time.time()
    try:
        wait_for(
            store, lambda found: any(r.expected_start_time > restarted for r in completed(found))
        )
    finally:
        stop_serve(second)
    after_stop = [r for r in runs(store) if r.expected_start_time > stopped + 1]
    states = [r.run.state.name for r in after_stop]
    first_done = states.index("Completed")
    # every time missed while down is Skipped but the newest, which runs (late), and then
    # the runs go on on time
    assert first_done >= 2 and set(states[:first_done]) == {"Skipped"}, states
    assert "Skipped" not in states[first_done:], states  # then on time again
    assert "'latest' runs only the newest" in (after_stop[0].run.state.message or "")


def _running(found: list[DeploymentRun]) -> bool:
    return any(r.run.state.name == "Running" for r in found)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_cancelling_a_served_run_stops_its_process(script: Path, store) -> None:
    process = start_serve(script, interval=1, sleep=60, limit=1)
    try:
        found = wait_for(store, _running)
        running = next(r for r in found if r.run.state.name == "Running")
        cli = subprocess.run(
            [sys.executable, "-m", "mainspring.cli.main", "flow-run", "cancel", running.run.id],
            env=dict(os.environ, PYTHONPATH=SRC),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr
        wait_for(
            store,
            lambda found: any(
                r.run.id == running.run.id and r.run.state.name == "Cancelled" for r in found
            ),
        )
        assert running.run.pid is not None
        deadline = time.time() + 10
        while not gone(running.run.pid) and time.time() < deadline:
            time.sleep(0.1)
        assert gone(running.run.pid)  # its subprocess stopped (and was reaped by serve)
    finally:
        stop_serve(process)


def test_a_killed_run_process_leaves_the_run_crashed(script: Path, store) -> None:
    process = start_serve(script, interval=1, sleep=60, limit=1)
    try:
        found = wait_for(store, _running)
        running = next(r for r in found if r.run.state.name == "Running")
        assert running.run.pid is not None
        os.kill(running.run.pid, signal.SIGKILL)
        wait_for(
            store,
            lambda found: any(
                r.run.id == running.run.id and r.run.state.name == "Crashed" for r in found
            ),
        )
    finally:
        stop_serve(process)
    crashed = store.read_flow_run(running.run.id)
    assert "killed by SIGKILL" in (crashed.state.message or "")


def test_pausing_a_served_deployment_stops_new_runs(script: Path, store) -> None:
    process = start_serve(script)
    try:
        wait_for(store, lambda found: len(completed(found)) >= 1)
        deployment = store.find_deployment("greet", "served")
        store.set_deployment_paused(deployment.id, True)
        paused_at = time.time()
        time.sleep(3)
        # a run claimed ahead of its time (prefetch) before the pause still runs
        ahead = get_settings().worker_prefetch_seconds
        after = [r for r in runs(store) if r.expected_start_time > paused_at + ahead + 0.5]
        assert after == []
    finally:
        stop_serve(process)
