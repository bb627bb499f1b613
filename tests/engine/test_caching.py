"""Caching: cache policies, expiration, refresh, isolation, and hits that survive the process.

Records are real files in the result storage of the test's MAINSPRING_HOME; cross-process hits
and races run real child Pythons against the same home.
"""

from __future__ import annotations

import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from mainspring import flow, task
from mainspring.cache_policies import (
    DEFAULT,
    FLOW_PARAMETERS,
    INPUTS,
    NONE,
    RUN_ID,
    TASK_SOURCE,
    CompoundCachePolicy,
    Inputs,
    IsolationLevel,
)
from mainspring.model import StateType
from mainspring.settings import get_settings
from mainspring.tasks import task_input_hash

from .support import log_messages, only_flow_run, start_python


def states_of(fn, *calls):
    """Run `fn` once per argument tuple inside one flow; return each call's final state."""
    states = []

    @flow(name="caller")
    def caller():
        for args in calls:
            states.append(fn(*args, return_state=True))

    caller()
    return states


def test_a_hit_ends_cached_with_the_stored_result():
    calls: list[int] = []

    @task(cache_policy=INPUTS)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    first, second, other = states_of(square, (3,), (3,), (4,))
    assert calls == [3, 4]
    assert (first.name, second.name, other.name) == ("Completed", "Cached", "Completed")
    assert second.type is StateType.COMPLETED
    assert second.result() == 9
    assert list((get_settings().home / "results" / "cache").iterdir())


def test_policies_compose_and_default_is_inputs_source_and_run_id():
    assert isinstance(INPUTS + TASK_SOURCE, CompoundCachePolicy)
    assert DEFAULT == INPUTS + TASK_SOURCE + RUN_ID
    assert (INPUTS - "x").exclude == ("x",)
    assert (DEFAULT - "x").policies[0] == Inputs(exclude=("x",))
    serial = INPUTS.configure(isolation_level="SERIALIZABLE")
    assert serial.isolation_level is IsolationLevel.SERIALIZABLE
    assert (serial + TASK_SOURCE).isolation_level is IsolationLevel.SERIALIZABLE


def test_task_source_keeps_tasks_with_the_same_inputs_apart():
    @task(cache_policy=INPUTS + TASK_SOURCE)
    def plus_one(x: int) -> int:
        return x + 1

    @task(cache_policy=INPUTS + TASK_SOURCE)
    def plus_two(x: int) -> int:
        return x + 2

    a, b = states_of(plus_one, (1,))[0], states_of(plus_two, (1,))[0]
    assert (a.result(), b.result()) == (2, 3)
    assert b.name == "Completed"


def test_run_id_caches_within_one_flow_run_only():
    calls: list[int] = []

    @task(persist_result=True)  # Prefect 3: persist_result alone caches with DEFAULT
    def once_per_run(x: int) -> int:
        calls.append(x)
        return x

    first = states_of(once_per_run, (1,), (1,))
    second = states_of(once_per_run, (1,))
    assert [s.name for s in first] == ["Completed", "Cached"]
    assert second[0].name == "Completed"
    assert calls == [1, 1]


def test_flow_parameters_policy():
    calls: list[str] = []

    @task(cache_policy=FLOW_PARAMETERS)
    def greet() -> str:
        calls.append("x")
        return "hi"

    @flow(name="by-params")
    def by_params(day: str):
        return greet(return_state=True).name

    assert by_params("mon") == "Completed"
    assert by_params("mon") == "Cached"
    assert by_params("tue") == "Completed"


def test_none_policy_and_no_options_never_cache():
    calls: list[int] = []

    @task(cache_policy=NONE)
    def never(x: int) -> int:
        calls.append(x)
        return x

    assert [s.name for s in states_of(never, (1,), (1,))] == ["Completed", "Completed"]
    assert calls == [1, 1]


def test_cache_key_fn_gets_the_context_and_parameters():
    seen = []

    def key_fn(context, parameters):
        seen.append((context.task.name, context.task_run.task_key, dict(parameters)))
        return f"k-{parameters['x'] % 2}"

    @task(cache_key_fn=key_fn)
    def parity(x: int) -> int:
        return x

    states = states_of(parity, (1,), (3,), (2,))
    assert [s.name for s in states] == ["Completed", "Cached", "Completed"]
    assert states[1].result() == 1  # the key said "same": the stored result comes back
    assert seen[0] == ("parity", "parity-0", {"x": 1})


def test_task_input_hash_as_in_prefect():
    @task(cache_key_fn=task_input_hash)
    def echo(x: dict) -> dict:
        return x

    states = states_of(echo, ({"a": 1},), ({"a": 1},), ({"a": 2},))
    assert [s.name for s in states] == ["Completed", "Cached", "Completed"]


def test_expiration():
    calls: list[int] = []

    @task(cache_policy=INPUTS, cache_expiration=timedelta(seconds=0.5))
    def slow_changing(x: int) -> int:
        calls.append(x)
        return len(calls)

    assert [s.name for s in states_of(slow_changing, (1,), (1,))] == ["Completed", "Cached"]
    time.sleep(0.6)
    (late,) = states_of(slow_changing, (1,))
    assert late.name == "Completed"
    assert late.result() == 2


def test_refresh_cache_computes_again_and_overwrites():
    counter = iter(range(100))

    @task(cache_policy=INPUTS)
    def value(x: int) -> int:
        return next(counter)

    (first,) = states_of(value, (1,))
    (refreshed,) = states_of(value.with_options(refresh_cache=True), (1,))
    (cached,) = states_of(value, (1,))
    assert (first.result(), refreshed.result()) == (0, 1)
    assert refreshed.name == "Completed"
    assert (cached.name, cached.result()) == ("Cached", 1)


def test_unhashable_inputs_warn_and_run_uncached_never_a_wrong_hit(store):
    calls: list[int] = []

    @task(cache_policy=INPUTS)
    def use(lock: object, x: int) -> int:
        calls.append(x)
        return x

    @flow(name="unhashable")
    def unhashable():
        return [use(threading.Lock(), 1, return_state=True).name for _ in range(2)]

    assert unhashable() == ["Completed", "Completed"]
    assert calls == [1, 1]
    messages = log_messages(store, only_flow_run(store, "unhashable").id)
    warning = next(m for m in messages if m.startswith("Not caching this run"))
    assert "input 'lock' (_thread.lock)" in warning
    assert 'INPUTS - "name"' in warning

    @task(cache_policy=INPUTS - "lock")
    def use_without_lock(lock: object, x: int) -> int:
        calls.append(x)
        return x

    names = [s.name for s in states_of(use_without_lock, (threading.Lock(), 2), (object(), 2))]
    assert names == ["Completed", "Cached"]


# -- across processes ------------------------------------------------------------------------
CROSS_PROCESS = textwrap.dedent(
    """
    import sys, time
    from mainspring import flow, task
    from mainspring.cache_policies import INPUTS, TASK_SOURCE

    SIDE = sys.argv[1]
    POLICY = INPUTS + TASK_SOURCE
    if sys.argv[2] == "serializable":
        POLICY = POLICY.configure(isolation_level="SERIALIZABLE")

    @task(cache_policy=POLICY)
    def compute(x: int) -> int:
        with open(SIDE, "a") as f:
            f.write("computed\\n")
        time.sleep(float(sys.argv[3]))
        return x * 10

    @flow(name="cross")
    def cross() -> str:
        state = compute(7, return_state=True)
        return f"{state.name} {state.result()}"

    if __name__ == "__main__":
        print(cross())
    """
)


def run_children(tmp_path: Path, count: int, mode: str, sleep: float) -> tuple[list[str], int]:
    script = tmp_path / "cross.py"
    script.write_text(CROSS_PROCESS)
    side = tmp_path / "side.txt"
    home = get_settings().home
    procs = [start_python(script, home, str(side), mode, str(sleep)) for _ in range(count)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
        outputs.append(out.strip())
    return outputs, len(side.read_text().splitlines())


@pytest.mark.slow
def test_a_hit_from_another_process_and_after_a_restart(tmp_path):
    first, computed = run_children(tmp_path, 1, "plain", 0)
    assert (first, computed) == (["Completed 70"], 1)
    second, computed = run_children(tmp_path, 1, "plain", 0)
    assert (second, computed) == (["Cached 70"], 1)


@pytest.mark.slow
def test_racing_processes_compute_once_with_serializable_isolation(tmp_path):
    outputs, computed = run_children(tmp_path, 3, "serializable", 1.0)
    assert computed == 1
    assert sorted(outputs) == ["Cached 70", "Cached 70", "Completed 70"]


def test_racing_threads_compute_once_with_serializable_isolation():
    calls: list[int] = []

    @task(cache_policy=INPUTS.configure(isolation_level="SERIALIZABLE"))
    def expensive(x: int) -> int:
        calls.append(x)
        time.sleep(0.3)
        return x

    @flow(name="race")
    def race() -> list[str]:
        futures = [expensive.submit(5) for _ in range(4)]
        return sorted(f.final_state().name for f in futures)

    assert race() == ["Cached", "Cached", "Cached", "Completed"]
    assert calls == [5]


def test_without_isolation_racing_runs_both_compute_and_the_last_write_wins():
    calls: list[int] = []

    @task(cache_policy=INPUTS)
    def expensive(x: int) -> int:
        calls.append(x)
        time.sleep(0.3)
        return len(calls)

    @flow(name="race-free")
    def race() -> list[str]:
        futures = [expensive.submit(5) for _ in range(2)]
        return [f.final_state().name for f in futures]

    assert race() == ["Completed", "Completed"]
    assert len(calls) == 2
    (after,) = states_of(expensive, (5,))
    assert after.name == "Cached"
    assert after.result() in (1, 2)


def test_async_tasks_hit_the_cache_too():
    import asyncio

    calls: list[int] = []

    @task(cache_policy=INPUTS)
    async def fetch(x: int) -> int:
        calls.append(x)
        await asyncio.sleep(0)
        return x + 100

    @flow(name="async-cache")
    async def async_cache() -> list[str]:
        first = await fetch(1, return_state=True)
        second = await fetch(1, return_state=True)
        return [first.name, second.name, second.result()]

    assert asyncio.run(async_cache()) == ["Completed", "Cached", 101]
    assert calls == [1]
