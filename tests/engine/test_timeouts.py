"""timeout_seconds: a run that runs too long ends TimedOut; its own TimeoutError is a failure.

The timed functions loop over short sleeps: a timeout raised into a worker thread lands at the
thread's next bytecode, so one long `time.sleep` would finish first (see
engine/stopping/timeouts.py). Every deadline is generous compared with the timeout, for loaded
machines.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from mainspring import ThreadPoolTaskRunner, flow, task
from mainspring.exceptions import MainspringTimeoutError
from mainspring.model import StateType

from .support import only_flow_run, task_runs_by_name, timeline

# pytest-timeout's own SIGALRM is already set around each test here: the engine's alarms
# nest inside it (and inside each other), as they would inside any alarm a program sets


def busy_for(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.02)


def test_sync_task_in_the_main_thread_times_out(store):
    @task(timeout_seconds=0.3)
    def slow():
        time.sleep(30)  # the main thread's alarm interrupts even a long sleep

    @flow
    def pipeline():
        return slow(return_state=True)

    started = time.monotonic()
    state = pipeline(return_state=True)
    assert time.monotonic() - started < 15
    assert state.name == "TimedOut" and state.type is StateType.FAILED
    assert "Task run 'slow-0' exceeded timeout of 0.3 second(s)" in state.message
    task_run = task_runs_by_name(store, only_flow_run(store, "pipeline").id)["slow-0"]
    assert task_run.state.name == "TimedOut"
    assert timeline(store, task_run.id) == ["Pending", "Running", "TimedOut"]


def test_task_timeout_inside_a_flow_timeout_in_the_main_thread(store):
    @task(timeout_seconds=0.3)
    def slow():
        time.sleep(30)

    @flow(timeout_seconds=60)
    def pipeline():
        inner = slow(return_state=True).name
        time.sleep(0.1)  # the flow's own alarm is re-armed after the task's, and still waits
        return inner

    started = time.monotonic()
    assert pipeline() == "TimedOut"
    assert time.monotonic() - started < 15
    assert only_flow_run(store, "pipeline").state.is_completed()


def test_flow_timeout_still_fires_after_a_task_with_its_own_timeout(store):
    @task(timeout_seconds=20)
    def quick():
        return 1

    @flow(timeout_seconds=0.5)
    def pipeline():
        quick()
        time.sleep(30)

    started = time.monotonic()
    assert pipeline(return_state=True).name == "TimedOut"
    assert time.monotonic() - started < 15


def test_sync_task_in_a_task_runner_thread_times_out(store):
    ran_in: list[str] = []

    @task(timeout_seconds=0.3)
    def slow():
        ran_in.append(threading.current_thread().name)
        busy_for(30)

    @flow
    def pipeline():
        future = slow.submit()
        future.wait(timeout=60)
        with pytest.raises(MainspringTimeoutError, match=r"exceeded timeout of 0\.3"):
            future.result()
        return future.state.name

    started = time.monotonic()
    assert pipeline() == "TimedOut"
    assert time.monotonic() - started < 15
    assert ran_in[0] != threading.main_thread().name


def test_async_task_times_out(store):
    @task(timeout_seconds=0.3)
    async def slow():
        await asyncio.sleep(30)

    @flow
    async def pipeline():
        return (await slow(return_state=True)).name

    assert asyncio.run(pipeline()) == "TimedOut"
    task_run = task_runs_by_name(store, only_flow_run(store, "pipeline").id)["slow-0"]
    assert task_run.state.name == "TimedOut"


def test_sync_flow_times_out(store):
    @flow(timeout_seconds=0.3)
    def slow_flow():
        time.sleep(30)

    started = time.monotonic()
    state = slow_flow(return_state=True)
    assert time.monotonic() - started < 15
    assert state.name == "TimedOut"
    run = only_flow_run(store, "slow_flow".replace("_", "-"))
    assert run.state.name == "TimedOut"
    assert "exceeded timeout of 0.3 second(s)" in run.state.message
    with pytest.raises(MainspringTimeoutError):
        state.result()


def test_async_flow_times_out(store):
    @flow(timeout_seconds=0.3)
    async def slow_flow():
        await asyncio.sleep(30)

    state = asyncio.run(slow_flow(return_state=True))
    assert state.name == "TimedOut"
    assert only_flow_run(store, "slow-flow").state.name == "TimedOut"


def test_flow_in_a_worker_thread_times_out(store):
    """A flow started from a non-main thread uses the injected exception, not SIGALRM."""

    @flow(timeout_seconds=0.3)
    def slow_flow():
        busy_for(30)

    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(s=slow_flow(return_state=True)))
    thread.start()
    thread.join(timeout=30)
    assert outcome["s"].name == "TimedOut"


def test_fast_run_within_its_timeout_completes():
    @task(timeout_seconds=30)
    def quick():
        return 1

    @flow(timeout_seconds=30)
    def pipeline():
        return quick() + quick.submit().result()

    assert pipeline() == 2


def test_a_functions_own_timeout_error_is_failed_not_timed_out(store):
    @task(timeout_seconds=30)
    def own():
        raise TimeoutError("the API timed out")

    @flow
    def pipeline():
        return own()

    with pytest.raises(TimeoutError, match="the API timed out"):
        pipeline()
    run = only_flow_run(store, "pipeline")
    assert run.state.name == "Failed"
    assert task_runs_by_name(store, run.id)["own-0"].state.name == "Failed"


def test_async_functions_own_timeout_error_is_failed(store):
    @task(timeout_seconds=30)
    async def own():
        raise TimeoutError("mine")

    @flow
    async def pipeline():
        return (await own(return_state=True)).name

    assert asyncio.run(pipeline()) == "Failed"


def test_flow_whose_task_timed_out_fails_rather_than_times_out(store):
    """The task timed out; the flow only saw an exception come out of a call."""

    @task(timeout_seconds=0.2)
    def slow():
        busy_for(30)

    @flow
    def pipeline():
        slow()

    state = pipeline(return_state=True)
    assert state.name == "Failed", state
    run = only_flow_run(store, "pipeline")
    assert run.state.name == "Failed"
    assert task_runs_by_name(store, run.id)["slow-0"].state.name == "TimedOut"


def test_timed_out_task_can_retry(store):
    attempts = []

    @task(timeout_seconds=0.2, retries=1)
    def slow_once():
        attempts.append(1)
        if len(attempts) == 1:
            busy_for(30)
        return "second time lucky"

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=1))
    def pipeline():
        return slow_once.submit().result()

    assert pipeline() == "second time lucky"
    task_run = task_runs_by_name(store, only_flow_run(store, "pipeline").id)["slow_once-0"]
    assert timeline(store, task_run.id) == [
        "Pending",
        "Running",
        "AwaitingRetry",
        "Retrying",
        "Completed",
    ]


def test_flow_timing_out_while_waiting_on_futures_ends_timed_out_and_starts_no_more_tasks(store):
    started = []
    release = threading.Event()

    @task
    def slow(i):
        started.append(i)
        release.wait(30)  # holds the single worker until the flow has timed out
        return i

    @flow(timeout_seconds=0.5, task_runner=ThreadPoolTaskRunner(max_workers=1))
    def pipeline():
        futures = slow.map(range(4))
        threading.Timer(2, release.set).start()  # the flow's deadline passes first
        return futures.result()

    state = pipeline(return_state=True)
    assert state.name == "TimedOut", state
    assert started == [0]
    run = only_flow_run(store, "pipeline")
    assert run.state.name == "TimedOut"
    tasks = task_runs_by_name(store, run.id)
    assert tasks["slow-0"].state.is_completed()  # the running one was waited for
    for name in ("slow-1", "slow-2", "slow-3"):
        assert tasks[name].state.is_cancelled(), tasks[name].state
        assert tasks[name].state.message == "Its flow run ended before this task run started"
        assert timeline(store, tasks[name].id) == ["Pending", "Cancelled"]


def test_waiting_on_one_future_is_interrupted_by_the_flows_timeout(store):
    release = threading.Event()

    @task
    def slow():
        release.wait(30)

    @flow(timeout_seconds=0.5)
    def pipeline():
        future = slow.submit()
        threading.Timer(2, release.set).start()
        future.wait()  # a bare wait, too, gives way to the flow's deadline
        return "went on past the deadline"

    assert pipeline(return_state=True).name == "TimedOut"


def test_a_flows_timeout_landing_in_a_task_is_not_retried_by_the_task(store):
    """The flow is out of time: the task it interrupted fails without its retries (they would
    only run past the flow's deadline), and the flow ends TimedOut at once."""
    attempts = []

    @task(retries=3, retry_delay_seconds=0)
    def slow():
        attempts.append(1)
        time.sleep(30)  # the flow's alarm interrupts it, in the main thread

    @flow(timeout_seconds=0.3)
    def pipeline():
        slow()

    started = time.monotonic()
    state = pipeline(return_state=True)
    assert time.monotonic() - started < 10
    assert state.name == "TimedOut"
    assert attempts == [1]
    task_run = task_runs_by_name(store, only_flow_run(store, "pipeline").id)["slow-0"]
    assert task_run.state.name == "Failed"
    assert timeline(store, task_run.id) == ["Pending", "Running", "Failed"]


@pytest.mark.parametrize("thread", ["main", "worker"])
def test_a_flows_timeout_ends_a_tasks_wait_to_retry(store, thread):
    """A flow running out of time while its task waits to retry does not wait out the delay:
    the wait ends, the next attempt meets the timeout as it starts (the task fails, with no
    retry after it) and the flow ends TimedOut. In the main thread the alarm's handler ends the
    wait; in another, the timer thread does."""
    attempts = []

    @task(retries=3, retry_delay_seconds=60)
    def flaky():
        attempts.append(1)
        raise ValueError("not yet")

    @flow(timeout_seconds=0.5)
    def pipeline():
        flaky()

    outcome = {}
    started = time.monotonic()
    if thread == "main":
        outcome["s"] = pipeline(return_state=True)
    else:
        runner = threading.Thread(target=lambda: outcome.update(s=pipeline(return_state=True)))
        runner.start()
        runner.join(timeout=60)
    assert time.monotonic() - started < 20  # not the 60 s retry delay
    assert outcome["s"].name == "TimedOut"
    assert attempts == [1]  # the attempt the timeout met ends before the function runs
    task_run = task_runs_by_name(store, only_flow_run(store, "pipeline").id)["flaky-0"]
    assert task_run.state.name == "Failed"
