"""Opening a store ends the unfinished runs of this host whose process is gone (no server)."""

from __future__ import annotations

import os
import subprocess
import sys

from mainspring.model import State, StateType
from mainspring.store.base import Batch
from mainspring.store.processes import start_time, this_process
from mainspring.store.sql import SqlStore

from .conftest import T0, make_flow_run, make_state, make_task_run


def ended_process() -> tuple[int, float | None]:
    """The pid and start time of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = start_time(child.pid)
    child.kill()
    child.wait()
    return child.pid, started


def test_opening_a_store_ends_the_runs_whose_process_is_gone(store_url: str) -> None:
    me = this_process()
    pid, started = ended_process()
    dead = {"host": me.host, "pid": pid, "process_start": started}

    def run(state: StateType, name: str | None = None, **process):
        return make_flow_run(state=State(state, name, ts=T0), **process)

    running = run(StateType.RUNNING, **dead)
    cancelling = run(StateType.CANCELLING, **dead)
    pending = run(StateType.PENDING, **dead)
    awaiting = run(StateType.SCHEDULED, "AwaitingRetry", **dead)
    alive = run(StateType.RUNNING, host=me.host, pid=me.pid, process_start=me.start)
    elsewhere = run(StateType.RUNNING, host="another-host", pid=pid, process_start=started)
    unknown = run(StateType.RUNNING)  # recorded without its process (an older client)
    finished = run(StateType.FAILED, **dead)
    tasks = {
        key: make_task_run(running.id, key, state=State(type_, ts=T0))
        for key, type_ in [
            ("t-0", StateType.COMPLETED),
            ("t-1", StateType.RUNNING),
            ("t-2", StateType.PENDING),
        ]
    }
    runs = [running, cancelling, pending, awaiting, alive, elsewhere, unknown, finished]
    writer = SqlStore(store_url, end_dead_runs=False)
    writer.write(
        Batch(
            flow_runs={r.id: r for r in runs},
            task_runs={t.id: t for t in tasks.values()},
            states=[make_state(r.id, r.state.name, T0) for r in runs],
        )
    )
    assert writer.read_flow_run(running.id).state.type is StateType.RUNNING  # left alone
    writer.close()

    store = SqlStore(store_url)
    try:
        after = {r.id: store.read_flow_run(r.id) for r in runs}
        process = f"process {pid} on {me.host}"
        for ended in (running, pending, awaiting):
            got = after[ended.id]
            assert got.state.name == "Crashed", got.state
            assert process in got.state.message and "is gone" in got.state.message
            assert got.end_time == got.state.ts
            assert [s.name for s in store.read_states(ended.id)][-1] == "Crashed"
        got = after[cancelling.id]
        assert got.state.name == "Cancelled" and process in got.state.message
        for kept in (alive, elsewhere, unknown, finished):
            assert after[kept.id].state.name == kept.state.name
        task_states = {t.task_key: t.state.name for t in store.read_task_runs(running.id)}
        assert task_states == {"t-0": "Completed", "t-1": "Crashed", "t-2": "Crashed"}
        assert [s.name for s in store.read_states(tasks["t-1"].id)] == ["Crashed"]
    finally:
        store.close()

    again = SqlStore(store_url)  # a second open finds nothing more to do
    try:
        assert [s.name for s in again.read_states(running.id)] == ["Running", "Crashed"]
    finally:
        again.close()


def test_a_pid_now_used_by_another_process_is_a_dead_run(store_url: str) -> None:
    """A pid is reused: alive, but it started after the run's process did."""
    me = this_process()
    if me.start is None:  # no start times on this platform: only the pid can be checked
        return
    parent = os.getppid()
    reused = make_flow_run(host=me.host, pid=parent, process_start=me.start + 3600)
    writer = SqlStore(store_url, end_dead_runs=False)
    writer.write(Batch(flow_runs={reused.id: reused}))
    writer.close()
    store = SqlStore(store_url)
    try:
        assert store.read_flow_run(reused.id).state.type is StateType.CRASHED
    finally:
        store.close()


def test_end_dead_flow_runs_on_a_store_already_open(store_url: str) -> None:
    """`Store.end_dead_flow_runs` is what the open does, for a store that stays open (one
    opened with `end_dead_runs=False`, as `flow-run cancel` opens it)."""
    me = this_process()
    pid, started = ended_process()
    dead = make_flow_run(host=me.host, pid=pid, process_start=started)
    store = SqlStore(store_url, end_dead_runs=False)
    try:
        store.write(Batch(flow_runs={dead.id: dead}))
        assert store.read_flow_run(dead.id).state.type is StateType.RUNNING
        assert store.end_dead_flow_runs() == [dead.id]
        assert store.read_flow_run(dead.id).state.type is StateType.CRASHED
        assert store.end_dead_flow_runs() == []
    finally:
        store.close()
