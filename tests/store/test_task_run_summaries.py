"""TaskRunSummaries on SQLite and PostgreSQL: a run's task runs grouped by task, a page at a
time, and its edges counted by task."""

from __future__ import annotations

import pytest

from mainspring.exceptions import NeedsDatabase
from mainspring.model import State, StateType, TaskRunEdge, new_id
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

from .conftest import T0, make_flow_run, make_task_run


def seed(store: SqlStore):
    run = make_flow_run()
    load = make_task_run(run.id, "load-0", created=T0, start_time=T0, end_time=T0 + 2)
    works = [
        make_task_run(
            run.id,
            f"work-{i}",
            state=State(StateType.FAILED if i == 3 else StateType.COMPLETED, ts=T0 + 10 + i),
            created=T0 + 1 + i,
            start_time=T0 + 5 + i,
            end_time=T0 + 10 + i,
        )
        for i in range(5)
    ]
    going = make_task_run(
        run.id,
        "report-0",
        state=State(StateType.RUNNING, ts=T0 + 20),
        created=T0 + 20,
        start_time=T0 + 20,
    )
    other = make_flow_run()
    elsewhere = make_task_run(other.id, "work-0")
    edges = [TaskRunEdge(run.id, w.id, load.id) for w in works]
    edges += [
        TaskRunEdge(run.id, going.id, works[0].id),
        TaskRunEdge(run.id, going.id, load.id, "wait"),
    ]
    store.write(
        Batch(
            flow_runs={run.id: run, other.id: other},
            task_runs={t.id: t for t in [load, *works, going, elsewhere]},
            edges=edges,
        )
    )
    return run, load, works, going


def test_groups_count_by_state_with_their_span(store: SqlStore) -> None:
    run, *_ = seed(store)
    groups = store.read_task_groups(run.id)
    assert [g.task_name for g in groups] == ["load", "work", "report"]  # by first creation
    load, work, report = groups
    assert (load.count, load.first_start, load.last_end, load.unfinished) == (1, T0, T0 + 2, 0)
    assert work.count == 5
    assert work.by_state == {StateType.COMPLETED: 4, StateType.FAILED: 1}
    assert (work.first_created, work.first_start, work.last_end) == (T0 + 1, T0 + 5, T0 + 14)
    assert (report.unfinished, report.last_end) == (1, None)
    assert store.read_task_groups(new_id()) == []


def test_pages_of_task_runs(store: SqlStore) -> None:
    run, load, works, _ = seed(store)
    assert [t.id for t in store.read_task_runs_page(run.id, limit=3)] == [
        load.id,
        *[w.id for w in works[:2]],
    ]
    page = store.read_task_runs_page(run.id, "work", limit=2, offset=2)
    assert [t.id for t in page] == [works[2].id, works[3].id]
    assert page[1].state.type is StateType.FAILED
    assert store.read_task_runs_page(run.id, "nothing") == []
    with pytest.raises(ValueError):
        store.read_task_runs_page(run.id, limit=-1)


def test_edges_counted_by_task_and_of_one_task_run(store: SqlStore) -> None:
    run, load, works, going = seed(store)
    links = {(x.upstream, x.downstream, x.kind): x.count for x in store.read_task_links(run.id)}
    assert links == {
        ("load", "work", "data"): 5,
        ("work", "report", "data"): 1,
        ("load", "report", "wait"): 1,
    }
    of_load = store.read_task_run_edges(load.id)
    assert len(of_load) == 6 and all(e.upstream_id == load.id for e in of_load)
    of_going = store.read_task_run_edges(going.id)
    assert {(e.upstream_id, e.kind) for e in of_going} == {(works[0].id, "data"), (load.id, "wait")}
    assert len(store.read_task_run_edges(load.id, limit=2)) == 2


def test_the_api_store_needs_the_database() -> None:
    from mainspring.store.http import ApiStore

    with pytest.raises(NeedsDatabase):
        ApiStore("http://127.0.0.1:9/api").read_task_groups(new_id())
