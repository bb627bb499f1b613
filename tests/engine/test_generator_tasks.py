"""A generator task's body runs inside its task run, as the caller iterates (as in Prefect 3):
its retries and its final state cover the body, not the creation of a generator object."""

from __future__ import annotations

import asyncio

import pytest

from mainspring import flow, get_run_logger, task
from mainspring.model import StateType

from .support import log_messages, only_flow_run, task_runs_by_name, timeline

RETRIED = ["Pending", "Running", "AwaitingRetry", "Retrying", "Completed"]


def test_a_generator_task_that_fails_first_is_retried(store):
    attempts = []

    @task(retries=1, retry_delay_seconds=0)
    def numbers(n: int):
        attempts.append(n)
        get_run_logger().info("attempt %d", len(attempts))
        if len(attempts) == 1:
            raise ValueError("first attempt fails")
        yield from range(n)
        return "done"

    @flow(name="generator-retry")
    def generator_retry() -> tuple:
        values, doubled = numbers(3), []
        while True:
            try:
                doubled.append(2 * next(values))
            except StopIteration as stop:  # the body's return value, as a generator's
                return doubled, stop.value

    assert generator_retry() == ([0, 2, 4], "done")
    assert attempts == [3, 3]
    run = only_flow_run(store, "generator-retry")
    task_run = task_runs_by_name(store, run.id)["numbers-0"]
    assert task_run.state.type is StateType.COMPLETED
    assert task_run.run_count == 2
    assert timeline(store, task_run.id) == RETRIED
    logs = log_messages(store, run.id, task_run.id)
    assert "attempt 1" in logs and "attempt 2" in logs  # the body logs to its own run


def test_the_run_is_running_while_the_caller_iterates_and_fails_with_the_body(store):
    seen = []

    @task
    def rows():
        yield 1
        raise RuntimeError("broken row")

    @flow(name="generator-fails")
    def generator_fails() -> str:
        values = rows()
        seen.append(next(values))
        from mainspring.engine.context import flow_run_context

        active = list(flow_run_context.get().active_task_runs.values())
        seen.append([r.state.name for r in active])
        with pytest.raises(RuntimeError, match="broken row"):
            next(values)
        return "handled"

    assert generator_fails() == "handled"
    assert seen == [1, ["Running"]]
    run = only_flow_run(store, "generator-fails")
    task_run = task_runs_by_name(store, run.id)["rows-0"]
    assert task_run.state.type is StateType.FAILED
    assert "broken row" in task_run.state.message


def test_a_caller_that_stops_early_ends_the_run_completed(store):
    closed = []

    @task
    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.append(True)

    @flow(name="generator-early-stop")
    def early_stop() -> list:
        values = []
        for value in endless():
            if value == 3:
                break
            values.append(value)
        return values

    assert early_stop() == [0, 1, 2]
    assert closed == [True]
    run = only_flow_run(store, "generator-early-stop")
    assert task_runs_by_name(store, run.id)["endless-0"].state.type is StateType.COMPLETED


def test_an_async_generator_task_is_retried_and_streams(store):
    attempts = []

    @task(retries=1, retry_delay_seconds=0)
    async def ticks(n: int):
        attempts.append(n)
        if len(attempts) == 1:
            raise ValueError("first attempt fails")
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    @flow(name="async-generator")
    async def async_generator() -> list:
        return [value async for value in ticks(2)]

    assert asyncio.run(async_generator()) == [0, 1]
    run = only_flow_run(store, "async-generator")
    task_run = task_runs_by_name(store, run.id)["ticks-0"]
    assert task_run.state.type is StateType.COMPLETED
    assert timeline(store, task_run.id) == RETRIED


def test_a_submitted_generator_task_collects_what_it_yields(store):
    attempts = []

    @task(retries=1, retry_delay_seconds=0)
    def letters(word: str):
        attempts.append(word)
        if len(attempts) == 1:
            raise ValueError("first attempt fails")
        yield from word

    @flow(name="generator-submit")
    def generator_submit() -> list:
        return letters.submit("ab").result()

    assert generator_submit() == ["a", "b"]
    run = only_flow_run(store, "generator-submit")
    assert timeline(store, task_runs_by_name(store, run.id)["letters-0"].id) == RETRIED


def test_a_generator_task_has_no_state_to_return():
    @task
    def one():
        yield 1

    with pytest.raises(ValueError, match="generator"):
        one(return_state=True)


def test_a_slow_step_times_out_and_a_standalone_generator_task_is_recorded(store):
    import time

    @task(timeout_seconds=0.5)
    def slow():
        yield "first"
        time.sleep(30)
        yield "never"

    values = slow()  # outside any flow: its own top-level task run
    assert next(values) == "first"
    with pytest.raises(TimeoutError, match=r"exceeded timeout of 0\.5"):
        next(values)
    (task_run,) = [t for t in store.read_task_runs(None) if t.task_name == "slow"]
    assert task_run.state.type is StateType.FAILED and task_run.state.name == "TimedOut"


def test_a_generator_task_mapped_on_worker_processes_collects_its_values(store):
    import os

    from mainspring import ProcessPoolTaskRunner

    def count_to(n: int):
        yield os.getpid()
        yield from range(n)

    @flow(name="generator-processes", task_runner=ProcessPoolTaskRunner(max_workers=2))
    def generator_processes() -> list:
        return task(count_to, name="count_to").map([1, 2]).result()

    (pid_a, *first), (pid_b, *second) = generator_processes()
    assert (first, second) == ([0], [0, 1])
    assert os.getpid() not in (pid_a, pid_b)
