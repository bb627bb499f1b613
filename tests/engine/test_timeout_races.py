"""A timeout that passes while a run is in the engine's code around a function, not in it.

A task's or flow's `timeout_seconds` interrupts its thread (engine/stopping/timeouts.py). The
RunTimeout must land only in a user's function: a task whose function returned just as its deadline
passed ends Completed, its hooks run to the end and its result written; a flow whose deadline
passed while a task it called was in its hooks times out once that call returns to it. A
function still running when its deadline passes times out as it always did.

Each test holds a thread at a chosen point until the deadline has passed: in a hook, in the
pickling of a result, or (for a task's own timeout, whose deadline ends with its function) at
the first return of an engine function right after the function returned, with a profile
hook the function installs as its last act. Holds are long compared with the timeouts, so the
deadline has passed, whichever thread delivers it, before the hold ends.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from mainspring import flow, get_run_context, task
from mainspring.exceptions import MissingResult
from mainspring.model import State
from mainspring.settings import get_settings
from mainspring.store import Store
from mainspring.store.results.storage import ResultRef

from .support import log_messages, only_flow_run, task_runs_by_name, timeline

TIMEOUT = 0.2  # seconds: every timeout here
HOLD = 1.0  # seconds a thread is held at the chosen point: the timeout passes meanwhile
WAIT = 30  # seconds any wait may take: only reached when the test fails
HOOK_ERROR = "An error was encountered while running hook"


def hold(seconds: float = HOLD) -> None:
    """Python code between short sleeps (an interrupt lands here): the deadline passes."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)


def hold_after_return(held: list[float]) -> None:
    """Called last in a function: once it has returned, hold its thread at the next return of
    one of the engine's Python functions (its code right after the call) for HOLD, noting in
    `held` how long after the function returned the hold ended."""
    caller = sys._getframe(1)
    returned: list[float] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event != "return":
            return
        if frame is caller:
            returned.append(time.monotonic())
        elif returned and frame.f_globals.get("__name__", "").startswith("mainspring."):
            sys.setprofile(None)
            hold()
            held.append(time.monotonic() - returned[0])

    sys.setprofile(profile)


def results_root() -> str:
    return str(get_settings().home / "results")


def persisted(flow_run_id: str, task_run_name: str) -> Any:
    return ResultRef(results_root(), f"flow-runs/{flow_run_id}/tasks/{task_run_name}").load_result()


def hook_errors(store: Store, flow_run_id: str) -> list[str]:
    return [m for m in log_messages(store, flow_run_id) if HOOK_ERROR in m]


def call_as(kind: str, fn: Any) -> Any:
    """Call task `fn` from a flow: "inline" (the flow's thread; the main thread here, so its
    timeout is a SIGALRM) or "submitted" (a task runner thread: an injected exception)."""
    return fn() if kind == "inline" else fn.submit().result()


def run_in(where: str, call: Callable[[], State]) -> State:
    """Run a flow in the main thread (its timeout a SIGALRM) or in a thread of its own (an
    injected exception)."""
    if where == "main thread":
        return call()
    outcome: list[State] = []
    thread = threading.Thread(target=lambda: outcome.append(call()))
    thread.start()
    thread.join(WAIT)
    assert outcome, "the flow's thread did not finish"
    return outcome[0]


# -- a task's own timeout ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["inline", "submitted"])
def test_a_task_that_returned_as_its_timeout_passed_completes_with_hook_and_result(store, kind):
    notes: list[str] = []
    held: list[float] = []
    ids: list[str] = []
    threads: list[threading.Thread] = []

    def done(task: Any, run: Any, state: Any) -> None:
        hold(0.05)
        notes.append("hook-done")

    @task(timeout_seconds=TIMEOUT, persist_result=True, on_completion=[done])
    def quick() -> int:
        threads.append(threading.current_thread())
        hold_after_return(held)
        return 7

    @flow(name="returned-at-timeout")
    def returned_at_timeout() -> int:
        ids.append(get_run_context().flow_run.id)
        return call_as(kind, quick)

    state = returned_at_timeout(return_state=True)
    assert (threads[0] is threading.main_thread()) == (kind == "inline")
    run = task_runs_by_name(store, ids[0])["quick-0"]
    assert timeline(store, run.id) == ["Pending", "Running", "Completed"]
    assert state.is_completed(), state
    assert held and held[0] > TIMEOUT  # held in the engine until after the deadline
    assert notes == ["hook-done"]
    assert hook_errors(store, ids[0]) == []
    assert persisted(ids[0], "quick-0") == 7
    assert state.result() == 7


@pytest.mark.parametrize("kind", ["inline", "submitted"])
def test_a_task_still_running_at_its_timeout_times_out_as_before(store, kind):
    notes: list[str] = []
    ids: list[str] = []

    def done(task: Any, run: Any, state: Any) -> None:
        notes.append(f"hook:{state.name}")

    @task(timeout_seconds=TIMEOUT, persist_result=True, on_completion=[done], on_failure=[done])
    def slow() -> int:
        hold()
        notes.append("slow-finished")
        return 7

    @flow(name="running-at-timeout")
    def running_at_timeout() -> None:
        ids.append(get_run_context().flow_run.id)
        call_as(kind, slow)

    state = running_at_timeout(return_state=True)
    assert state.name == "Failed", state  # the task timed out; the flow saw it fail
    run = task_runs_by_name(store, ids[0])["slow-0"]
    assert timeline(store, run.id) == ["Pending", "Running", "TimedOut"]
    assert "exceeded timeout of 0.2 second(s)" in run.state.message
    assert notes == ["hook:TimedOut"]
    with pytest.raises(MissingResult):
        persisted(ids[0], "slow-0")


# -- a flow's timeout while a task it called is in the engine's code ---------------------------
class Held:
    """A result whose pickling (when the engine persists it) takes HOLD."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __reduce__(self) -> tuple:
        hold()
        return (Held, (self.value,))


@pytest.mark.parametrize("where", ["main thread", "own thread"])
@pytest.mark.parametrize("held_in", ["hook", "result"])
def test_a_flow_timing_out_while_its_task_is_past_its_function_times_out_after_the_call(
    store, where, held_in
):
    notes: list[str] = []
    ids: list[str] = []

    def done(task: Any, run: Any, state: Any) -> None:
        if held_in == "hook":
            hold()
        notes.append("hook-done")

    @task(persist_result=held_in == "result", on_completion=[done])
    def quick() -> Held:
        return Held(7)  # pickled only when persisted: held then

    @flow(name="flow-timeout-after-task", timeout_seconds=TIMEOUT)
    def flow_timeout_after_task() -> None:
        ids.append(get_run_context().flow_run.id)
        quick()
        notes.append("after-the-call")  # the flow's deadline has passed: it stops before this

    state = run_in(where, lambda: flow_timeout_after_task(return_state=True))
    assert state.name == "TimedOut", state
    assert "exceeded timeout of 0.2 second(s)" in state.message
    assert notes == ["hook-done"]
    assert hook_errors(store, ids[0]) == []
    assert task_runs_by_name(store, ids[0])["quick-0"].state.name == "Completed"
    if held_in == "result":
        assert persisted(ids[0], "quick-0").value == 7


@pytest.mark.parametrize("where", ["main thread", "own thread"])
def test_a_flow_timeout_passing_in_a_called_tasks_hook_outlives_the_tasks_own_error(store, where):
    """The task failed; its error comes out of the call after the flow's deadline passed: the
    flow's timeout comes out instead, so code that catches the task's error still stops."""
    notes: list[str] = []

    def held(task: Any, run: Any, state: Any) -> None:
        hold()
        notes.append("hook-done")

    @task(on_failure=[held])
    def failing() -> None:
        raise ValueError("the task's own error")

    @flow(name="flow-timeout-after-failure", timeout_seconds=TIMEOUT)
    def flow_timeout_after_failure() -> None:
        try:
            failing()
        except ValueError:
            notes.append("caught")

    state = run_in(where, lambda: flow_timeout_after_failure(return_state=True))
    assert state.name == "TimedOut", state
    assert notes == ["hook-done"]
    run = only_flow_run(store, "flow-timeout-after-failure")
    assert task_runs_by_name(store, run.id)["failing-0"].state.name == "Failed"
    assert hook_errors(store, run.id) == []


def test_a_flow_timeout_passing_before_a_called_task_starts_lands_as_its_function_starts(store):
    """The task waited for an upstream run (engine code) past the flow's deadline: its function
    is called and gets the flow's timeout at once, so the task fails, and the flow times out."""
    notes: list[str] = []

    @task
    def upstream() -> int:
        hold()
        return 1

    @task
    def downstream(x: int) -> int:
        notes.append("downstream-ran")
        return x

    @flow(name="flow-timeout-before-task", timeout_seconds=TIMEOUT)
    def flow_timeout_before_task() -> None:
        downstream(upstream.submit())
        notes.append("after-the-call")

    state = flow_timeout_before_task(return_state=True)
    assert state.name == "TimedOut", state
    assert notes == []
    tasks = task_runs_by_name(store, only_flow_run(store, "flow-timeout-before-task").id)
    assert tasks["upstream-0"].state.name == "Completed"
    assert tasks["downstream-0"].state.name == "Failed"
    run = only_flow_run(store, "flow-timeout-before-task")
    assert f"Flow run {run.name!r} exceeded timeout" in tasks["downstream-0"].state.message


@pytest.mark.parametrize("where", ["main thread", "own thread"])
def test_a_flow_timeout_still_lands_in_a_called_tasks_running_function(store, where):
    """As before: the task fails (it did not time out itself), the flow times out."""
    notes: list[str] = []

    @task
    def slow() -> None:
        hold()
        notes.append("slow-finished")

    @flow(name="flow-timeout-in-task", timeout_seconds=TIMEOUT)
    def flow_timeout_in_task() -> None:
        slow()
        notes.append("after-the-call")

    state = run_in(where, lambda: flow_timeout_in_task(return_state=True))
    assert state.name == "TimedOut", state
    assert notes == []
    run = only_flow_run(store, "flow-timeout-in-task")
    slow_run = task_runs_by_name(store, run.id)["slow-0"]
    assert slow_run.state.name == "Failed"
    assert f"Flow run {run.name!r} exceeded timeout" in slow_run.state.message
