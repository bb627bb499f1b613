"""The crash detector: flow runs whose heartbeats stopped become Crashed, once, saying why.

The scan itself is checked against SQLite and PostgreSQL with runs written through the store;
the end-to-end proofs kill a real flow process with SIGKILL and let a real
`mainspring server start` (short timeout) find it, and keep a real flow alive past the timeout.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from mainspring.model import State, StateType
from mainspring.model.states import Crashed
from mainspring.server.services.crash_detector import CrashDetector
from mainspring.store.base import Batch
from mainspring.store.processes import this_process
from mainspring.store.sql import SqlStore, schema
from mainspring.store.sql.transitions import set_state

from .conftest import T0, flow_run, server_env, start_server, stop_server, task_run, write_runs

TIMEOUT = 30.0
NOW = T0 + 1000


def states_of(store: SqlStore, run_id: str) -> list[str]:
    return [s.name for s in store.read_states(run_id)]


def test_silent_runs_are_crashed_once_with_the_reason(store: SqlStore) -> None:
    silent = flow_run(heartbeat=NOW - 45)
    never_beat = flow_run(state=StateType.CANCELLING, ts=NOW - 100)
    alive = flow_run(heartbeat=NOW - 5, ts=NOW - 500)
    just_started = flow_run(ts=NOW - 5)
    finished = flow_run(state=StateType.COMPLETED, heartbeat=NOW - 500)
    waiting = flow_run(state=StateType.PENDING, ts=NOW - 500)
    write_runs(store, silent, never_beat, alive, just_started, finished, waiting)
    busy, done = task_run(silent.id, "load-0", StateType.RUNNING), task_run(silent.id, "x-0")
    store.write(Batch(task_runs={busy.id: busy, done.id: done}))
    detector = CrashDetector(store, timeout=TIMEOUT, interval=1)

    assert set(detector.scan(now=NOW)) == {silent.id, never_beat.id}
    assert detector.scan(now=NOW + 1) == []  # crashed once: nothing left to find

    crashed = store.read_flow_run(silent.id).state
    assert crashed.type is StateType.CRASHED
    assert crashed.message.startswith("No heartbeat for 45 s (crash timeout 30 s) while Running")
    assert "presumed dead" in crashed.message
    assert store.read_flow_run(silent.id).end_time is not None
    assert "No heartbeat at all for 100 s" in store.read_flow_run(never_beat.id).state.message
    assert states_of(store, silent.id) == ["Crashed"] and states_of(store, never_beat.id) == [
        "Crashed"
    ]
    for run in (alive, just_started, finished, waiting):
        assert store.read_flow_run(run.id).state.type is run.state.type, run
    assert store.read_task_run(busy.id).state.type is StateType.CRASHED
    assert states_of(store, busy.id) == ["Crashed"]
    assert store.read_task_run(done.id).state.type is StateType.COMPLETED


def test_racing_detectors_crash_a_run_once(store: SqlStore) -> None:
    silent = flow_run(heartbeat=NOW - 60)
    write_runs(store, silent)
    detectors = [CrashDetector(store, timeout=TIMEOUT, interval=1) for _ in range(4)]
    found: list[str] = []
    start = threading.Barrier(len(detectors))

    def scan(detector: CrashDetector) -> None:
        start.wait()
        found.extend(detector.scan(now=NOW))

    threads = [threading.Thread(target=scan, args=(d,)) for d in detectors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == [silent.id]
    assert states_of(store, silent.id) == ["Crashed"]


def test_a_heartbeat_between_scan_and_write_saves_the_run(store: SqlStore) -> None:
    """The compare-and-set repeats "still silent": a heartbeat that lands after the detector's
    scan (here: at NOW - 1, after the cut-off) keeps the run Running."""
    run = flow_run(heartbeat=NOW - 1)
    write_runs(store, run)
    crashed = store.crash_silent_flow_run(run.id, Crashed(message="late"), silent_since=NOW - 30)
    assert crashed is None
    with pytest.raises(ValueError, match="to a Crashed state, not Failed"):
        store.crash_silent_flow_run(run.id, State(StateType.FAILED), silent_since=NOW - 30)
    assert store.read_flow_run(run.id).state.type is StateType.RUNNING


def test_a_late_heartbeat_never_revives_or_re_crashes_a_run(store: SqlStore) -> None:
    silent = flow_run(heartbeat=NOW - 60)
    write_runs(store, silent)
    CrashDetector(store, timeout=TIMEOUT, interval=1).scan(now=NOW)
    assert store.heartbeat([silent.id]) == {silent.id: StateType.CRASHED}
    assert store.read_flow_run(silent.id).heartbeat == NOW - 60  # a finished run is left alone
    assert CrashDetector(store, timeout=TIMEOUT, interval=1).scan(now=NOW + 60) == []
    assert states_of(store, silent.id) == ["Crashed"]


def test_a_detector_just_started_holds_no_earlier_silence_against_a_run(store: SqlStore) -> None:
    """A server back from an outage: its clients' heartbeats failed while it was away, so it
    listens for one whole timeout before it presumes any run dead."""
    now = time.time()
    quiet = flow_run(heartbeat=now - 120)  # silent for far longer than the timeout
    write_runs(store, quiet)
    detector = CrashDetector(store, timeout=0.6, interval=0.05)
    detector.start()
    try:
        time.sleep(0.3)
        assert store.read_flow_run(quiet.id).state.type is StateType.RUNNING  # not yet
        store.heartbeat([quiet.id])  # its process is back and beats
        time.sleep(0.45)  # a timeout since the start, but not since that heartbeat
        assert store.read_flow_run(quiet.id).state.type is StateType.RUNNING
        deadline = time.monotonic() + 5  # then silent for a whole timeout: crashed
        while not store.read_flow_run(quiet.id).state.is_crashed():
            assert time.monotonic() < deadline, "never crashed"
            time.sleep(0.05)
    finally:
        detector.stop()
    assert states_of(store, quiet.id)[-1] == "Crashed"


def test_a_crash_and_what_goes_with_it_are_stored_together_or_not_at_all(store: SqlStore):
    run = flow_run(heartbeat=NOW - 60)
    write_runs(store, run)
    store.write(Batch(task_runs={t.id: t for t in [task_run(run.id, "a-0", StateType.RUNNING)]}))

    def fail_midway(conn, state):
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        set_state(
            store._writing, run.id, Crashed(message="x"), is_task=False, on_accepted=fail_midway
        )
    assert store.read_flow_run(run.id).state.type is StateType.RUNNING  # rolled back
    assert states_of(store, run.id) == []

    CrashDetector(store, timeout=TIMEOUT, interval=1).scan(now=NOW)
    (task,) = store.read_task_runs(run.id)
    assert store.read_flow_run(run.id).state.is_crashed() and task.state.is_crashed()


def test_a_retried_run_is_not_crashed_for_its_dead_process_s_old_heartbeat(store: SqlStore):
    retried = flow_run(ts=NOW - 1, heartbeat=NOW - 600)  # Running again since a second ago
    write_runs(store, retried)
    assert CrashDetector(store, timeout=TIMEOUT, interval=1).scan(now=NOW) == []
    assert CrashDetector(store, timeout=TIMEOUT, interval=1).scan(now=NOW + 60) == [retried.id]


def test_the_detector_needs_positive_times(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        CrashDetector(store, timeout=0, interval=1)


# -- end to end: a real flow process, a real server -------------------------------------------
FLOW = textwrap.dedent(
    """
    import sys, time
    from mainspring import flow, task

    @task
    def work(seconds: float) -> str:
        print("READY", flush=True)
        time.sleep(seconds)
        return "done"

    @flow(name="victim")
    def victim(seconds: float) -> str:
        return work(seconds)

    if __name__ == "__main__":
        print(victim(float(sys.argv[1])), flush=True)
    """
)
FAST = {
    "MAINSPRING_HEARTBEAT_INTERVAL": "0.2",
    "MAINSPRING_SERVER_CRASH_TIMEOUT": "1.5",
    "MAINSPRING_SERVER_CRASH_CHECK_INTERVAL": "0.2",
}


def start_flow(tmp_path: Path, env: dict[str, str], seconds: float) -> subprocess.Popen[str]:
    script = tmp_path / "victim.py"
    script.write_text(FLOW)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(seconds)],
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
    return proc


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.parametrize("host", ["this host", "another host"])
def test_a_sigkilled_flow_is_crashed_by_a_server_started_later(tmp_path, server_home, host):
    """On this host the server, opening the store, finds the run's process gone at once
    (store/sql/dead_runs.py); a run of another host is crashed once its heartbeats stopped."""
    env = {**server_env(server_home), **FAST}
    store = SqlStore(f"sqlite:///{server_home / 'mainspring.db'}")
    proc = start_flow(tmp_path, env, 60)
    try:
        run = wait_for(
            lambda: next((r for r in store.read_flow_runs() if r.heartbeat is not None), None),
            what="a heartbeat of the flow run",
        )
        # The recorder writes in the background: let the history reach the store first, so
        # that what the kill loses is not part of what is checked below.
        wait_for(
            lambda: (
                states_of(store, run.id) == ["Pending", "Running"]
                and [t.state.type for t in store.read_task_runs(run.id)] == [StateType.RUNNING]
            ),
            what="the recorded Running states",
        )
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        assert store.read_flow_run(run.id).state.type is StateType.RUNNING  # nobody knows yet
        if host == "another host":  # as a run recorded by another machine: only silence tells
            with store.engine().begin() as conn:
                conn.execute(sa.update(schema.flow_run).values(host="another-host"))

        server = start_server(env)
        try:
            crashed = wait_for(
                lambda: store.read_flow_run(run.id).state.is_crashed(), what="the crash"
            )
            assert crashed
            time.sleep(1.0)  # several more scans: still one Crashed
        finally:
            output = stop_server(server.process)
        state = store.read_flow_run(run.id).state
        assert states_of(store, run.id) == ["Pending", "Running", "Crashed"]
        (task,) = store.read_task_runs(run.id)
        assert task.state.type is StateType.CRASHED
        assert states_of(store, task.id)[-1] == "Crashed"
        if host == "this host":
            assert f"process {proc.pid} on {this_process().host} running" in state.message
            assert f"Flow run {run.id} marked Crashed: The process {proc.pid}" in output
            return
        assert state.message.startswith("No heartbeat for "), state.message
        assert "(crash timeout 1.5 s) while Running" in state.message
        assert f"Flow run {run.id} marked Crashed (1 task runs with it): No heartbeat" in output
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()


def ends_completed_and_stays(proc: subprocess.Popen[str], store: SqlStore) -> None:
    """The flow process ends well and its run Completed, still so once its last heartbeat is
    older than the timeout."""
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip() == "done", err
    (run,) = store.read_flow_runs()
    assert states_of(store, run.id) == ["Pending", "Running", "Completed"]
    time.sleep(2.0)  # its last heartbeat is now older than the timeout: still Completed
    assert store.read_flow_run(run.id).state.type is StateType.COMPLETED
    assert "Crashed" not in states_of(store, run.id)


@pytest.mark.slow
def test_a_flow_whose_heartbeats_go_on_outlives_the_timeout(tmp_path, server_home):
    env = {**server_env(server_home), **FAST}
    store = SqlStore(f"sqlite:///{server_home / 'mainspring.db'}")
    proc = start_flow(tmp_path, env, 6.0)  # well past the 1.5 s timeout
    try:
        # the server starts once the run beats (a process's first beat comes after it opened
        # the store, which can take longer than this test's very short timeout)
        wait_for(lambda: any(r.heartbeat for r in store.read_flow_runs()), what="a heartbeat")
        server = start_server(env)
        try:
            ends_completed_and_stays(proc, store)
        finally:
            stop_server(server.process)
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()


@pytest.mark.slow
def test_a_flow_beating_through_the_api_outlives_the_timeout(tmp_path, server_home):
    """The same for a flow that records into the server: its heartbeats arrive through
    `POST /flow_runs/heartbeat`, and the run ends Completed, never Crashed."""
    env = {**server_env(server_home), **FAST}
    server = start_server(env)
    store = SqlStore(f"sqlite:///{server_home / 'mainspring.db'}")
    remote = {"MAINSPRING_HOME": str(tmp_path / "flow-home"), "MAINSPRING_API_URL": server.url}
    proc = start_flow(tmp_path, {**env, **remote}, 4.0)  # well past the 1.5 s timeout
    try:
        beats = set()
        while proc.poll() is None:
            beats.update(r.heartbeat for r in store.read_flow_runs() if r.heartbeat)
            time.sleep(0.1)
        ends_completed_and_stays(proc, store)
        assert len(beats) >= 5  # one every 0.2 s reached the server
        assert not (tmp_path / "flow-home" / "mainspring.db").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()
        stop_server(server.process)


def test_settings_refuse_a_timeout_within_one_heartbeat(monkeypatch) -> None:
    from mainspring.settings import Settings, SettingsError

    monkeypatch.setenv("MAINSPRING_HEARTBEAT_INTERVAL", "5")
    monkeypatch.setenv("MAINSPRING_SERVER_CRASH_TIMEOUT", "5")
    with pytest.raises(SettingsError, match="must be longer than heartbeat_interval"):
        Settings()
    monkeypatch.setenv("MAINSPRING_HEARTBEAT_INTERVAL", "0")
    with pytest.raises(SettingsError, match="heartbeat_interval"):
        Settings()


def test_a_state_far_in_the_past_with_fresh_heartbeats_is_alive(store: SqlStore) -> None:
    """Heartbeats that resumed after a pause shorter than the timeout keep a run alive."""
    run = flow_run(ts=NOW - 10_000, heartbeat=NOW - TIMEOUT + 1)
    write_runs(store, run)
    assert CrashDetector(store, timeout=TIMEOUT, interval=1).scan(now=NOW) == []
    assert store.read_flow_run(run.id).state == State(StateType.RUNNING, ts=NOW - 10_000)
