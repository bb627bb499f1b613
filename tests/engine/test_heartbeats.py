"""Heartbeats of running flow runs, and cancelling a run in this process through them.

Real flows record into the real embedded store; a cancel is requested the way the CLI does it
(the orchestration's compare-and-set on the same database) and reaches the flow through the
heartbeat answer. The child-process proofs are tests/cli/test_flow_run_cancel.py and
tests/server/test_crash_detector.py.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mainspring import flow, task
from mainspring.engine.stopping import heartbeats
from mainspring.model import StateType
from mainspring.model.states import Cancelling
from mainspring.settings import reset_settings
from mainspring.store import Store
from mainspring.store.recorder import Recorder
from mainspring.store.sql import SqlStore

from .support import only_flow_run, timeline

INTERVAL = 0.05


@pytest.fixture(autouse=True)
def fast_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAINSPRING_HEARTBEAT_INTERVAL", str(INTERVAL))
    reset_settings()
    heartbeats.beat_now()  # the thread may be waiting out a longer interval of an earlier test


def cancel_when_running(
    store: Store, flow_name: str, after: float = 0.3, state: str = "Running"
) -> threading.Thread:
    """From another thread, once the flow's run is recorded in `state`, cancel it as the CLI
    does."""

    def cancel() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            runs = [r for r in store.read_flow_runs() if r.flow_name == flow_name]
            if runs and runs[0].state.name == state:
                time.sleep(after)
                assert isinstance(store, SqlStore)
                store.set_state(runs[0].id, Cancelling())
                return
            time.sleep(0.01)

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    return thread


def test_a_running_flow_sends_heartbeats(store: Store) -> None:
    @flow(name="beating")
    def beating() -> None:
        time.sleep(0.5)

    beating()
    run = only_flow_run(store, "beating")
    assert run.heartbeat is not None
    assert run.start_time < run.heartbeat <= run.end_time


def test_a_short_flow_sends_none(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAINSPRING_HEARTBEAT_INTERVAL", "20")
    reset_settings()
    heartbeats.beat_now()
    time.sleep(0.05)  # the thread has picked up the long interval

    @flow(name="quick")
    def quick() -> int:
        return 1

    assert quick() == 1
    assert only_flow_run(store, "quick").heartbeat is None


def test_a_store_that_cannot_be_reached_is_reported_once(tmp_path: Path, capsys) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    unreachable = Recorder(lambda: SqlStore(f"sqlite:///{tmp_path}/a-file/x.db"))
    calls: list[StateType] = []
    heartbeats.register("run-that-nobody-knows", unreachable, calls.append)
    try:
        heartbeats.beat()
        heartbeats.beat()
    finally:
        heartbeats.unregister("run-that-nobody-knows")
        heartbeats.beat()  # nothing to send: the streak of failures is over
    err = capsys.readouterr().err
    assert err.count("mainspring: could not send heartbeats (") == 1, err
    assert "retrying in the background" in err
    assert calls == []


def test_a_cancelled_flow_stops_and_starts_no_more_tasks(store: Store, tmp_path: Path) -> None:
    side = tmp_path / "side.txt"

    @task
    def note(what: str) -> None:
        with side.open("a") as f:
            f.write(what + "\n")

    @task
    def sleepy() -> None:
        time.sleep(30)

    hooks: list[str] = []

    @flow(name="to-cancel", on_cancellation=[lambda f, r, s: hooks.append(s.message)])
    def to_cancel() -> None:
        note("first")
        sleepy()
        note("never")

    cancel_when_running(store, "to-cancel")
    started = time.monotonic()
    state = to_cancel(return_state=True)
    assert time.monotonic() - started < 5
    assert state.is_cancelled(), state
    assert side.read_text().split() == ["first"]
    assert hooks and "cancellation was requested" in hooks[0]
    run = only_flow_run(store, "to-cancel")
    assert timeline(store, run.id) == ["Pending", "Running", "Cancelling", "Cancelled"]
    tasks = {t.name: t.state.name for t in store.read_task_runs(run.id)}
    assert tasks == {"note-0": "Completed", "sleepy-0": "Cancelled"}


def test_a_flow_in_another_thread_is_cancelled_too(store: Store) -> None:
    """Not the main thread: the cancel is an asynchronous exception, raised between bytecodes."""
    loops: list[int] = []

    @flow(name="threaded")
    def threaded() -> None:
        for i in range(3000):
            loops.append(i)
            time.sleep(0.01)

    cancel_when_running(store, "threaded")
    result: list = []
    worker = threading.Thread(target=lambda: result.append(threaded(return_state=True)))
    worker.start()
    worker.join(timeout=20)
    assert result and result[0].is_cancelled(), result
    assert len(loops) < 1000


def test_a_cancel_cuts_the_wait_before_a_retry_short(store: Store) -> None:
    @flow(name="retrying", retries=3, retry_delay_seconds=30)
    def retrying() -> None:
        raise RuntimeError("try again")

    cancel_when_running(store, "retrying", after=0.0, state="AwaitingRetry")
    started = time.monotonic()
    state = retrying(return_state=True)
    assert time.monotonic() - started < 5
    assert state.is_cancelled(), state
    assert timeline(store, only_flow_run(store, "retrying").id)[-1] == "Cancelled"


def test_cancelling_a_parent_cancels_its_running_subflow(store: Store) -> None:
    ran: list[str] = []

    @flow(name="child")
    def child() -> None:
        time.sleep(30)

    @flow(name="parent")
    def parent() -> None:
        child()
        ran.append("after the subflow")

    cancel_when_running(store, "parent")
    state = parent(return_state=True)
    assert state.is_cancelled(), state
    assert ran == []
    assert only_flow_run(store, "child").state.type is StateType.CANCELLED
