"""Resuming a flow run resumes its subflow runs under their earlier ids (matched by subflow
key: the subflow's name and call index): a subflow that completed returns its persisted result
without running, one that failed or was killed runs again without redoing its finished tasks.
Side effects are counted in a file; the killed run is a real process killed with SIGKILL and
retried by the real `mainspring flow-run retry` command."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from mainspring import resume_flow_run
from mainspring.model import StateType
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

from .support import (
    FAILED_THEN_RESUMED,
    cli_retry,
    flow_runs_of,
    kill_midway,
    only_flow_run,
    timeline,
)

NESTED = textwrap.dedent(
    """
    import os
    from mainspring import flow, task

    SIDE = os.environ["SIDE_FILE"]

    def mark(what: str) -> None:
        with open(SIDE, "a") as f:
            f.write(what + "\\n")

    @task
    def step(tag: str, i: int) -> int:
        if tag == "b" and i == 2 and not os.path.exists(SIDE + ".fixed"):
            raise ValueError("step b-2 is broken")
        mark(f"{tag}-{i}")
        return i

    @flow(name="child")
    def child(tag: str, n: int) -> int:
        mark(f"body-{tag}")
        return sum(step(tag, i) for i in range(n))

    @flow(name="parent", persist_result=True)
    def parent() -> int:
        return child("a", 2) + child("b", 3)
    """
)


def lines(side: Path) -> list[str]:
    return side.read_text().splitlines()


@pytest.fixture
def nested(tmp_path, monkeypatch):
    side = tmp_path / "side.txt"
    monkeypatch.setenv("SIDE_FILE", str(side))
    (tmp_path / "nested_flows.py").write_text(NESTED)
    monkeypatch.syspath_prepend(str(tmp_path))
    import nested_flows

    yield nested_flows.parent, side
    sys.modules.pop("nested_flows", None)


def test_a_failed_subflow_resumes_under_its_id_and_a_completed_one_is_not_run(nested, store):
    parent, side = nested
    assert parent(return_state=True).type is StateType.FAILED
    assert lines(side) == ["body-a", "a-0", "a-1", "body-b", "b-0", "b-1"]
    run = only_flow_run(store, "parent")
    before = {c.subflow_key: c for c in flow_runs_of(store, "child")}
    assert set(before) == {"child-0", "child-1"}
    assert before["child-1"].state.type is StateType.FAILED

    Path(f"{side}.fixed").touch()
    state = resume_flow_run(run.id)

    assert state.type is StateType.COMPLETED
    assert state.result() == 1 + 3
    # child a completed: not run again; child b ran again, its finished steps resumed
    assert lines(side)[6:] == ["body-b", "b-2"]
    after = {c.subflow_key: c for c in flow_runs_of(store, "child")}
    assert {k: c.id for k, c in after.items()} == {k: c.id for k, c in before.items()}
    a, b = after["child-0"], after["child-1"]
    assert a.state.message.startswith("Resumed:") and a.run_count == 1
    assert a.state.result() == 1  # its persisted result, read back from the store
    assert a.end_time == before["child-0"].end_time
    assert b.run_count == 2
    assert timeline(store, b.id) == FAILED_THEN_RESUMED
    steps = {t.task_key: t for t in store.read_task_runs(b.id)}
    assert steps["step-0"].state.message.startswith("Resumed:")
    assert steps["step-2"].run_count == 2


KILLED = textwrap.dedent(
    """
    import os, time
    from mainspring import flow, get_run_context, task

    SIDE = os.environ["SIDE_FILE"]

    @task
    def step(tag: str, i: int) -> int:
        time.sleep(0.04)
        with open(SIDE, "a") as f:
            f.write(f"{tag}-{i}\\n")
        return i

    @flow(name="killed-child")
    def killed_child(tag: str, n: int) -> int:
        return sum(step(tag, i) for i in range(n))

    @flow(name="killed-parent", persist_result=True)
    def killed_parent() -> int:
        print(get_run_context().flow_run.id, flush=True)
        return killed_child("a", 10) + killed_child("b", 10)

    if __name__ == "__main__":
        killed_parent()
    """
)


@pytest.mark.slow
def test_a_killed_subflow_resumes_by_the_cli_running_each_task_once(tmp_path):
    flow_run_id, side, env = kill_midway(tmp_path, KILLED, 15)  # midway in the second subflow
    assert 15 <= len(lines(side)) < 20

    retried = cli_retry(flow_run_id, env, cwd=tmp_path.parent)
    assert retried.returncode == 0, retried.stderr[-3000:]
    expected = [f"{tag}-{i}" for tag in "ab" for i in range(10)]
    assert sorted(lines(side)) == expected  # each task's side effect exactly once

    store = SqlStore(f"sqlite:///{get_settings().home / 'mainspring.db'}")
    try:
        assert store.read_flow_run(flow_run_id).state.result() == 2 * 45
        children = {c.subflow_key: c for c in flow_runs_of(store, "killed-child")}
        assert set(children) == {"killed-child-0", "killed-child-1"}  # no new subflow runs
        a, b = children["killed-child-0"], children["killed-child-1"]
        assert a.state.message.startswith("Resumed:") and a.run_count == 1
        assert b.state.type is StateType.COMPLETED and b.run_count == 2
        assert timeline(store, b.id)[-4:] == ["Crashed", "Pending", "Retrying", "Completed"]
        assert len(store.read_task_runs(b.id)) == 10
    finally:
        store.close()


UNKEPT = textwrap.dedent(
    """
    import os
    from mainspring import flow

    SIDE = os.environ["SIDE_FILE"]

    @flow(name="unkept-child", persist_result=False)
    def unkept_child() -> int:
        with open(SIDE, "a") as f:
            f.write("child\\n")
        return 7

    @flow(name="unkept-parent", persist_result=True)
    def unkept_parent() -> int:
        value = unkept_child()
        if not os.path.exists(SIDE + ".fixed"):
            raise ValueError("broken after the subflow")
        return value
    """
)


def test_a_completed_subflow_without_a_persisted_result_runs_again(tmp_path, monkeypatch, store):
    side = tmp_path / "side.txt"
    monkeypatch.setenv("SIDE_FILE", str(side))
    (tmp_path / "unkept_flows.py").write_text(UNKEPT)
    monkeypatch.syspath_prepend(str(tmp_path))
    import unkept_flows

    try:
        assert unkept_flows.unkept_parent(return_state=True).is_failed()
        Path(f"{side}.fixed").touch()
        state = resume_flow_run(only_flow_run(store, "unkept-parent").id)
        assert state.result() == 7  # not the NotPersisted marker of the stored state
        assert lines(side) == ["child", "child"]
        child = only_flow_run(store, "unkept-child")  # the same run, run again
        assert child.run_count == 2 and child.state.is_completed()
    finally:
        sys.modules.pop("unkept_flows", None)


def test_a_completed_subflow_whose_result_points_elsewhere_runs_again(nested, store, tmp_path):
    """A stored result address outside the trusted storages (set by any writer of the store)
    is never loaded on resume: the subflow runs again instead."""
    import pickle

    from mainspring.model import State
    from mainspring.store.base import Batch
    from mainspring.store.results.storage import ResultRef, encode_record, storage_for

    parent, side = nested
    assert parent(return_state=True).type is StateType.FAILED
    run = only_flow_run(store, "parent")
    child_a = {c.subflow_key: c for c in flow_runs_of(store, "child")}["child-0"]
    marker = tmp_path / "pickle-ran"
    planted = encode_record({"serializer": "cloudpickle"}, pickle.dumps(Planted(marker)))
    storage_for(tmp_path / "elsewhere").write("r", planted)
    ref = ResultRef(str(tmp_path / "elsewhere"), "r", "cloudpickle")
    child_a.state = State(StateType.COMPLETED, "Completed", None, ref, ts=child_a.state.ts + 1)
    store.write(Batch(flow_runs={child_a.id: child_a}))

    Path(f"{side}.fixed").touch()
    state = resume_flow_run(run.id)

    assert state.type is StateType.COMPLETED and state.result() == 1 + 3
    # child a ran again (its steps' own results, in the trusted storage, were resumed)
    assert lines(side)[6:] == ["body-a", "body-b", "b-2"]
    assert not marker.exists()


class Planted:
    """Unpickling it creates the file `marker`: the code of a planted pickle running."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))
