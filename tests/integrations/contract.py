"""The behaviour every remote task runner (Dask, Ray) shares with the thread runner.

A test module subclasses `RemoteRunnerContract` and provides the `runner` fixture: a fresh
runner on that module's one cluster. The task functions are defined inside the tests, so
cloudpickle sends them by value: the workers need not import this module. Side effects that
must survive across worker processes (attempt counters, calls) go to files in `tmp_path`.

The clusters' workers run with a MAINSPRING_HOME of their own (`worker_home`), in which no
database may appear: a run's logs travel back with its outcome and are stored by the flow's
process, in this test's store.
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
import threading
import time
from pathlib import Path

import cloudpickle
import pytest

from engine.support import (  # tests/engine: a sibling package
    log_messages,
    only_flow_run,
    task_runs_by_name,
    timeline,
)
from mainspring import flow, get_run_context, get_run_logger, resume_flow_run, task
from mainspring.cache_policies import INPUTS
from mainspring.engine.stopping import heartbeats
from mainspring.model import StateType
from mainspring.model.states import Cancelling
from mainspring.store.recorder import get_recorder

# Ray's workers cannot import this module: what the tasks use of it travels by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def count_call(path: Path) -> int:
    """Append a line to `path` (from any process); how many lines it now has."""
    with open(path, "a") as f:
        f.write("x\n")
    return len(path.read_text().splitlines())


class RemoteRunnerContract:
    runner_expression = ""  # how a flow module written by a test builds the runner

    def test_tasks_run_in_worker_processes_and_complete(self, runner, store):
        @task
        def where(i):
            return os.getpid(), i * 10

        @flow(name="spread", task_runner=runner)
        def spread():
            mapped = where.map(range(4))
            single = where.submit(7)
            return mapped.result(), single.result()

        mapped, single = spread()
        assert [value for _, value in mapped] == [0, 10, 20, 30]
        assert single[1] == 70
        assert all(pid != os.getpid() for pid, _ in [*mapped, single])
        run = only_flow_run(store, "spread")
        assert run.state.is_completed()
        tasks = store.read_task_runs(run.id)
        assert len(tasks) == 5
        for task_run in tasks:
            assert timeline(store, task_run.id) == ["Pending", "Running", "Completed"]

    def test_an_async_task_is_awaited_on_the_worker(self, runner, store):
        @task
        async def later(x):
            import asyncio

            await asyncio.sleep(0.01)
            return x + 1, os.getpid()

        @flow(name="awaiting", task_runner=runner)
        def awaiting():
            return later.submit(1).result()

        value, pid = awaiting()
        assert value == 2 and pid != os.getpid()

    def test_logs_and_prints_in_a_worker_are_stored_with_the_run(self, runner, store, worker_home):
        @task(log_prints=True)
        def talk(i):
            get_run_logger().warning(f"logged {i} in {os.getpid()}")
            print(f"printed {i}")
            return i

        @flow(name="talking", task_runner=runner)
        def talking():
            return talk.map(range(3)).result()

        assert talking() == [0, 1, 2]
        run = only_flow_run(store, "talking")
        tasks = task_runs_by_name(store, run.id)
        for i in range(3):
            messages = log_messages(store, run.id, tasks[f"talk-{i}"].id)
            assert any(m.startswith(f"logged {i} in ") for m in messages), messages
            assert f"printed {i}" in messages
            assert not any(m.endswith(f" in {os.getpid()}") for m in messages)
        assert not list(worker_home.rglob("*.db")), "a worker wrote to a store of its own"

    def test_a_failure_fails_the_task_run_and_the_flow_run(self, runner, store):
        @task
        def broken():
            raise ValueError("raised on a worker")

        @flow(name="failing", task_runner=runner)
        def failing():
            return broken.submit().result()

        state = failing(return_state=True)
        assert state.type is StateType.FAILED
        with pytest.raises(ValueError, match="raised on a worker"):
            state.result()
        run = only_flow_run(store, "failing")
        broken_run = task_runs_by_name(store, run.id)["broken-0"]
        assert broken_run.state.is_failed()
        assert "ValueError: raised on a worker" in broken_run.state.message

    def test_retries_run_again_on_a_worker_until_it_succeeds(self, runner, store, tmp_path):
        attempts = tmp_path / "attempts"

        @task(retries=2, retry_delay_seconds=0)
        def flaky():
            if count_call(attempts) < 3:
                raise RuntimeError("not yet")
            return "third time"

        @flow(name="retrying", task_runner=runner)
        def retrying():
            return flaky.submit().result()

        assert retrying() == "third time"
        run = only_flow_run(store, "retrying")
        flaky_run = task_runs_by_name(store, run.id)["flaky-0"]
        assert flaky_run.run_count == 3
        assert timeline(store, flaky_run.id) == [
            "Pending",
            "Running",
            "AwaitingRetry",
            "Retrying",
            "AwaitingRetry",
            "Retrying",
            "Completed",
        ]

    def test_a_cached_result_is_not_computed_again(self, runner, store, tmp_path):
        calls = tmp_path / "calls"

        @task(cache_policy=INPUTS)
        def square(x):
            count_call(calls)
            return x * x

        @flow(name="caching", task_runner=runner)
        def caching():
            first = square.submit(4).result()
            again = square.submit(4)
            again.wait()
            return first, again.state.name, again.state.result()

        assert caching() == (16, "Cached", 16)
        assert len(calls.read_text().splitlines()) == 1

    def test_futures_as_arguments_and_wait_for(self, runner, store):
        @task
        def number(x):
            return x

        @task
        def add(a, b):
            return a + b

        @flow(name="graph", task_runner=runner)
        def graph():
            a = number.submit(1)
            b = number.submit(2, wait_for=[a])
            return add.submit(a, b).result()

        assert graph() == 3
        run = only_flow_run(store, "graph")
        names = {t.id: t.name for t in store.read_task_runs(run.id)}
        edges = {
            (names[e.task_run_id], names[e.upstream_id], e.kind) for e in store.read_edges(run.id)
        }
        assert edges == {
            ("number-1", "number-0", "wait"),
            ("add-0", "number-0", "data"),
            ("add-0", "number-1", "data"),
        }

    def test_persisted_results_are_read_back_from_the_store(self, runner, store):
        @task
        def payload(x):
            return {"x": x, "set": {x}}

        @flow(name="persisting", task_runner=runner, persist_result=True)
        def persisting():
            return payload.submit(5).result()

        assert persisting() == {"x": 5, "set": {5}}
        run = only_flow_run(store, "persisting")
        stored = task_runs_by_name(store, run.id)["payload-0"]
        assert stored.state.result() == {"x": 5, "set": {5}}

    def test_a_dask_collection_returned_by_a_task_is_computed(self, runner, store):
        dask = pytest.importorskip("dask")

        @task
        def lazy(n):
            return dask.delayed(sum)(list(range(n)))

        @task
        def several(n):
            return [dask.delayed(len)(list(range(n))), "plain"]

        @flow(name="collections", task_runner=runner, persist_result=True)
        def collections():
            return lazy.submit(10).result(), several.submit(3).result()

        assert collections() == (45, [3, "plain"])
        run = only_flow_run(store, "collections")
        assert task_runs_by_name(store, run.id)["lazy-0"].state.result() == 45

    def test_a_task_timeout_on_a_worker_ends_timed_out(self, runner, store):
        @task(timeout_seconds=0.5)
        def slow():
            for _ in range(600):  # short sleeps: the timeout is raised between them
                time.sleep(0.05)

        @flow(name="timing-out", task_runner=runner)
        def timing_out():
            return slow.submit().wait()

        timing_out()
        run = only_flow_run(store, "timing-out")
        assert task_runs_by_name(store, run.id)["slow-0"].state.name == "TimedOut"

    def test_cancelling_the_flow_run_ends_a_task_running_on_a_worker_cancelled(
        self, runner, store, tmp_path
    ):
        started, stop = tmp_path / "started", tmp_path / "stop"
        ids: list[str] = []

        @task
        def forever():
            started.touch()
            for _ in range(1200):  # Dask cannot stop a running function: `stop` ends it
                if stop.exists():
                    return
                time.sleep(0.05)

        @flow(name="cancelled-remotely", task_runner=runner)
        def cancelled_remotely():
            ids.append(get_run_context().flow_run.id)
            forever.submit().wait()

        def cancel_once_started():
            deadline = time.monotonic() + 60
            while not started.exists():
                assert time.monotonic() < deadline, "the task never started"
                time.sleep(0.05)
            assert get_recorder().flush(timeout=30)
            assert store.set_state(ids[0], Cancelling()).decision.accepted
            heartbeats.beat()  # its answer tells the flow's engine

        canceller = threading.Thread(target=cancel_once_started, daemon=True)
        canceller.start()
        begun = time.monotonic()
        try:
            state = cancelled_remotely(return_state=True)
        finally:
            stop.touch()
        canceller.join(30)
        assert state.is_cancelled(), state
        assert time.monotonic() - begun < 30  # not the task's full minute
        run = task_runs_by_name(store, ids[0])["forever-0"]
        assert run.state.is_cancelled(), run.state

    def test_a_failed_run_resumes_without_redoing_finished_tasks(self, runner, tmp_path, store):
        del runner  # the module builds its own (runner_expression); this starts the cluster
        side = tmp_path / "side.txt"
        name = f"remote_flaky_{type(self).__name__.lower()}"  # one per runner: none is reused
        module = tmp_path / f"{name}.py"
        module.write_text(
            textwrap.dedent(
                f"""
                import os, sys
                import cloudpickle
                from mainspring import flow, task
                {self.runner_import}

                cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers lack it
                SIDE = {str(side)!r}

                @task
                def step(i: int) -> int:
                    if i == 3 and not os.path.exists(SIDE + ".fixed"):
                        raise ValueError("step 3 is broken")
                    with open(SIDE, "a") as f:
                        f.write(f"{{i}}\\n")
                    return i * 10

                @flow(name="remote-flaky", persist_result=True,
                      task_runner={self.runner_expression})
                def remote_flaky(n: int = 5) -> int:
                    return sum(step.map(range(n)).result())
                """
            )
        )
        sys.path.insert(0, str(tmp_path))
        try:
            failed = importlib.import_module(name).remote_flaky(return_state=True)
            assert failed.type is StateType.FAILED
            assert sorted(int(x) for x in side.read_text().split()) == [0, 1, 2, 4]
            Path(str(side) + ".fixed").touch()
            run = only_flow_run(store, "remote-flaky")
            state = resume_flow_run(run.id)
        finally:
            sys.path.remove(str(tmp_path))
            sys.modules.pop(name, None)
        assert state.type is StateType.COMPLETED
        assert state.result() == 100
        assert sorted(int(x) for x in side.read_text().split()) == [0, 1, 2, 3, 4]
        tasks = task_runs_by_name(store, run.id)
        assert tasks["step-0"].state.message.startswith("Resumed:")
        assert tasks["step-3"].run_count == 2
