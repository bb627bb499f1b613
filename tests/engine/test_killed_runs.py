"""A flow process killed with SIGKILL, and no server: its run is found, ended, cancelled, retried.

Each test runs a real flow in a child Python recording into this test's MAINSPRING_HOME, kills
it with SIGKILL (nothing of the process runs after that), then uses the real `mainspring` CLI
in other child processes, or a new flow run in this one: whatever opens the store next on this
host finds that the run's process is gone.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mainspring.model import StateType
from mainspring.settings import get_settings
from mainspring.store.processes import this_process
from mainspring.store.sql import SqlStore

from .support import cli_retry, subprocess_env, timeline

pytestmark = pytest.mark.slow

KILLABLE = textwrap.dedent(
    """
    import os, time
    from mainspring import flow, get_run_context, task

    SIDE = os.environ["SIDE_FILE"]

    def note(line):
        with open(SIDE, "a") as f:
            f.write(line + "\\n")

    @task(persist_result=True)
    def fetch() -> int:
        note("fetch")
        return 10

    @task
    def step(i: int) -> int:
        note(f"step {i}")
        if i == 2 and not os.path.exists(SIDE + ".go"):
            note("waiting")
            time.sleep(60)  # killed here
        return i

    @flow(name="killable")  # no persist_result: only `fetch` keeps its result
    def killable(n: int = 4) -> int:
        print(get_run_context().flow_run.id, flush=True)
        return fetch() + sum(step(i) for i in range(n))

    if __name__ == "__main__":
        killable()
    """
)


def run_and_kill(folder: Path) -> tuple[str, int, dict[str, str]]:
    """Start KILLABLE in a child process, SIGKILL it once step 2 is waiting and recorded
    Running; return the flow run id, the dead pid and the child's environment."""
    script = folder / "killable.py"
    script.write_text(KILLABLE)
    side = folder / "side.txt"
    side.touch()
    env = {**subprocess_env(get_settings().home), "SIDE_FILE": str(side)}
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        flow_run_id = proc.stdout.readline().strip()  # type: ignore[union-attr]
        store = open_store()
        try:
            deadline = time.monotonic() + 60
            while "step-2" not in {t.name for t in store.read_task_runs(flow_run_id)}:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.01)
        finally:
            store.close()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
        proc.stdout.close()  # type: ignore[union-attr]
    assert "waiting" in side.read_text().split()
    return flow_run_id, proc.pid, env


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real `mainspring` command, in a child process, on this test's home."""
    main = "from mainspring.cli.main import main; main()"
    return subprocess.run(
        [sys.executable, "-c", main, *args],
        env=subprocess_env(get_settings().home),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def open_store() -> SqlStore:
    """The test's store, opened without ending dead runs: the CLI (or a flow) must do that."""
    return SqlStore(f"sqlite:///{get_settings().home / 'mainspring.db'}", end_dead_runs=False)


def test_the_cli_shows_a_killed_run_crashed_naming_its_dead_process(tmp_path):
    flow_run_id, pid, _env = run_and_kill(tmp_path)

    listed = cli("flow-run", "ls")
    assert listed.returncode == 0, listed.stderr
    (line,) = [line for line in listed.stdout.splitlines() if flow_run_id in line]
    assert "Crashed" in line

    store = open_store()
    try:
        run = store.read_flow_run(flow_run_id)
        assert run.state.type is StateType.CRASHED
        assert f"process {pid} on {this_process().host} running this flow run is gone" in (
            run.state.message
        )
        assert timeline(store, flow_run_id) == ["Pending", "Running", "Crashed"]
        tasks = {t.name: t.state.name for t in store.read_task_runs(flow_run_id)}
        assert tasks["step-2"] == "Crashed"  # killed inside it: it will never finish
        assert tasks["fetch-0"] == tasks["step-0"] == "Completed"
    finally:
        store.close()
    inspected = cli("flow-run", "inspect", flow_run_id)
    assert f"process {pid}" in inspected.stdout
    assert f"{pid} on {this_process().host}" in inspected.stdout  # its Process row
    assert "killable.py:killable" in inspected.stdout  # its Entrypoint row


def test_cancelling_a_killed_run_cancels_it_at_once(tmp_path):
    flow_run_id, pid, _env = run_and_kill(tmp_path)

    started = time.monotonic()
    cancelled = cli("flow-run", "cancel", flow_run_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert time.monotonic() - started < 60
    said = " ".join(cancelled.stdout.split())
    assert f"Flow run {flow_run_id} is Cancelled" in said
    assert f"process {pid} on {this_process().host} is gone" in said
    assert "within" not in said  # not waiting for a heartbeat that will never come

    store = open_store()
    try:
        run = store.read_flow_run(flow_run_id)
        assert run.state.type is StateType.CANCELLED
        assert timeline(store, flow_run_id) == ["Pending", "Running", "Cancelled"]
        assert run.end_time is not None
        tasks = {t.name: t.state.name for t in store.read_task_runs(flow_run_id)}
        assert tasks["step-2"] == "Cancelled"
    finally:
        store.close()
    again = cli("flow-run", "cancel", flow_run_id)
    assert again.returncode == 1 and "already finished (Cancelled)" in again.stderr


def test_retrying_a_killed_run_without_persist_result_runs_it_again(tmp_path):
    flow_run_id, pid, env = run_and_kill(tmp_path)
    side = tmp_path / "side.txt"
    assert side.read_text().split("\n")[:-1] == ["fetch", "step 0", "step 1", "step 2", "waiting"]
    Path(f"{side}.go").touch()

    retried = cli_retry(flow_run_id, env, cwd=tmp_path.parent)  # not from the script's folder
    assert retried.returncode == 0, retried.stderr[-3000:]
    assert f"Flow run {flow_run_id} finished in state Completed" in retried.stdout
    assert "1 task runs returned their persisted result without running; 4 ran again." in (
        retried.stdout
    )
    # `fetch` persisted its result: not run again; the steps ran again
    lines = side.read_text().split("\n")[:-1]
    assert lines == ["fetch", "step 0", "step 1", "step 2", "waiting"] + [
        f"step {i}" for i in range(4)
    ]
    store = open_store()
    try:
        run = store.read_flow_run(flow_run_id)
        assert run.state.type is StateType.COMPLETED and run.run_count == 2
        assert timeline(store, flow_run_id)[-4:] == [
            "Crashed",
            "AwaitingRetry",
            "Retrying",
            "Completed",
        ]
        assert run.pid != pid  # the retrying process ran it
    finally:
        store.close()


EARLY = textwrap.dedent(
    """
    import time
    from mainspring import flow, get_run_context, task

    @task
    def first() -> int:
        return 1

    @flow(name="early")
    def early() -> None:
        first()
        print(get_run_context().flow_run.id, flush=True)
        time.sleep(60)

    if __name__ == "__main__":
        early()
    """
)


def test_a_run_killed_just_after_it_started_is_recorded_and_found_dead(tmp_path):
    """Killed 0.1 s after the flow started: its Running state was stored already (the
    recorder writes it at once rather than at its first interval), and the next flow run
    started on this host finds its process gone."""
    script = tmp_path / "early.py"
    script.write_text(EARLY)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=subprocess_env(get_settings().home),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        flow_run_id = proc.stdout.readline().strip()  # type: ignore[union-attr]
        time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
        proc.stdout.close()  # type: ignore[union-attr]

    from mainspring import flow

    @flow(name="next-one")
    def next_one() -> int:
        return 1

    assert next_one() == 1  # a new flow run starting opens the store on this host
    store = open_store()
    try:
        assert timeline(store, flow_run_id) == ["Pending", "Running", "Crashed"]
        assert f"process {proc.pid}" in store.read_flow_run(flow_run_id).state.message
    finally:
        store.close()
