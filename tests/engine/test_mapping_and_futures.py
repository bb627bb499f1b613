"""Futures, .map(), unmapped(), wait_for=, and the edges of the run graph they record."""

from __future__ import annotations

import pytest

from mainspring import MainspringFuture, as_completed, flow, task, unmapped, wait
from mainspring.model import StateType

from .support import edges_by_name, only_flow_run, task_runs_by_name, timeline


@task
def add(x, y):
    return x + y


@task
def numbers(n):
    return list(range(n))


@task
def fail(message="upstream broke"):
    raise RuntimeError(message)


def test_submit_returns_a_future_with_result_wait_and_state(store):
    @flow
    def pipeline():
        future = add.submit(1, 2)
        assert isinstance(future, MainspringFuture)
        future.wait()
        assert future.done() and future.state.is_completed()
        return future.result(), future.task_run.name

    assert pipeline() == (3, "add-0")


def test_future_passed_as_argument_is_resolved_and_recorded_as_a_data_edge(store):
    @flow
    def pipeline():
        a = add.submit(1, 2)
        b = add.submit(a, 10)
        c = add(b, y=a)  # direct call with futures, positional and keyword
        return c

    assert pipeline() == 16
    run = only_flow_run(store, "pipeline")
    assert edges_by_name(store, run.id) == {
        ("add-1", "add-0", "data"),
        ("add-2", "add-1", "data"),
        ("add-2", "add-0", "data"),
    }


def test_futures_inside_containers_are_resolved(store):
    @task
    def total(values, extra):
        return sum(values) + extra["k"]

    @flow
    def pipeline():
        parts = [add.submit(i, i) for i in range(3)]
        return total(parts, {"k": add.submit(1, 1)})

    assert pipeline() == 0 + 2 + 4 + 2
    run = only_flow_run(store, "pipeline")
    assert len([e for e in store.read_edges(run.id) if e.kind == "data"]) == 4


def test_wait_for_orders_runs_and_records_wait_edges(store):
    order = []

    @task
    def first():
        order.append("first")

    @task
    def second():
        order.append("second")

    @flow
    def pipeline():
        a = first.submit()
        b = second.submit(wait_for=[a])
        b.wait()

    pipeline()
    assert order == ["first", "second"]
    run = only_flow_run(store, "pipeline")
    assert edges_by_name(store, run.id) == {("second-0", "first-0", "wait")}


def test_upstream_failure_fails_the_downstream_without_running_it(store):
    ran = []

    @task
    def downstream(x):
        ran.append(x)

    @flow
    def pipeline():
        bad = fail.submit()
        via_data = downstream.submit(bad)
        via_wait = downstream.submit(1, wait_for=[bad])
        via_data.wait()
        via_wait.wait()
        return via_data.state, via_wait.state

    state = pipeline(return_state=True)
    assert state.is_failed() and state.message == "2/2 states failed."
    assert ran == []
    run = only_flow_run(store, "pipeline")
    tasks = task_runs_by_name(store, run.id)
    for name in ("downstream-0", "downstream-1"):
        assert tasks[name].state.is_failed()
        assert (
            "Upstream task run 'fail-0' did not reach a COMPLETED state"
            in tasks[name].state.message
        )
        assert timeline(store, tasks[name].id) == ["Pending", "Failed"]
        assert tasks[name].run_count == 0
    assert edges_by_name(store, run.id) == {
        ("downstream-0", "fail-0", "data"),
        ("downstream-1", "fail-0", "wait"),
    }


def test_map_submits_one_run_per_element_in_order(store):
    @flow
    def pipeline():
        futures = add.map([1, 2, 3], [10, 20, 30])
        return futures.result()

    assert pipeline() == [11, 22, 33]
    run = only_flow_run(store, "pipeline")
    assert sorted(task_runs_by_name(store, run.id)) == ["add-0", "add-1", "add-2"]


def test_map_with_unmapped_and_keywords(store):
    @task
    def scale(x, factor, labels):
        return x * factor, labels

    @flow
    def pipeline():
        return scale.map([1, 2], factor=unmapped(10), labels=unmapped(["a", "b"])).result()

    assert pipeline() == [(10, ["a", "b"]), (20, ["a", "b"])]


def test_strings_and_dicts_are_passed_whole():
    @task
    def pair(x, text, options):
        return x, text, options

    @flow
    def pipeline():
        return pair.map([1, 2], "abc", {"k": 1}).result()

    assert pipeline() == [(1, "abc", {"k": 1}), (2, "abc", {"k": 1})]


def test_map_over_iterables_of_different_lengths_is_an_error():
    @flow
    def pipeline():
        add.map([1, 2, 3], [1, 2])

    with pytest.raises(
        ValueError, match=r"Task 'add'.map\(\) got iterables of different lengths: x=3, y=2"
    ):
        pipeline()


def test_map_with_nothing_to_iterate_is_an_error():
    @flow
    def pipeline():
        add.map(1, 2)

    with pytest.raises(TypeError, match="no iterable argument"):
        pipeline()


def test_map_over_a_futures_result(store):
    @flow
    def pipeline():
        listed = numbers.submit(4)
        return add.map(listed, unmapped(100)).result()

    assert pipeline() == [100, 101, 102, 103]


def test_map_over_futures_chains_element_by_element(store):
    @flow
    def pipeline():
        first = add.map([1, 2], [1, 1])
        second = add.map(first, unmapped(10))
        return second.result()

    assert pipeline() == [12, 13]
    run = only_flow_run(store, "pipeline")
    assert edges_by_name(store, run.id) == {("add-2", "add-0", "data"), ("add-3", "add-1", "data")}


def test_map_with_wait_for(store):
    @flow
    def pipeline():
        gate = add.submit(0, 0)
        return add.map([1, 2], unmapped(1), wait_for=[gate]).result()

    assert pipeline() == [2, 3]
    run = only_flow_run(store, "pipeline")
    assert {(d, u, k) for d, u, k in edges_by_name(store, run.id)} == {
        ("add-1", "add-0", "wait"),
        ("add-2", "add-0", "wait"),
    }


def test_future_list_helpers_and_wait_and_as_completed():
    @flow
    def pipeline():
        futures = add.map([1, 2, 3], unmapped(1))
        done, not_done = wait(futures, timeout=30)
        assert len(done) == 3 and not not_done
        finished = {f.result() for f in as_completed(futures, timeout=30)}
        futures.wait()
        return finished

    assert pipeline() == {2, 3, 4}


def test_failed_future_result_raises_and_state_is_failed():
    @flow
    def pipeline():
        future = fail.submit("boom")
        with pytest.raises(RuntimeError, match="boom"):
            future.result()
        return future.state.type

    assert pipeline() is StateType.FAILED


def test_task_return_state_true_gives_a_state_for_submit_too():
    @flow
    def pipeline():
        state = add(1, 1, return_state=True)
        return state.result(), state.name

    assert pipeline() == (2, "Completed")


def test_a_failed_state_passed_as_argument_fails_the_task_without_running_it(store):
    from mainspring import Failed

    ran = []

    @task
    def downstream(x):
        ran.append(x)

    @flow
    def pipeline():
        return downstream(Failed(message="given"), return_state=True).message

    message = pipeline()
    assert ran == []
    assert message == "A state input did not reach a COMPLETED state (Failed(message='given'))"
