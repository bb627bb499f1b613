"""`mainspring flow-run cancel ID` against the embedded store.

The end-to-end proof runs a real flow in a child Python (tests/scripts/cancellable_flow.py),
cancels it with the real command in another child process, and reads what the flow's code did
from a side-effects file and what was recorded from the SQLite file. The same through a server's
API is in tests/server/test_cancel.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mainspring.model import FlowRun, State, StateType
from mainspring.store import Batch, get_store
from mainspring.store.sql import SqlStore

from .history import RUN_OK, invoke

SRC = Path(__file__).resolve().parents[2] / "src"
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "cancellable_flow.py"
FAST = {"MAINSPRING_HEARTBEAT_INTERVAL": "0.2"}


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env.update(MAINSPRING_HOME=str(home), PYTHONUNBUFFERED="1", **FAST, **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


def start_flow(home: Path, side: Path, mode: str = "sync") -> subprocess.Popen[str]:
    """The cancellable flow in a child process; returns once it printed READY."""
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(side), mode],
        env=child_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if line.strip() != "READY":
        proc.kill()
        raise AssertionError(f"flow did not start: {line!r} {proc.communicate()[1]}")
    return proc


def the_run(home: Path) -> tuple[SqlStore, FlowRun]:
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        runs = store.read_flow_runs()
        if runs and runs[0].state.type is StateType.RUNNING:
            return store, runs[0]
        time.sleep(0.02)
    raise AssertionError(f"no running flow run in {home}")


def check_cancelled(store: SqlStore, run_id: str, side: Path, waited: float, stderr: str) -> None:
    """What a cancelled run of cancellable_flow.py leaves behind."""
    assert waited < 10, f"the cancel took {waited:.1f} s"
    noted = side.read_text().split()
    assert "after" not in noted, "a task after the cancel ran"
    assert "blocking-finished" not in noted and "worker-finished" not in noted
    assert noted[-2:] == ["hook:Cancelled", "final:Cancelled"], (noted, stderr)
    run = store.read_flow_run(run_id)
    assert run.state.type is StateType.CANCELLED, stderr
    assert "cancellation was requested" in run.state.message
    timeline = [s.name for s in store.read_states(run_id)]
    assert timeline == ["Pending", "Running", "Cancelling", "Cancelled"]
    tasks = {t.name: t.state.name for t in store.read_task_runs(run_id)}
    assert tasks.pop("step-0") == "Completed" and "step-1" not in tasks
    assert set(tasks.values()) == {"Cancelled"}, tasks


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_cancel_stops_a_running_flow_in_another_process(tmp_path, mode):
    home, side = tmp_path / "home", tmp_path / "side.txt"
    proc = start_flow(home, side, mode)
    store, run = the_run(home)
    try:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "mainspring.cli.main", "flow-run", "cancel", run.id],
            env=child_env(home),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert f"Flow run {run.id} is Cancelling" in done.stdout
        _, stderr = proc.communicate(timeout=30)
        waited = time.monotonic() - started
        assert proc.returncode == 0, stderr
        assert "Cancelling: its cancellation was requested" in stderr
        check_cancelled(store, run.id, side, waited, stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        store.close()


def test_cancel_of_an_unknown_run(home):
    result = invoke("flow-run", "cancel", "00000000-0000-4000-8000-000000000000")
    assert result.exit_code == 1
    assert "No flow run with id '00000000-0000-4000-8000-000000000000'" in result.stderr


def test_cancel_of_a_finished_run_changes_nothing(history, store):
    result = invoke("flow-run", "cancel", RUN_OK)
    assert result.exit_code == 1
    assert f"Flow run {RUN_OK} has already finished (Completed); nothing to cancel." in (
        result.stderr
    )
    assert store.read_flow_run(RUN_OK).state.type is StateType.COMPLETED


def test_a_run_no_process_has_taken_up_is_cancelled_at_once(store):
    scheduled = FlowRun(
        "55555555-5555-4555-8555-555555555555", "later", "etl", State(StateType.SCHEDULED)
    )
    pending = FlowRun(
        "66666666-6666-4666-8666-666666666666", "pending", "etl", State(StateType.PENDING)
    )
    store.write(Batch(flow_runs={scheduled.id: scheduled, pending.id: pending}))
    for run in (scheduled, pending):
        result = invoke("flow-run", "cancel", run.id)
        assert result.exit_code == 0, result.stderr
        assert f"Flow run {run.id} is Cancelled (it had not started)." in result.stdout
        assert get_store().read_flow_run(run.id).state.type is StateType.CANCELLED


def test_cancel_twice_says_it_is_already_being_cancelled(store):
    running = FlowRun(
        "77777777-7777-4777-8777-777777777777", "busy", "etl", State(StateType.RUNNING)
    )
    store.write(Batch(flow_runs={running.id: running}))
    first = invoke("flow-run", "cancel", running.id)
    assert first.exit_code == 0 and "is Cancelling" in first.stdout
    again = invoke("flow-run", "cancel", running.id)
    assert again.exit_code == 0, again.stderr
    assert "is already being cancelled" in again.stdout
    assert [s.name for s in store.read_states(running.id)] == ["Cancelling"]


RETRYABLE = """
import os, sys, time
from mainspring import flow, get_run_context, task

@task
def wait(seconds: float) -> str:
    print(get_run_context().flow_run.id, flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.02)
    return "done"

@flow(name="retryable", persist_result=True)
def retryable() -> str:
    return wait(30.0 if not os.path.exists(os.environ["FIXED"]) else 1.5)

if __name__ == "__main__":
    retryable()
"""


@pytest.mark.slow
def test_a_cancelled_run_retried_runs_to_the_end(tmp_path: Path) -> None:
    """The retry outlives several heartbeats: none of them answers with the old Cancelled."""
    script, fixed, home = tmp_path / "retryable.py", tmp_path / "fixed", tmp_path / "home"
    script.write_text(RETRYABLE)
    env = child_env(home, FIXED=str(fixed))
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        run_id = proc.stdout.readline().strip()  # type: ignore[union-attr]
        time.sleep(0.5)  # a heartbeat or two: the run is Running in the store
        command = [sys.executable, "-m", "mainspring.cli.main", "flow-run"]
        cancel = subprocess.run([*command, "cancel", run_id], env=env, capture_output=True)
        assert cancel.returncode == 0, cancel.stderr
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    fixed.touch()
    retry = subprocess.run(
        [*command, "retry", run_id], env=env, capture_output=True, text=True, timeout=60
    )
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert f"Flow run {run_id} finished in state Completed" in retry.stdout
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}")
    try:
        names = [s.name for s in store.read_states(run_id)]
        assert names[-5:] == ["Cancelling", "Cancelled", "AwaitingRetry", "Retrying", "Completed"]
    finally:
        store.close()
