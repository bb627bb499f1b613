"""A cancel that arrives while task runs are in the engine's code around their functions.

Cancelling a flow run interrupts the threads running its code (engine/stopping/interrupts.py). The
interrupt must land only in a user's function: a task run past its function (in its hooks,
writing its result) ends Completed with its hooks run to the end; a run still in its function
ends Cancelled; a queued run never starts.

Each test holds task runs at a chosen point with events, cancels the flow run there the way
`mainspring flow-run cancel` does, and delivers the cancel with a heartbeat sent from the test's
own thread, so when the cancel is acted on is decided by the test, not by timing.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mainspring import ThreadPoolTaskRunner, flow, get_run_context, task
from mainspring.engine.stopping import heartbeats
from mainspring.exceptions import CancelledRun
from mainspring.model.states import Cancelling
from mainspring.settings import reset_settings
from mainspring.store import Store
from mainspring.store.recorder import get_recorder
from mainspring.store.sql import SqlStore

from .support import log_messages, subprocess_env, task_runs_by_name

WAIT = 10  # seconds any wait may take: only reached when the test fails
HOOK_ERROR = "An error was encountered while running hook"


@pytest.fixture(autouse=True)
def manual_heartbeats(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The heartbeat thread waits out a long interval: only the test's own beats deliver."""
    monkeypatch.setenv("MAINSPRING_HEARTBEAT_INTERVAL", "20")
    reset_settings()
    heartbeats.beat_now()
    yield
    monkeypatch.delenv("MAINSPRING_HEARTBEAT_INTERVAL")
    reset_settings()
    heartbeats.beat_now()  # back to the default interval for the tests that follow


def cancel(store: Store, flow_run_id: str) -> None:
    """Mark the run Cancelling as the CLI does, then send the heartbeat whose answer tells its
    engine: when this returns, the engine has acted on the cancel."""
    assert isinstance(store, SqlStore)
    assert get_recorder().flush(timeout=WAIT)  # the run is Running in the store
    outcome = store.set_state(flow_run_id, Cancelling())
    assert outcome.decision.accepted, outcome
    heartbeats.beat()


def in_background(control: Callable[[], None]) -> Callable[[], None]:
    """Run `control` in a thread; the returned function joins it and re-raises its error."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            control()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> None:
        thread.join(WAIT)
        assert not thread.is_alive(), "the controlling thread is stuck"
        if errors:
            raise errors[0]

    return join


def cancel_when(store: Store, ids: list[str], barrier: threading.Barrier, release: Any = None):
    """In the background: once every party but this one waits at `barrier`, cancel the flow
    run `ids[0]`, then set `release` (the held runs go on)."""

    def control() -> None:
        barrier.wait()
        cancel(store, ids[0])
        if release is not None:
            release.set()

    return in_background(control)


def states_of(store: Store, flow_run_id: str) -> dict[str, str]:
    return {name: run.state.name for name, run in task_runs_by_name(store, flow_run_id).items()}


def hook_errors(store: Store, flow_run_id: str) -> list[str]:
    return [m for m in log_messages(store, flow_run_id) if HOOK_ERROR in m]


def test_submitted_runs_in_their_hooks_end_completed_and_running_ones_cancelled(store):
    arrived = threading.Barrier(4, timeout=WAIT)  # two hooks, the looping run, the controller
    release = threading.Event()
    notes: list[str] = []
    ids: list[str] = []

    def held(task: Any, run: Any, state: Any) -> None:
        arrived.wait()
        release.wait(WAIT)  # the cancel arrives while this hook runs
        notes.append(f"hook-done:{run.name}")

    @task(on_completion=[held])
    def quick(i: int) -> int:
        return i

    @task
    def looping() -> None:
        arrived.wait()
        for _ in range(500):  # Python code between short sleeps: an interrupt lands here
            time.sleep(0.01)
        notes.append("looping-finished")

    @flow(name="hooks-at-cancel")
    def hooks_at_cancel() -> None:
        ids.append(get_run_context().flow_run.id)
        for future in [quick.submit(0), quick.submit(1), looping.submit()]:
            future.wait()
        notes.append("flow-finished")

    join = cancel_when(store, ids, arrived, release)
    started = time.monotonic()
    state = hooks_at_cancel(return_state=True)
    join()
    assert state.is_cancelled(), state
    assert time.monotonic() - started < 5
    assert sorted(notes) == ["hook-done:quick-0", "hook-done:quick-1"]
    assert states_of(store, ids[0]) == {
        "quick-0": "Completed",
        "quick-1": "Completed",
        "looping-0": "Cancelled",
    }
    assert hook_errors(store, ids[0]) == []


class Held:
    """A result whose pickling (when the engine persists it) waits at a barrier, then for a
    release: a run held inside result persistence, after its function returned."""

    arrived: threading.Barrier
    release: threading.Event

    def __init__(self, value: int) -> None:
        self.value = value

    def __reduce__(self) -> tuple:
        Held.arrived.wait()
        Held.release.wait(WAIT)
        return (Held, (self.value,))


def test_submitted_runs_persisting_their_results_end_completed(store):
    Held.arrived = arrived = threading.Barrier(3, timeout=WAIT)
    Held.release = release = threading.Event()
    ids: list[str] = []
    futures: list[Any] = []

    @task(persist_result=True)
    def produce(i: int) -> Held:
        return Held(i)

    @flow(name="persisting-at-cancel")
    def persisting_at_cancel() -> None:
        ids.append(get_run_context().flow_run.id)
        futures.extend([produce.submit(0), produce.submit(1)])
        for future in futures:
            future.wait()

    join = cancel_when(store, ids, arrived, release)
    state = persisting_at_cancel(return_state=True)
    join()
    assert state.is_cancelled(), state
    assert states_of(store, ids[0]) == {"produce-0": "Completed", "produce-1": "Completed"}
    assert [f.result().value for f in futures] == [0, 1]
    assert not any("cannot be persisted" in m for m in log_messages(store, ids[0]))


def test_a_run_queued_behind_a_cancelled_one_never_starts(store):
    arrived = threading.Barrier(2, timeout=WAIT)
    notes: list[str] = []
    ids: list[str] = []

    @task
    def looping() -> None:
        arrived.wait()
        for _ in range(500):
            time.sleep(0.01)

    @task
    def queued() -> None:
        notes.append("queued-ran")

    @flow(name="queue-at-cancel", task_runner=ThreadPoolTaskRunner(max_workers=1))
    def queue_at_cancel() -> None:
        ids.append(get_run_context().flow_run.id)
        first, second = looping.submit(), queued.submit()
        try:
            first.wait()
        except CancelledRun:
            second.wait(WAIT)  # the worker takes the queued run up before the flow ends
            raise

    join = cancel_when(store, ids, arrived)
    state = queue_at_cancel(return_state=True)
    join()
    assert state.is_cancelled(), state
    assert notes == []
    runs = task_runs_by_name(store, ids[0])
    assert {name: run.state.name for name, run in runs.items()} == {
        "looping-0": "Cancelled",
        "queued-0": "Cancelled",
    }
    assert "cancellation was requested" in runs["queued-0"].state.message


def test_a_run_waiting_for_a_cancelled_upstream_ends_cancelled_not_failed(store):
    arrived = threading.Barrier(2, timeout=WAIT)
    ids: list[str] = []

    @task
    def looping() -> None:
        arrived.wait()
        for _ in range(500):
            time.sleep(0.01)

    @task
    def downstream() -> None:
        pass

    @flow(name="upstream-at-cancel")
    def upstream_at_cancel() -> None:
        ids.append(get_run_context().flow_run.id)
        first = looping.submit()
        second = downstream.submit(wait_for=[first])
        try:
            first.wait()
        except CancelledRun:
            second.wait(WAIT)
            raise

    join = cancel_when(store, ids, arrived)
    state = upstream_at_cancel(return_state=True)
    join()
    assert state.is_cancelled(), state
    runs = task_runs_by_name(store, ids[0])
    assert runs["downstream-0"].state.name == "Cancelled"
    assert "cancellation was requested" in runs["downstream-0"].state.message


def test_a_task_called_in_the_flow_finishes_its_hook_then_the_flow_stops(store):
    """The flow's own thread (the main thread: the cancel is a signal): the task's hook is
    engine code around its function, so the cancel waits until the call returns."""
    arrived = threading.Barrier(2, timeout=WAIT)
    release = threading.Event()
    notes: list[str] = []
    ids: list[str] = []

    def held(task: Any, run: Any, state: Any) -> None:
        arrived.wait()
        release.wait(WAIT)
        notes.append("hook-done")

    @task(on_completion=[held])
    def inline() -> int:
        return 1

    @flow(name="inline-at-cancel")
    def inline_at_cancel() -> None:
        ids.append(get_run_context().flow_run.id)
        inline()
        notes.append("after-the-call")
        threading.Event().wait(WAIT)  # an interrupt would end this wait early

    join = cancel_when(store, ids, arrived, release)
    started = time.monotonic()
    state = inline_at_cancel(return_state=True)
    join()
    assert state.is_cancelled(), state
    assert time.monotonic() - started < 5
    assert notes == ["hook-done"]
    assert states_of(store, ids[0]) == {"inline-0": "Completed"}
    assert hook_errors(store, ids[0]) == []


def test_a_task_called_in_a_submitted_task_finishes_its_hook_then_its_caller_stops(store):
    arrived = threading.Barrier(2, timeout=WAIT)
    release = threading.Event()
    notes: list[str] = []
    ids: list[str] = []

    def held(task: Any, run: Any, state: Any) -> None:
        arrived.wait()
        release.wait(WAIT)
        notes.append("hook-done")

    @task(on_completion=[held])
    def inner() -> int:
        return 1

    @task
    def outer() -> None:
        inner()
        notes.append("after-the-call")
        for _ in range(500):
            time.sleep(0.01)

    @flow(name="nested-at-cancel")
    def nested_at_cancel() -> None:
        ids.append(get_run_context().flow_run.id)
        outer.submit().wait()

    join = cancel_when(store, ids, arrived, release)
    state = nested_at_cancel(return_state=True)
    join()
    assert state.is_cancelled(), state
    assert notes == ["hook-done"]
    assert states_of(store, ids[0]) == {"outer-0": "Cancelled", "inner-0": "Completed"}
    assert hook_errors(store, ids[0]) == []


def test_submitted_async_runs_in_their_hooks_end_completed_and_awaiting_ones_cancelled(store):
    arrived = threading.Barrier(3, timeout=WAIT)  # the hook, the awaiting run, the controller
    release = threading.Event()
    notes: list[str] = []
    ids: list[str] = []

    def held(task: Any, run: Any, state: Any) -> None:
        arrived.wait()
        release.wait(WAIT)
        notes.append("hook-done")

    @task(on_completion=[held])
    async def quick() -> int:
        return 1

    @task
    async def awaiting() -> None:
        await asyncio.to_thread(arrived.wait)
        await asyncio.sleep(5)
        notes.append("awaiting-finished")

    @flow(name="async-at-cancel")
    def async_at_cancel() -> None:
        ids.append(get_run_context().flow_run.id)
        for future in [quick.submit(), awaiting.submit()]:
            future.wait()

    join = cancel_when(store, ids, arrived, release)
    started = time.monotonic()
    state = async_at_cancel(return_state=True)
    join()
    assert state.is_cancelled(), state
    assert time.monotonic() - started < 5
    assert notes == ["hook-done"]
    assert states_of(store, ids[0]) == {"quick-0": "Completed", "awaiting-0": "Cancelled"}
    assert hook_errors(store, ids[0]) == []


def test_a_cancel_of_the_parent_reaches_the_task_runs_its_subflow_submitted(store):
    arrived = threading.Barrier(2, timeout=WAIT)
    ids: list[str] = []

    @task
    def looping() -> None:
        arrived.wait()
        for _ in range(500):
            time.sleep(0.01)

    @flow(name="child")
    def child() -> None:
        looping.submit().wait()

    @flow(name="parent")
    def parent() -> None:
        ids.append(get_run_context().flow_run.id)
        child()

    join = cancel_when(store, ids, arrived)
    started = time.monotonic()
    state = parent(return_state=True)
    join()
    assert state.is_cancelled(), state
    assert time.monotonic() - started < 1.5  # nobody waited for the looping run to end
    (child_run,) = [r for r in store.read_flow_runs() if r.flow_name == "child"]
    assert child_run.state.name == "Cancelled"
    run = task_runs_by_name(store, child_run.id)["looping-0"]
    assert run.state.name == "Cancelled"
    assert "cancellation was requested" in run.state.message


def test_a_cancel_of_the_parent_reaches_an_async_subflow(store):
    arrived = threading.Barrier(2, timeout=WAIT)
    notes: list[str] = []
    ids: list[str] = []

    @flow(name="async-child")
    async def async_child() -> None:
        await asyncio.to_thread(arrived.wait)
        await asyncio.sleep(5)
        notes.append("child-finished")

    @flow(name="sync-parent")
    def sync_parent() -> None:
        ids.append(get_run_context().flow_run.id)
        async_child()
        notes.append("parent-finished")

    join = cancel_when(store, ids, arrived)
    started = time.monotonic()
    state = sync_parent(return_state=True)
    join()
    assert state.is_cancelled(), state
    assert time.monotonic() - started < 1.5
    assert notes == []
    (child_run,) = [r for r in store.read_flow_runs() if r.flow_name == "async-child"]
    assert child_run.state.name == "Cancelled"


def test_a_cancel_of_an_async_parent_ends_it_and_its_awaited_subflow_cancelled(store):
    """The subflow shares its parent's asyncio task and is cancelled by the parent's cancel and
    by its own: one CancelledError, taken by the subflow as its own cancel, and no second
    request left on the task (it would cancel the parent's cleanup)."""
    arrived = threading.Barrier(2, timeout=WAIT)
    notes: list[str] = []
    ids: list[str] = []

    @flow(name="awaited-child")
    async def awaited_child() -> None:
        await asyncio.to_thread(arrived.wait)
        await asyncio.sleep(5)
        notes.append("child-finished")

    @flow(name="async-parent")
    async def async_parent() -> None:
        ids.append(get_run_context().flow_run.id)
        try:
            await awaited_child()
        finally:
            pending = asyncio.current_task().cancelling()  # type: ignore[union-attr]
            await asyncio.sleep(0.01)  # cleanup that awaits
            notes.append(f"cleanup-done, {pending} cancel(s) pending")
        notes.append("parent-finished")

    join = cancel_when(store, ids, arrived)
    started = time.monotonic()
    state = asyncio.run(async_parent(return_state=True))
    join()
    assert state.is_cancelled(), state
    assert time.monotonic() - started < 1.5
    assert notes == ["cleanup-done, 0 cancel(s) pending"]
    (child_run,) = [r for r in store.read_flow_runs() if r.flow_name == "awaited-child"]
    assert child_run.state.name == "Cancelled"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_run_waiting_to_retry_is_woken_and_ends_cancelled(store, kind):
    failed = threading.Event()
    ids: list[str] = []

    def fail() -> None:
        failed.set()
        raise RuntimeError("try again")

    async def fail_async() -> None:
        fail()

    flaky = task(fail if kind == "sync" else fail_async, name="flaky")
    flaky = flaky.with_options(retries=1, retry_delay_seconds=30)

    @flow(name="retry-at-cancel")
    def retry_at_cancel() -> None:
        ids.append(get_run_context().flow_run.id)
        flaky.submit().wait()

    def control() -> None:
        assert failed.wait(WAIT)
        time.sleep(0.05)  # into the wait before the retry (a cancel before it is fine too)
        cancel(store, ids[0])

    join = in_background(control)
    started = time.monotonic()
    state = retry_at_cancel(return_state=True)
    join()
    assert state.is_cancelled(), state
    assert time.monotonic() - started < 1.5  # the run ended itself: no grace period waited out
    run = task_runs_by_name(store, ids[0])["flaky-0"]
    assert run.state.name == "Cancelled"
    assert "cancellation was requested" in run.state.message


WITHDRAWN_THEN_TRACED = """
import sys
from mainspring.engine.stopping.cancellation import withdraw_async_exception

withdraw_async_exception()  # as a run does when its function returned as an interrupt came
sys.setprofile(lambda frame, event, arg: None)  # as a profiler, coverage or a debugger does
(lambda: None)()
sys.setprofile(None)
print("traced code ran")
"""


def test_withdrawing_an_interrupt_leaves_traced_code_running(tmp_path):
    """Withdrawn with PyThreadState_SetAsyncExc(id, NULL), an interrupt left CPython's flag of a
    pending asynchronous exception set, and traced code then looped forever at its next call."""
    done = subprocess.run(
        [sys.executable, "-c", WITHDRAWN_THEN_TRACED],
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.stdout.strip() == "traced code ran", done.stderr
