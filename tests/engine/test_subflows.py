"""Subflows: a flow called inside a flow is a child run of it."""

from __future__ import annotations

import asyncio

import pytest

from mainspring import flow, get_run_context, task
from mainspring.model import FlowRunFilter, StateType

from .support import log_messages, only_flow_run


@flow
def child(n: int):
    return n * 10


def test_subflow_is_a_child_run_of_the_parent(store, capfd):
    @flow
    def parent():
        return child("2") + 1  # the child validates its own parameters

    assert parent() == 21
    parent_run = only_flow_run(store, "parent")
    child_run = only_flow_run(store, "child")
    assert child_run.parent_flow_run_id == parent_run.id
    assert child_run.parameters == {"n": 2}
    assert child_run.state.is_completed() and parent_run.state.is_completed()
    children = store.read_flow_runs(FlowRunFilter(parent_flow_run_id=parent_run.id))
    assert [r.id for r in children] == [child_run.id]
    created = f"Created subflow run {child_run.name!r} for flow 'child'"
    assert created in log_messages(store, parent_run.id)
    assert f"Flow run '{parent_run.name}' - {created}" in capfd.readouterr().err
    # the child's own lines are stored with the child, not the parent
    assert log_messages(store, child_run.id)[-1] == "Finished in state Completed()"


def test_subflow_called_in_a_task_records_its_parent_task_run(store):
    @task
    def launcher():
        return child(1), get_run_context().task_run.id

    @flow
    def parent():
        return launcher()

    value, task_run_id = parent()
    assert value == 10
    assert only_flow_run(store, "child").parent_task_run_id == task_run_id


def test_tasks_of_a_subflow_belong_to_the_subflow(store):
    @task
    def step():
        return 1

    @flow
    def inner():
        return step()

    @flow
    def outer():
        return step() + inner()

    assert outer() == 2
    outer_run, inner_run = only_flow_run(store, "outer"), only_flow_run(store, "inner")
    assert [t.name for t in store.read_task_runs(outer_run.id)] == ["step-0"]
    assert [t.name for t in store.read_task_runs(inner_run.id)] == ["step-0"]


def test_failing_subflow_fails_the_parent_when_unhandled(store):
    @flow
    def broken_child():
        raise KeyError("missing")

    @flow
    def parent():
        return broken_child()

    with pytest.raises(KeyError, match="missing"):
        parent()
    assert only_flow_run(store, "broken-child").state.type is StateType.FAILED
    parent_run = only_flow_run(store, "parent")
    assert parent_run.state.type is StateType.FAILED
    assert "KeyError" in parent_run.state.message


def test_failing_subflow_handled_by_the_parent(store):
    @flow
    def broken_child():
        raise KeyError("missing")

    @flow
    def parent():
        state = broken_child(return_state=True)
        return "handled " + state.name

    assert parent() == "handled Failed"
    assert only_flow_run(store, "parent").state.is_completed()


def test_async_subflow_awaited_in_an_async_parent(store):
    @flow
    async def async_child(x):
        await asyncio.sleep(0)
        return x + 1

    @flow
    async def parent():
        return await async_child(1)

    assert asyncio.run(parent()) == 2
    assert (
        only_flow_run(store, "async-child").parent_flow_run_id == only_flow_run(store, "parent").id
    )


def test_async_subflow_called_from_a_sync_parent_runs_to_completion(store):
    @flow
    async def async_child(x):
        return x + 1

    @flow
    def parent():
        return async_child(1)

    assert parent() == 2


def test_log_prints_is_inherited_by_subflows(store, capfd):
    @flow
    def quiet_child():
        print("from the child")

    @flow(log_prints=True)
    def parent():
        quiet_child()

    parent()
    assert "from the child" in log_messages(store, only_flow_run(store, "quiet-child").id)
