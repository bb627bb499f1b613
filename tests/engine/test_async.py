"""Async flows and tasks: awaited, gathered, mixed with sync code, submitted."""

from __future__ import annotations

import asyncio
import time

import pytest

from mainspring import flow, task

from .support import only_flow_run, task_runs_by_name, timeline


def test_async_tasks_gathered_run_concurrently_on_one_loop(store):
    arrived: list[int] = []

    @task
    async def meet(i, all_here):
        arrived.append(i)
        if len(arrived) == 3:
            all_here.set()
        await asyncio.wait_for(all_here.wait(), timeout=30)  # only all three together pass
        return i

    @flow
    async def pipeline():
        all_here = asyncio.Event()
        return await asyncio.gather(*(meet(i, all_here) for i in range(3)))

    assert asyncio.run(pipeline()) == [0, 1, 2]
    run = only_flow_run(store, "pipeline")
    assert len(store.read_task_runs(run.id)) == 3
    for task_run in store.read_task_runs(run.id):
        assert timeline(store, task_run.id) == ["Pending", "Running", "Completed"]


def test_async_task_exception_fails_the_async_flow(store):
    @task
    async def bad():
        raise ValueError("async failure")

    @flow
    async def pipeline():
        await bad()

    with pytest.raises(ValueError, match="async failure"):
        asyncio.run(pipeline())
    run = only_flow_run(store, "pipeline")
    assert run.state.is_failed()
    assert task_runs_by_name(store, run.id)["bad-0"].state.is_failed()


def test_sync_task_in_an_async_flow(store):
    @task
    def sync_step(x):
        return x * 2

    @flow
    async def pipeline():
        return sync_step(2) + sync_step.submit(3).result()

    assert asyncio.run(pipeline()) == 10


def test_async_task_submitted_from_a_sync_flow(store):
    @task
    async def later(x):
        await asyncio.sleep(0.01)
        return x

    @flow
    def pipeline():
        return [f.result() for f in later.map([1, 2, 3])]

    assert pipeline() == [1, 2, 3]


def test_async_task_receives_a_future_from_a_sync_task(store):
    @task
    def produce():
        time.sleep(0.05)
        return 5

    @task
    async def consume(x):
        return x + 1

    @flow
    async def pipeline():
        return await consume(produce.submit())

    assert asyncio.run(pipeline()) == 6
    run = only_flow_run(store, "pipeline")
    assert len(store.read_edges(run.id)) == 1


def test_async_task_retries(store):
    attempts = []

    @task(retries=2)
    async def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("blip")
        return "ok"

    @flow
    async def pipeline():
        return await flaky()

    assert asyncio.run(pipeline()) == "ok"
    task_run = task_runs_by_name(store, only_flow_run(store, "pipeline").id)["flaky-0"]
    assert task_run.run_count == 3
    assert timeline(store, task_run.id).count("Retrying") == 2


def test_async_flow_retries(store):
    attempts = []

    @flow(retries=1)
    async def pipeline():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first")
        return len(attempts)

    assert asyncio.run(pipeline()) == 2
    assert only_flow_run(store, "pipeline").run_count == 2


def test_standalone_async_task_is_awaited(store):
    @task
    async def lone(x):
        return x * 2

    assert asyncio.run(lone(4)) == 8
