"""What `Flow("name").run()` returns, read both ways: Prefect 1's attributes
(`state.result[task].result`) and Prefect 3's calls (`state.result()`), on real recorded runs.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterable
from pathlib import Path

import pytest

from mainspring import Flow, Parameter, State, flow, task, unmapped
from mainspring.engine.futures import UpstreamFailure
from mainspring.exceptions import FailedRun

from .dag_tasks import add, numbers, total
from .support import only_flow_run


@task
def nothing():
    return None


@task
def as_text(value):
    return str(value)


@task
def fail(x=None):
    raise RuntimeError("source is down")


def test_prefect_1_attributes_and_prefect_3_calls_read_the_same_run(store):
    with Flow("both spellings") as f:
        n = Parameter("n", default=5)
        raw = numbers(n)
        summed = total(raw)
        empty = nothing()
        label = as_text(n)

    state = f.run()

    assert state.is_successful() and state.is_finished() and not state.is_failed()
    assert isinstance(state.result, dict) and len(state.result) == 5
    # Prefect 1: `result` is an attribute, the dict of task states, and the task's value
    assert state.result[summed].result == 10
    assert state.result[n].result == 5  # a Parameter's state carries its value
    assert state.result[summed].is_successful() and state.result[summed].is_finished()
    # Prefect 3: the same names called
    assert state.result()[summed].result() == 10
    assert state.result[summed].result() == 10
    assert type(state.result[raw].result()) is list  # the call gives the value itself
    # the attribute behaves as the value does
    rows = state.result[raw].result
    assert rows == [0, 1, 2, 3, 4]
    assert [0, 1, 2, 3, 4] == rows  # noqa: SIM300  (the reflected comparison, on purpose)
    assert len(rows) == 5 and list(rows) == [0, 1, 2, 3, 4] and rows[1:3] == [1, 2]
    assert 4 in rows and rows.count(2) == 1 and sorted(rows, reverse=True)[0] == 4
    assert isinstance(rows, list) and repr(rows) == "[0, 1, 2, 3, 4]"
    ten = state.result[summed].result
    assert ten + 1 == 11 and 1 + ten == 11 and ten * 1.5 == 15.0 and -ten == -10
    assert ten > 9 and ten <= 10 and f"{ten:03d}" == "010" and str(ten) == "10"
    assert {ten: "ten"}[10] == "ten" and range(ten)[-1] == 9  # hashable, an index
    assert isinstance(ten, int) and not isinstance(ten, Iterable)
    assert [9] + rows == [9, 0, 1, 2, 3, 4]  # noqa: RUF005  (list's add, reflected)
    assert "n=" + state.result[label].result == "n=5"  # str has no __radd__: ours does
    assert state.result[empty].result == None  # noqa: E711  (`is None` needs the call)
    assert not state.result[empty].result and state.result[empty].result() is None
    # pickling or copying the attribute gives the plain value
    assert type(pickle.loads(pickle.dumps(rows))) is list
    assert type(copy.deepcopy(rows)) is list and copy.deepcopy(rows) == rows


def test_a_failed_task_in_the_mapping_both_ways(store):
    with Flow("failing both ways") as f:
        bad = fail()
        downstream = add(bad, 1)
        ok = add(1, 1)

    state = f.run()

    assert state.is_failed() and not state.is_successful() and state.is_finished()
    # Prefect 1: the failed task's state, whose result is the exception (not raised)
    assert state.result[bad].is_failed() and not state.result[bad].is_successful()
    error = state.result[bad].result
    assert isinstance(error, RuntimeError) and str(error) == "source is down"
    assert error.args == ("source is down",)
    assert isinstance(state.result[downstream].result, UpstreamFailure)
    assert state.result[ok].result == 2
    # Prefect 3: calling raises it, or returns it with raise_on_failure=False
    with pytest.raises(RuntimeError, match="source is down"):
        state.result[bad].result()
    assert isinstance(state.result[bad].result(raise_on_failure=False), RuntimeError)
    with pytest.raises(FailedRun, match="1 task run\\(s\\) failed"):
        state.result()
    assert isinstance(state.result(raise_on_failure=False), FailedRun)
    assert only_flow_run(store, "failing both ways").state_name == "Failed"


def test_lookup_by_task_definition_or_name(store):
    with Flow("lookups") as f:
        summed = total(numbers(3))

    state = f.run()

    assert state.result[total] is state.result[summed] is state.result["total"]
    assert total in state.result and "numbers" in state.result and summed in state.result
    assert add not in state.result and state.result.get("add") is None
    assert state.result.get(total).result == 3


def test_a_mapped_task_has_one_state_per_element(store):
    with Flow("mapped states") as f:
        plus = add.map(numbers(3), unmapped(10))

    state = f.run()

    mapped = state.result[plus]
    assert mapped.is_mapped() and not state.result[numbers].is_mapped()
    assert mapped.result == [10, 11, 12] and mapped.result() == [10, 11, 12]
    assert [s.result for s in mapped.map_states] == [10, 11, 12]
    assert all(s.is_successful() for s in mapped.map_states)


def test_a_path_result_works_where_paths_do(tmp_path, store):
    @task
    def write(folder):
        path = Path(folder) / "out.txt"
        path.write_text("hi")
        return path

    with Flow("paths") as f:
        written = write(str(tmp_path))

    path = f.run().result[written].result
    assert Path(path) == tmp_path / "out.txt" and open(path).read() == "hi"  # noqa: SIM115
    assert path.read_text() == "hi" and path.name == "out.txt"


def test_flow_runs_keep_the_plain_state_and_its_method(store):
    @flow
    def plain():
        return 3

    state = plain(return_state=True)

    assert type(state) is State
    assert state.result() == 3
    assert not hasattr(state, "is_successful")  # Prefect 1 names belong to DAG runs only
