"""States read back from the store carry where their persisted result lives, so `.result()`
loads it; a completed state without one says the result was not persisted (SQLite and
PostgreSQL, real result storage in a temporary folder)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mainspring.exceptions import MissingResult
from mainspring.model import State, StateRecord, StateType
from mainspring.store.base import Batch
from mainspring.store.results.storage import ResultRef, default_storage, encode_record, storage_for
from mainspring.store.sql import SqlStore

from .conftest import T0, make_flow_run, make_task_run


def persisted(root: Path, key: str, value: object) -> ResultRef:
    """A record as the engine writes it, and the reference a state holds to it."""
    header = {"serializer": "cloudpickle", "created": T0, "by": "test"}
    storage_for(root).write(key, encode_record(header, pickle.dumps(value)))
    return ResultRef(str(root), key, "cloudpickle")


def own_results() -> Path:
    """This process's result storage (the default): the one it loads results from."""
    root = default_storage().local
    assert root is not None
    return root


def completed(data: object = None) -> State:
    return State(StateType.COMPLETED, "Completed", None, data, ts=T0 + 1)


def test_run_states_and_timeline_rows_load_their_persisted_result(store: SqlStore) -> None:
    root = own_results()
    run = make_flow_run("etl", state=completed(persisted(root, "flow-runs/x/result", {"n": 3})))
    task = make_task_run(run.id, state=completed(persisted(root, "flow-runs/x/tasks/t-0", [1])))
    plain = make_task_run(run.id, key="t-1", state=completed(42))  # kept in memory only
    failed = make_task_run(run.id, key="t-2", state=State(StateType.FAILED, ts=T0))
    ref = task.state.data
    states = [
        StateRecord(run.id, False, StateType.RUNNING, "Running", None, T0),
        StateRecord(run.id, False, StateType.COMPLETED, "Completed", None, T0 + 1, None, ref),
        StateRecord(run.id, False, StateType.COMPLETED, "Completed", None, T0 + 2),
    ]
    tasks = {t.id: t for t in (task, plain, failed)}
    store.write(Batch(flow_runs={run.id: run}, task_runs=tasks, states=states))

    stored = store.read_flow_run(run.id).state
    assert isinstance(stored.data, ResultRef) and stored.data.key == "flow-runs/x/result"
    assert stored.result() == {"n": 3}
    by_key = {t.task_key: t.state for t in store.read_task_runs(run.id)}
    assert by_key["t-0"].result() == [1]
    assert store.read_task_run(task.id).state.data.serializer == "cloudpickle"
    with pytest.raises(MissingResult, match=r"not persisted.*persist_result=True"):
        by_key["t-1"].result()
    with pytest.raises(Exception, match="Failed"):
        by_key["t-2"].result()
    assert by_key["t-2"].result(raise_on_failure=False) is not None

    timeline = store.read_states(run.id)
    assert [s.result is None for s in timeline] == [True, False, False]
    assert timeline[0].to_state().result is not None  # Running: no result, nothing to load
    assert timeline[1].to_state().result() == [1]
    with pytest.raises(MissingResult, match="not persisted"):
        timeline[2].to_state().result()


def test_a_result_whose_record_is_gone_says_so(store: SqlStore) -> None:
    root = own_results()
    run = make_flow_run("etl", state=completed(persisted(root, "flow-runs/y/result", 1)))
    store.write(Batch(flow_runs={run.id: run}))
    (root / "flow-runs" / "y" / "result").unlink()
    with pytest.raises(MissingResult, match=r"'flow-runs/y/result' is missing from"):
        store.read_flow_run(run.id).state.result()


def test_a_newer_snapshot_replaces_or_clears_the_result(store: SqlStore) -> None:
    root = own_results()
    run = make_flow_run("etl", state=completed(persisted(root, "a", "first")))
    store.write(Batch(flow_runs={run.id: run}))
    run.state = State(StateType.RUNNING, "Retrying", ts=T0 + 5)  # resumed: no result yet
    store.write(Batch(flow_runs={run.id: run}))
    assert store.read_flow_run(run.id).state.data is None
    run.state = completed(persisted(root, "b", "second"))
    store.write(Batch(flow_runs={run.id: run}))
    assert store.read_flow_run(run.id).state.result() == "second"
