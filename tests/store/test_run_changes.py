"""RunChangeFeed on SQLite and PostgreSQL: a flow run's task runs and subflow runs whose state
changed since a cursor, as they are now; other runs' changes left out; a burst over reads."""

from __future__ import annotations

import dataclasses

import pytest

from mainspring.exceptions import NeedsDatabase
from mainspring.model import State, StateType, new_id
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

from .conftest import T0, make_flow_run, make_state, make_task_run


def _write(store: SqlStore, *runs, states=()) -> None:
    flow_runs = {r.id: r for r in runs if not hasattr(r, "task_key")}
    task_runs = {r.id: r for r in runs if hasattr(r, "task_key")}
    store.write(Batch(flow_runs=flow_runs, task_runs=task_runs, states=list(states)))


def test_changes_since_a_cursor(store: SqlStore) -> None:
    run, other = make_flow_run(), make_flow_run()
    first = make_task_run(run.id, "load-0", created=T0, start_time=T0)
    _write(store, run, other, first, states=[make_state(first.id, "Running", T0, True)])
    cursor = store.change_cursor()
    assert cursor > 0
    assert store.read_run_changes(run.id, cursor).task_runs == []

    done = dataclasses.replace(first, state=State(StateType.COMPLETED, ts=T0 + 1), end_time=T0 + 1)
    new = make_task_run(run.id, "work-0", state=State(StateType.RUNNING, ts=T0 + 2), created=T0 + 2)
    elsewhere = make_task_run(other.id, "work-0")
    child = make_flow_run("child", parent_flow_run_id=run.id)
    states = [
        make_state(first.id, "Completed", T0 + 1, True),
        make_state(new.id, "Running", T0 + 2, True),
        make_state(elsewhere.id, "Running", T0 + 2, True),
        make_state(child.id, "Running", T0 + 3),
    ]
    _write(store, done, new, elsewhere, child, states=states)
    changes = store.read_run_changes(run.id, cursor)
    assert [t.id for t in changes.task_runs] == [first.id, new.id]  # in creation order
    assert changes.task_runs[0].state.type is StateType.COMPLETED  # as they are now
    assert changes.task_runs[0].end_time == T0 + 1
    assert [r.id for r in changes.subflows] == [child.id]
    assert changes.cursor == store.change_cursor() and not changes.more
    again = store.read_run_changes(run.id, changes.cursor)
    assert (again.task_runs, again.subflows, again.cursor) == ([], [], changes.cursor)


def test_a_burst_is_read_over_several_reads(store: SqlStore) -> None:
    run = make_flow_run()
    cursor = store.change_cursor()
    tasks = [make_task_run(run.id, f"map-{i}", created=T0 + i) for i in range(7)]
    _write(store, run, *tasks, states=[make_state(t.id, "Completed", T0, True) for t in tasks])
    seen: list[str] = []
    while True:
        changes = store.read_run_changes(run.id, cursor, limit=3)
        seen += [t.id for t in changes.task_runs]
        cursor = changes.cursor
        if not changes.more:
            break
    assert sorted(seen) == sorted(t.id for t in tasks)


def test_marks_tally_every_task_run(store: SqlStore) -> None:
    run = make_flow_run()
    going = make_task_run(run.id, "work-0", state=State(StateType.RUNNING, ts=T0), start_time=T0)
    done = make_task_run(run.id, "work-1", start_time=T0, end_time=T0 + 1)
    _write(store, run, going, done, make_task_run(make_flow_run().id, "other-0"))
    marks = {m.id: m for m in store.read_task_run_marks(run.id)}
    assert set(marks) == {going.id, done.id}
    assert marks[going.id].state_type is StateType.RUNNING and marks[going.id].end_time is None
    assert (marks[done.id].task_name, marks[done.id].end_time) == ("work", T0 + 1)
    assert store.read_task_run_marks(new_id()) == []


def test_the_api_store_needs_the_database() -> None:
    from mainspring.store.http import ApiStore

    with pytest.raises(NeedsDatabase):
        ApiStore("http://127.0.0.1:9/api").read_run_changes(new_id(), 0)
