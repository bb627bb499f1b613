"""Final-state rules: exceptions, returned states and futures, cancellation, results."""

from __future__ import annotations

import pytest

from mainspring import (
    CancelledRun,
    Completed,
    Failed,
    FailedRun,
    State,
    flow,
    task,
)
from mainspring.model import StateType

from .support import log_messages, only_flow_run, task_runs_by_name, timeline


def test_unhandled_task_exception_fails_the_flow_and_reraises(store):
    @task
    def boom():
        raise ValueError("bad input")

    @flow
    def pipeline():
        boom()
        return "unreachable"

    with pytest.raises(ValueError, match="bad input"):
        pipeline()
    run = only_flow_run(store, "pipeline")
    assert run.state.type is StateType.FAILED
    assert run.state.message == "Flow run encountered an exception ValueError: bad input"
    task_run = task_runs_by_name(store, run.id)["boom-0"]
    assert task_run.state.message == "Task run encountered an exception ValueError: bad input"
    assert timeline(store, task_run.id) == ["Pending", "Running", "Failed"]
    errors = [m for m in log_messages(store, run.id, task_run.id) if "failed with" in m]
    assert errors and "ValueError('bad input')" in errors[0] and "Traceback" in errors[0]


def test_failed_flow_state_carries_the_exception():
    @flow
    def broken():
        raise KeyError("k")

    state = broken(return_state=True)
    assert state.is_failed()
    error = state.result(raise_on_failure=False)
    assert isinstance(error, KeyError)
    with pytest.raises(KeyError):
        state.result()


def test_flow_returning_completed_state_is_completed(store):
    @flow
    def decides():
        return Completed(message="all good", data=7)

    state = decides(return_state=True)
    assert state.is_completed() and state.message == "all good" and state.result() == 7
    assert only_flow_run(store, "decides").state.message == "all good"


def test_flow_returning_failed_state_is_failed_without_raising_inside(store):
    @flow
    def decides():
        return Failed(message="not today")

    with pytest.raises(FailedRun, match="not today"):
        decides()
    run = only_flow_run(store, "decides")
    assert run.state.type is StateType.FAILED and run.state.message == "not today"


def test_flow_returning_a_list_of_states_fails_when_any_failed(store):
    @task
    def ok():
        return 1

    @task
    def bad():
        raise RuntimeError("x")

    @flow
    def fan():
        return [ok(return_state=True), bad(return_state=True)]

    state = fan(return_state=True)
    assert state.is_failed() and state.message == "1/2 states failed."
    assert only_flow_run(store, "fan").state.message == "1/2 states failed."


def test_flow_returning_all_completed_states_gives_their_results():
    @flow
    def fan():
        return [Completed(data=1), Completed(data=2)]

    assert fan() == [1, 2]


def test_flow_returning_a_future_takes_its_state():
    @task
    def bad():
        raise RuntimeError("from the future")

    @task
    def good():
        return "value"

    @flow
    def returns_bad():
        return bad.submit()

    @flow
    def returns_good():
        return good.submit()

    assert returns_good() == "value"
    state = returns_bad(return_state=True)
    assert state.is_failed()
    with pytest.raises(RuntimeError, match="from the future"):
        state.result()


def test_futures_inside_a_returned_value_are_resolved():
    @task
    def square(x):
        return x * x

    @flow
    def squares():
        return {"a": square.submit(2), "b": [square.submit(3)]}

    assert squares() == {"a": 4, "b": [9]}


def test_cancelled_run_raised_in_a_flow_ends_it_cancelled(store):
    @flow
    def stops():
        raise CancelledRun("operator said stop")

    state = stops(return_state=True)
    assert state.type is StateType.CANCELLED
    assert state.message == "Flow run was cancelled: operator said stop"
    with pytest.raises(CancelledRun):
        state.result()
    run = only_flow_run(store, "stops")
    assert run.state.type is StateType.CANCELLED
    assert timeline(store, run.id) == ["Pending", "Running", "Cancelled"]


def test_cancelled_run_raised_in_a_task_cancels_the_task(store):
    @task
    def stops():
        raise CancelledRun("no")

    @flow
    def wrapper():
        return stops(return_state=True)

    state = wrapper(return_state=True)
    assert state.type is StateType.CANCELLED
    (task_run,) = store.read_task_runs(only_flow_run(store, "wrapper").id)
    assert task_run.state.type is StateType.CANCELLED


def test_task_return_state_does_not_raise():
    @task
    def bad():
        raise ValueError("v")

    @flow
    def handles():
        state = bad(return_state=True)
        assert isinstance(state, State) and state.is_failed()
        return "handled"

    assert handles() == "handled"


def test_result_raise_on_failure_false_returns_the_exception():
    @task
    def bad():
        raise ValueError("v")

    @flow
    def handles():
        future = bad.submit()
        return future.result(raise_on_failure=False)

    error = handles()
    assert isinstance(error, ValueError) and str(error) == "v"


def test_exception_caught_in_the_flow_leaves_it_completed(store):
    @task
    def bad():
        raise ValueError("v")

    @flow
    def forgiving():
        try:
            bad()
        except ValueError:
            return "recovered"

    assert forgiving() == "recovered"
    run = only_flow_run(store, "forgiving")
    assert run.state.is_completed()
    assert task_runs_by_name(store, run.id)["bad-0"].state.is_failed()
