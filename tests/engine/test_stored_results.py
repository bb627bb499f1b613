"""A state read back from the store loads the result its run persisted: a flow runs in a child
process, and this process reads the run from the store and calls `.result()` on its state, on
its task runs' states and on its timeline's rows."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from mainspring.exceptions import MissingResult
from mainspring.settings import get_settings

from .support import only_flow_run, subprocess_env, task_runs_by_name

SCRIPT = textwrap.dedent(
    """
    from mainspring import flow, task
    from mainspring.cache_policies import INPUTS

    @task(result_serializer="json")
    def as_json(x: int) -> dict:
        return {"x": x}

    @task
    def as_pickle(x: int) -> tuple:
        return (x, {x})

    @task(persist_result=False)
    def in_memory(x: int) -> int:
        return x

    @task(cache_policy=INPUTS)
    def cached(x: int) -> str:
        return f"cached {x}"

    @flow(name="stored-results", persist_result=True)
    def stored_results() -> list:
        return [as_json(1), as_pickle(2), in_memory(3), cached(4), cached(4)]

    if __name__ == "__main__":
        stored_results()
    """
)


def test_states_read_from_the_store_load_results_persisted_by_another_process(tmp_path, store):
    script = tmp_path / "stored_results.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)],
        env=subprocess_env(get_settings().home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    run = only_flow_run(store, "stored-results")
    assert run.state.result() == [{"x": 1}, (2, {2}), 3, "cached 4", "cached 4"]
    tasks = task_runs_by_name(store, run.id)
    assert tasks["as_json-0"].state.result() == {"x": 1}
    assert tasks["as_json-0"].state.data.serializer == "json"
    assert tasks["as_pickle-0"].state.result() == (2, {2})
    assert tasks["cached-0"].state.result() == "cached 4"
    assert tasks["cached-1"].state.name == "Cached"
    assert tasks["cached-1"].state.result() == "cached 4"
    with pytest.raises(MissingResult, match=r"not persisted.*persist_result=True"):
        tasks["in_memory-0"].state.result()

    (last,) = [s for s in store.read_states(tasks["as_pickle-0"].id) if s.name == "Completed"]
    assert last.to_state().result() == (2, {2})
    assert store.read_states(run.id)[-1].to_state().result()[0] == {"x": 1}


def test_a_run_without_persistence_says_its_result_was_not_kept(store):
    from mainspring import flow, task

    @task
    def one() -> int:
        return 1

    @flow(name="in-memory")
    def in_memory() -> int:
        return one()

    assert in_memory() == 1
    run = only_flow_run(store, "in-memory")
    with pytest.raises(MissingResult, match="not persisted"):
        run.state.result()
    with pytest.raises(MissingResult, match="not persisted"):
        store.read_task_runs(run.id)[0].state.result()
