"""Task runners: threads run submitted task runs side by side; processes run them elsewhere."""

from __future__ import annotations

import os
import threading

import pytest

from mainspring import ProcessPoolTaskRunner, ThreadPoolTaskRunner, flow, get_run_logger, task

from .support import log_messages, only_flow_run, task_runs_by_name

WAIT = 30  # seconds a barrier waits: only reached when the runs are NOT concurrent


def test_thread_pool_runs_independent_tasks_concurrently(store):
    barrier = threading.Barrier(3, timeout=WAIT)

    @task
    def meet(i):
        barrier.wait()  # returns only once all three runs are inside their functions at once
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=3))
    def pipeline():
        return [f.result() for f in [meet.submit(i) for i in range(3)]]

    assert pipeline() == [0, 1, 2]
    run = only_flow_run(store, "pipeline")
    assert all(t.state.is_completed() for t in store.read_task_runs(run.id))


def test_thread_pool_max_workers_bounds_concurrency(store):
    lock = threading.Lock()
    active, peak = [0], [0]
    release = threading.Event()

    @task
    def tracked(i):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            if active[0] == 2:
                release.set()
        release.wait(WAIT)  # hold both workers until the second one is in
        with lock:
            active[0] -= 1
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
    def pipeline():
        return tracked.map(range(6)).result()

    assert pipeline() == list(range(6))
    assert peak[0] == 2


def test_task_runner_class_is_accepted_and_each_flow_run_gets_its_own():
    @task
    def name():
        return threading.current_thread().name

    @flow(task_runner=ThreadPoolTaskRunner)
    def pipeline():
        return name.submit().result()

    assert pipeline().startswith("mainspring-task")
    assert pipeline().startswith("mainspring-task")


def test_invalid_max_workers_is_rejected():
    with pytest.raises(ValueError, match="max_workers"):
        ThreadPoolTaskRunner(max_workers=0)


@pytest.mark.slow
def test_process_pool_runs_tasks_in_other_processes(store):
    offset = 100  # captured by closures, which travel with cloudpickle

    def where(i):
        get_run_logger().info(f"working on {i}")
        print(f"printed {i}")
        return os.getpid(), i + offset

    def broken():
        raise ValueError("raised in a worker process")

    @flow(task_runner=ProcessPoolTaskRunner(max_workers=2), log_prints=True)
    def pipeline():
        located = task(where, name="where").map([1, 2])
        squared = task(lambda x: x * x, name="square").submit(7)
        failed = task(broken, name="broken").submit()
        with pytest.raises(ValueError, match="raised in a worker process"):
            failed.result()
        return located.result(), squared.result()

    located, squared = pipeline()
    assert squared == 49
    assert [value for _, value in located] == [101, 102]
    assert all(pid != os.getpid() for pid, _ in located)

    run = only_flow_run(store, "pipeline")
    tasks = task_runs_by_name(store, run.id)
    assert tasks["broken-0"].state.is_failed()
    assert "ValueError: raised in a worker process" in tasks["broken-0"].state.message
    assert tasks["where-0"].state.is_completed() and tasks["square-0"].state.is_completed()
    for i, name in ((1, "where-0"), (2, "where-1")):
        messages = log_messages(store, run.id, tasks[name].id)
        assert f"working on {i}" in messages and f"printed {i}" in messages


@pytest.mark.slow
def test_process_pool_task_timeout_ends_timed_out(store):
    def slow():
        import time

        time.sleep(30)

    @flow(task_runner=ProcessPoolTaskRunner(max_workers=1))
    def pipeline():
        return task(slow, name="slow", timeout_seconds=0.5).submit().wait()

    pipeline()
    run = only_flow_run(store, "pipeline")
    assert task_runs_by_name(store, run.id)["slow-0"].state.name == "TimedOut"
