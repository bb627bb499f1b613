"""Retries: how many, after how long, whether at all; every attempt is on the run's timeline."""

from __future__ import annotations

import random

import pytest

from mainspring import exponential_backoff, flow, get_run_context, task
from mainspring.engine.retries import RetryPolicy

from .support import log_messages, only_flow_run, task_runs_by_name, timeline


def failing_times(n: int):
    """A function failing its first `n` calls, then returning the number of calls."""
    calls = []

    def fn():
        calls.append(get_run_context().task_run.run_count if _in_task() else None)
        if len(calls) <= n:
            raise RuntimeError(f"failure {len(calls)}")
        return len(calls)

    fn.calls = calls
    return fn


def _in_task() -> bool:
    return get_run_context().task_run is not None


def test_task_retries_until_it_succeeds_and_records_every_attempt(store):
    fn = failing_times(2)
    flaky = task(fn, name="flaky", retries=3)

    @flow
    def pipeline():
        return flaky()

    assert pipeline() == 3
    assert fn.calls == [1, 2, 3]  # run_count seen inside each attempt
    run = only_flow_run(store, "pipeline")
    task_run = task_runs_by_name(store, run.id)["flaky-0"]
    assert task_run.run_count == 3 and task_run.state.is_completed()
    assert timeline(store, task_run.id) == [
        "Pending",
        "Running",
        "AwaitingRetry",
        "Retrying",
        "AwaitingRetry",
        "Retrying",
        "Completed",
    ]
    messages = log_messages(store, run.id, task_run.id)
    assert any("Retry 1/3 will start 0 second(s) from now" in m for m in messages)
    assert any("Retry 2/3" in m for m in messages)


def test_task_fails_when_retries_are_exhausted(store):
    fn = failing_times(10)
    flaky = task(fn, name="flaky", retries=2)

    @flow
    def pipeline():
        return flaky()

    with pytest.raises(RuntimeError, match="failure 3"):
        pipeline()
    task_run = task_runs_by_name(store, only_flow_run(store, "pipeline").id)["flaky-0"]
    assert task_run.run_count == 3 and task_run.state.is_failed()
    assert timeline(store, task_run.id)[-1] == "Failed"
    assert timeline(store, task_run.id).count("Retrying") == 2
    messages = log_messages(store, task_run.flow_run_id, task_run.id)
    assert any("Retries are exhausted" in m for m in messages)


def test_retry_delay_number_and_list_are_logged_and_waited(store):
    single = task(failing_times(1), name="single", retries=1, retry_delay_seconds=0.05)
    listed = task(failing_times(3), name="listed", retries=3, retry_delay_seconds=[0.01, 0.02])

    @flow
    def pipeline():
        return single(), listed()

    assert pipeline() == (2, 4)
    run = only_flow_run(store, "pipeline")
    messages = log_messages(store, run.id)
    assert any("Retry 1/1 will start 0.05 second(s) from now" in m for m in messages)
    assert any("Retry 1/3 will start 0.01 second(s)" in m for m in messages)
    assert any("Retry 2/3 will start 0.02 second(s)" in m for m in messages)
    assert any("Retry 3/3 will start 0.02 second(s)" in m for m in messages)  # last repeats
    listed_run = task_runs_by_name(store, run.id)["listed-0"]
    states = store.read_states(listed_run.id)
    awaiting = [s.ts for s in states if s.name == "AwaitingRetry"]
    retrying = [s.ts for s in states if s.name == "Retrying"]
    assert all(r - a >= 0.009 for a, r in zip(awaiting, retrying, strict=True))


def test_exponential_backoff_delays():
    assert exponential_backoff(2)(4) == [2, 4, 8, 16]
    policy = RetryPolicy.build(3, exponential_backoff(0.5), None)
    assert [policy.delay_before(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    with pytest.raises(ValueError):
        exponential_backoff(-1)


def test_exponential_backoff_on_a_task(store):
    flaky = task(
        failing_times(2), name="flaky", retries=2, retry_delay_seconds=exponential_backoff(0.01)
    )

    @flow
    def pipeline():
        return flaky()

    assert pipeline() == 3
    messages = log_messages(store, only_flow_run(store, "pipeline").id)
    assert any("Retry 1/2 will start 0.01 second(s)" in m for m in messages)
    assert any("Retry 2/2 will start 0.02 second(s)" in m for m in messages)


def test_jitter_stays_within_its_bounds():
    policy = RetryPolicy.build(1, 10, 0.5)
    rng_state = random.getstate()
    try:
        random.seed(1234)
        delays = [policy.delay_before(1) for _ in range(500)]
    finally:
        random.setstate(rng_state)
    assert all(5.0 <= d <= 15.0 for d in delays)
    assert max(delays) - min(delays) > 5  # actually spread, not constant
    assert RetryPolicy.build(1, 1, 5.0).delay_before(1) >= 0  # never negative


def test_invalid_retry_options_are_rejected():
    with pytest.raises(ValueError, match="retries"):
        task(retries=-1)(lambda: None)
    with pytest.raises(ValueError, match="retry_jitter_factor"):
        task(retry_jitter_factor=-0.1)(lambda: None)
    with pytest.raises(ValueError, match="retry_delay_seconds"):
        task(retries=1, retry_delay_seconds=[-1])(lambda: None)


def test_retry_condition_fn_decides(store):
    seen = []

    def only_on_connection_errors(task_def, task_run, state):
        seen.append((task_def.name, task_run.name, state.name))
        return isinstance(state.result(raise_on_failure=False), ConnectionError)

    calls = []

    @task(retries=5, retry_condition_fn=only_on_connection_errors)
    def fragile():
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("blip")
        raise ValueError("real bug")

    @flow
    def pipeline():
        return fragile()

    with pytest.raises(ValueError, match="real bug"):
        pipeline()
    assert len(calls) == 2  # retried the connection error, not the bug
    assert seen == [("fragile", "fragile-0", "Failed"), ("fragile", "fragile-0", "Failed")]
    task_run = task_runs_by_name(store, only_flow_run(store, "pipeline").id)["fragile-0"]
    assert task_run.run_count == 2 and task_run.state.is_failed()


def test_raising_retry_condition_fn_means_no_retry(store):
    def broken(*_):
        raise RuntimeError("condition broke")

    calls = []

    @task(retries=3, retry_condition_fn=broken)
    def fails():
        calls.append(1)
        raise ValueError("x")

    @flow
    def pipeline():
        return fails(return_state=True).name

    assert pipeline() == "Failed"
    assert len(calls) == 1
    messages = log_messages(store, only_flow_run(store, "pipeline").id)
    assert any("retry_condition_fn raised" in m and "not retrying" in m for m in messages)


def test_flow_retries_rerun_with_the_same_task_keys(store):
    attempts = []

    @task
    def step(i):
        return i

    @flow(retries=2)
    def pipeline():
        attempts.append(get_run_context().flow_run.run_count)
        results = [step(0), step.submit(1).result()]
        if len(attempts) < 3:
            raise RuntimeError(f"attempt {len(attempts)}")
        return results

    assert pipeline() == [0, 1]
    assert attempts == [1, 2, 3]
    run = only_flow_run(store, "pipeline")
    assert run.run_count == 3 and run.state.is_completed()
    assert timeline(store, run.id) == [
        "Pending",
        "Running",
        "AwaitingRetry",
        "Retrying",
        "AwaitingRetry",
        "Retrying",
        "Completed",
    ]
    keys = sorted(t.task_key for t in store.read_task_runs(run.id))
    assert keys == ["step-0", "step-0", "step-0", "step-1", "step-1", "step-1"]


def test_flow_returning_failed_state_is_retried(store):
    attempts = []

    @flow(retries=1, retry_delay_seconds=0)
    def pipeline():
        from mainspring import Completed, Failed

        attempts.append(1)
        return Failed(message="try again") if len(attempts) == 1 else Completed(data="ok")

    assert pipeline() == "ok"
    assert only_flow_run(store, "pipeline").run_count == 2


def test_flow_retries_exhausted_fail_the_flow(store):
    @flow(retries=1)
    def always():
        raise RuntimeError("nope")

    with pytest.raises(RuntimeError, match="nope"):
        always()
    run = only_flow_run(store, "always")
    assert run.run_count == 2 and run.state.is_failed()
    assert timeline(store, run.id)[-1] == "Failed"
