"""Crashes: a flow process stopped by Ctrl-C (SIGINT) or SIGTERM leaves Crashed runs behind.

Each test runs a real flow in a child Python against its own MAINSPRING_HOME, waits until a
task is inside its function, signals the process, then reads the store the child left.
"""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest

from mainspring.model import StateType
from mainspring.store.sql import SqlStore

from .support import start_python, task_runs_by_name

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import threading, time
    from mainspring import flow, task

    @task
    def background():
        time.sleep(2)  # still running when the flow crashes; finishes while the process exits
        return "late"

    @task
    def blocking():
        print("READY", flush=True)
        time.sleep(60)

    @flow(name="crashy")
    def crashy():
        background.submit()
        blocking()

    if __name__ == "__main__":
        crashy()
    """
)


ASYNC_SCRIPT = textwrap.dedent(
    """
    import asyncio
    from mainspring import flow, task

    @task
    async def blocking():
        print("READY", flush=True)
        await asyncio.sleep(60)

    @flow(name="crashy")
    async def crashy():
        await blocking()

    if __name__ == "__main__":
        asyncio.run(crashy())
    """
)


def run_and_signal(tmp_path: Path, signum: int, source: str = SCRIPT) -> tuple[int, str, SqlStore]:
    script = tmp_path / "crashy.py"
    script.write_text(source)
    home = tmp_path / "home"
    proc = start_python(script, home)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "READY", proc.stderr.read()
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stderr, SqlStore(f"sqlite:///{home / 'mainspring.db'}")


@pytest.mark.parametrize(
    ("signum", "reason"),
    [
        (signal.SIGINT, "Flow run was interrupted by the user"),
        (signal.SIGTERM, "Flow run was stopped by TerminationSignal"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_signalled_flow_process_leaves_crashed_runs(tmp_path, signum, reason):
    returncode, stderr, store = run_and_signal(tmp_path, signum)
    try:
        assert returncode != 0, stderr
        (run,) = store.read_flow_runs()
        assert run.state.type is StateType.CRASHED, stderr
        assert run.state.message.startswith(reason)
        assert "Crash detected!" in stderr
        tasks = task_runs_by_name(store, run.id)
        assert set(tasks) == {"background-0", "blocking-0"}
        # both were running when the flow crashed; the background one must stay Crashed
        # even though its thread went on to return a value afterwards
        for task_run in tasks.values():
            assert task_run.state.type is StateType.CRASHED, (task_run.name, task_run.state)
            assert task_run.end_time is not None
        states = [s.name for s in store.read_states(tasks["background-0"].id)]
        assert "Completed" not in states
        assert states[-1] == "Crashed"
        assert [s.name for s in store.read_states(run.id)] == ["Pending", "Running", "Crashed"]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("signum", "reason"),
    [
        (signal.SIGINT, "Flow run was interrupted by the user"),
        (signal.SIGTERM, "Flow run was stopped by TerminationSignal"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_signalled_async_flow_is_crashed_not_cancelled(tmp_path, signum, reason):
    """asyncio.run turns Ctrl-C (and the loop's teardown) into task cancellation."""
    returncode, stderr, store = run_and_signal(tmp_path, signum, ASYNC_SCRIPT)
    try:
        assert returncode != 0, stderr
        (run,) = store.read_flow_runs()
        assert run.state.type is StateType.CRASHED, (run.state, stderr)
        assert run.state.message.startswith(reason)
        (task_run,) = store.read_task_runs(run.id)
        assert task_run.state.type is StateType.CRASHED, task_run.state
    finally:
        store.close()


def test_cancelling_an_async_flows_asyncio_task_cancels_the_run(store):
    """Without a signal, an asyncio cancellation is a deliberate one: Cancelled."""
    import asyncio

    from mainspring import flow

    @flow
    async def waits():
        await asyncio.sleep(60)

    async def main():
        running = asyncio.create_task(waits())
        await asyncio.sleep(0.2)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    asyncio.run(main())
    (run,) = store.read_flow_runs()
    assert run.state.type is StateType.CANCELLED


def test_task_awaiting_retry_when_its_flow_crashes_is_not_retried(store):
    """In-process Ctrl-C: the task's thread wakes from its retry delay to a crashed run."""
    import threading
    import time

    from mainspring import flow, task

    calls = []
    failed_once = threading.Event()

    @task(retries=1, retry_delay_seconds=0.5)
    def flaky():
        calls.append(1)
        failed_once.set()
        raise RuntimeError("first attempt fails")

    @flow
    def pipeline():
        flaky.submit()
        assert failed_once.wait(30)
        time.sleep(0.1)  # the task run is now AwaitingRetry, sleeping out its delay
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pipeline()
    time.sleep(2)  # past the retry delay: a retry would have called the function again
    assert calls == [1]
    run = store.read_flow_runs()[0]
    assert run.state.type is StateType.CRASHED
    (task_run,) = store.read_task_runs(run.id)
    assert task_run.state.type is StateType.CRASHED
    names = [s.name for s in store.read_states(task_run.id)]
    assert names[:3] == ["Pending", "Running", "AwaitingRetry"] and names[-1] == "Crashed"
    assert "Retrying" not in names
