"""The Store contract of SqlStore, on SQLite and PostgreSQL alike (see conftest.store_url)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mainspring.exceptions import ObjectNotFound, StoreError, StoreRejected
from mainspring.model import (
    FlowRecord,
    FlowRun,
    FlowRunFilter,
    FlowRunSort,
    State,
    StateType,
    TaskRunEdge,
)
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

from .conftest import T0, make_flow_run, make_log, make_state, make_task_run


def write_runs(store: SqlStore, *runs) -> None:
    store.write(Batch(flow_runs={r.id: r for r in runs}))


# -- writing and reading back ----------------------------------------------------------------
def test_round_trips_every_field(store: SqlStore) -> None:
    parent = make_flow_run("parent")
    run = make_flow_run(
        "etl",
        state=State(StateType.FAILED, "TimedOut", "took too long", ts=T0 + 9.25),
        parameters={"x": 1, "nested": {"y": [1, 2.5, "z"]}, "none": None},
        tags=["nightly", "prod"],
        flow_version="abc123",
        parent_flow_run_id=parent.id,
        parent_task_run_id="11111111-2222-3333-4444-555555555555",
        deployment_id="66666666-2222-3333-4444-555555555555",
        created=T0,
        start_time=T0 + 1.5,
        end_time=T0 + 9.25,
        run_count=2,
        heartbeat=T0 + 8.000001,
    )
    task = make_task_run(
        run.id, "extract-3", dynamic_key="3", tags=["io"], cache_key="k1", start_time=T0 + 2
    )
    store.write(
        Batch(
            flows={"etl": FlowRecord(name="etl", description="Extracts.", created=T0)},
            flow_runs={parent.id: parent, run.id: run},
            task_runs={task.id: task},
        )
    )

    got = store.read_flow_run(run.id)
    for name in FlowRun.__slots__:
        if name not in ("state", "heartbeat"):
            assert getattr(got, name) == getattr(run, name), name
    assert got.heartbeat == pytest.approx(T0 + 8.000001, abs=1e-6)
    assert got.state == run.state  # type, name, message and timestamp
    assert got.total_run_time == pytest.approx(7.75)

    got_task = store.read_task_run(task.id)
    assert (got_task.name, got_task.task_name, got_task.task_key) == (
        "extract-3",
        "extract",
        "extract-3",
    )
    assert (got_task.dynamic_key, got_task.tags, got_task.cache_key) == ("3", ["io"], "k1")
    assert got_task.flow_run_id == run.id
    assert got_task.start_time == T0 + 2 and got_task.end_time is None
    assert got_task.state == task.state

    flows = store.read_flows()
    assert [f.name for f in flows] == ["etl", "parent"]
    assert (flows[0].description, flows[0].created) == ("Extracts.", T0)


def test_writing_the_same_batch_twice_keeps_one_copy_of_each_run(store: SqlStore) -> None:
    run = make_flow_run()
    task = make_task_run(run.id)
    batch = Batch(
        flow_runs={run.id: run},
        task_runs={task.id: task},
        states=[make_state(run.id, "Pending", T0), make_state(run.id, "Running", T0 + 1)],
        logs=[make_log(run.id, None, 20, T0)],
        edges=[TaskRunEdge(run.id, task.id, "22222222-2222-3333-4444-555555555555")],
    )
    store.write(batch)
    store.write(batch)

    assert store.count_flow_runs() == 1
    assert len(store.read_flows()) == 1
    assert len(store.read_task_runs(run.id)) == 1
    # states and logs are appended: a batch is stored whole or not at all, so the recorder never
    # writes one twice, and an append-only row needs no unique key to check on every insert
    assert [s.name for s in store.read_states(run.id)] == [
        "Pending",
        "Pending",
        "Running",
        "Running",
    ]
    assert len(store.read_logs(run.id)) == 2
    assert len(store.read_edges(run.id)) == 1


def test_a_newer_snapshot_overwrites_mutable_fields_only(store: SqlStore) -> None:
    run = make_flow_run(created=T0, parameters={"a": 1}, tags=["x"])
    task = make_task_run(run.id, state=State(StateType.RUNNING, ts=T0 + 1), created=T0 + 1)
    store.write(Batch(flow_runs={run.id: run}, task_runs={task.id: task}))

    run.state = State(StateType.COMPLETED, "Completed", "done", ts=T0 + 5)
    run.start_time, run.end_time, run.run_count, run.heartbeat = T0 + 1, T0 + 5, 1, T0 + 4
    run.name, run.parameters = "renamed", {"a": 2}
    run.created = T0 + 100  # creation time is fixed once written
    task.state = State(StateType.FAILED, "Failed", "boom", ts=T0 + 3)
    task.run_count, task.end_time, task.cache_key = 3, T0 + 3, "key"
    store.write(Batch(flow_runs={run.id: run}, task_runs={task.id: task}))

    got = store.read_flow_run(run.id)
    assert (got.state.type, got.state.message, got.state.ts) == (
        StateType.COMPLETED,
        "done",
        T0 + 5,
    )
    assert (got.start_time, got.end_time, got.run_count, got.heartbeat) == (
        T0 + 1,
        T0 + 5,
        1,
        T0 + 4,
    )
    assert (got.name, got.parameters, got.created) == ("renamed", {"a": 2}, T0)
    got_task = store.read_task_run(task.id)
    assert (got_task.state.name, got_task.state.message) == ("Failed", "boom")
    assert (got_task.run_count, got_task.end_time, got_task.cache_key) == (3, T0 + 3, "key")
    assert got_task.created == T0 + 1


def test_flows_are_matched_by_name_and_keep_their_id(store: SqlStore) -> None:
    store.write(
        Batch(flows={"etl": FlowRecord(name="etl", id="aaaaaaaa-0000-0000-0000-000000000000")})
    )
    run = make_flow_run("etl")  # a flow run alone also creates its flow when missing
    other = make_flow_run("new-flow")
    store.write(
        Batch(flows={"etl": FlowRecord(name="etl")}, flow_runs={run.id: run, other.id: other})
    )
    flows = {f.name: f.id for f in store.read_flows()}
    assert flows["etl"] == "aaaaaaaa-0000-0000-0000-000000000000"
    assert set(flows) == {"etl", "new-flow"}


def test_a_record_refused_for_good_costs_itself_alone(store: SqlStore) -> None:
    """A record the database refuses (NOT NULL) is named in StoreRejected, never retried by
    the recorder; the run written with it is stored."""
    run = make_flow_run()
    bad = make_task_run(run.id)
    bad.task_key = None  # type: ignore[assignment]  # violates NOT NULL
    with pytest.raises(StoreRejected, match="refused 1 of 2 records") as refused:
        store.write(Batch(flow_runs={run.id: run}, task_runs={bad.id: bad}))
    assert "task_key" in str(refused.value)
    assert [part.task_runs for part, _ in refused.value.parts] == [{bad.id: bad}]
    assert store.count_flow_runs() == 1
    assert store.read_task_runs(run.id) == []


def test_parameters_json_cannot_hold_are_stored_as_repr(store: SqlStore) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    run = make_flow_run(
        parameters={"obj": Opaque(), "big": 2**70, "when": datetime(2024, 1, 2, tzinfo=UTC)}
    )
    write_runs(store, run)
    got = store.read_flow_run(run.id).parameters
    assert got["obj"] == "<Opaque>" and got["big"] == 2**70
    assert got["when"].startswith("2024-01-02")


def test_empty_batch_is_a_no_op(store: SqlStore) -> None:
    store.write(Batch())
    assert store.count_flow_runs() == 0


# -- not found, bad input ------------------------------------------------------------------
def test_missing_ids_raise_object_not_found(store: SqlStore) -> None:
    with pytest.raises(ObjectNotFound, match="No flow run with id 'nope'"):
        store.read_flow_run("nope")
    with pytest.raises(ObjectNotFound, match="No task run with id 'nope'"):
        store.read_task_run("nope")
    assert store.read_task_runs("nope") == []
    assert store.read_states("nope") == []
    assert store.read_logs("nope") == []
    assert store.read_edges("nope") == []


@pytest.mark.parametrize("limit, offset", [(-1, 0), (1, -1), (1.5, 0), (None, 0)])
def test_bad_paging_raises_value_error(store: SqlStore, limit, offset) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        store.read_flow_runs(limit=limit, offset=offset)
    with pytest.raises(ValueError, match="non-negative integer"):
        store.read_logs("x", limit=limit, offset=offset)


def test_unknown_state_word_raises_value_error(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="Unknown state 'Sleeping'"):
        store.read_flow_runs(FlowRunFilter(states=["Sleeping"]))


def test_closed_store_refuses_use(store: SqlStore) -> None:
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.read_flows()


# -- filters, sort, paging -------------------------------------------------------------------
@pytest.fixture
def runs(store: SqlStore) -> dict[str, object]:
    """Five flow runs of two flows, with known states, tags, times and one subflow."""
    a = make_flow_run(
        "etl",
        name="a",
        state=State(StateType.COMPLETED, ts=T0 + 50),
        tags=["prod", "nightly"],
        created=T0,
        start_time=T0 + 10,
    )
    b = make_flow_run(
        "etl",
        name="b",
        state=State(StateType.FAILED, "TimedOut", ts=T0 + 60),
        tags=["prod"],
        created=T0 + 1,
        start_time=T0 + 30,
    )
    c = make_flow_run(
        "report",
        name="c",
        state=State(StateType.SCHEDULED, "Late", ts=T0 + 5),
        tags=["nightly"],
        created=T0 + 20,
    )
    d = make_flow_run(
        "report",
        name="d",
        state=State(StateType.FAILED, ts=T0 + 70),
        created=T0 + 2,
        start_time=T0 + 40,
        parent_flow_run_id=a.id,
    )
    e = make_flow_run(
        "etl",
        name="e",
        state=State(StateType.RUNNING, ts=T0 + 45),
        created=T0 + 3,
        start_time=T0 + 45,
    )
    write_runs(store, a, b, c, d, e)
    return {r.name: r for r in (a, b, c, d, e)}


def names(store: SqlStore, filter: FlowRunFilter | None = None, **kw) -> list[str]:
    return [r.name for r in store.read_flow_runs(filter, **kw)]


def test_sorts_by_start_time_with_unstarted_runs_by_creation(store: SqlStore, runs) -> None:
    # start (or created when not started): a=10, c=20 (not started), b=30, d=40, e=45
    assert names(store) == ["e", "d", "b", "c", "a"]
    assert names(store, sort=FlowRunSort.START_TIME_ASC) == ["a", "c", "b", "d", "e"]
    assert names(store, sort=FlowRunSort.CREATED_DESC) == ["c", "e", "d", "b", "a"]
    assert names(store, sort=FlowRunSort.NAME_ASC) == ["a", "b", "c", "d", "e"]
    assert names(store, sort="NAME_ASC") == ["a", "b", "c", "d", "e"]
    with pytest.raises(ValueError):
        store.read_flow_runs(sort="SIDEWAYS")  # type: ignore[arg-type]


def test_limit_and_offset(store: SqlStore, runs) -> None:
    assert names(store, limit=2) == ["e", "d"]
    assert names(store, limit=2, offset=2) == ["b", "c"]
    assert names(store, limit=2, offset=4) == ["a"]
    assert names(store, limit=0) == []
    assert names(store, offset=10) == []


@pytest.mark.parametrize(
    "filter, expected",
    [
        (FlowRunFilter(flow_names=["report"]), {"c", "d"}),
        (FlowRunFilter(flow_names=["report", "etl"]), {"a", "b", "c", "d", "e"}),
        (FlowRunFilter(flow_names=["nope"]), set()),
        (FlowRunFilter(states=["FAILED"]), {"b", "d"}),
        (FlowRunFilter(states=["failed"]), {"b", "d"}),
        (FlowRunFilter(states=["TimedOut"]), {"b"}),
        (FlowRunFilter(states=["late", "Completed"]), {"a", "c"}),
        (FlowRunFilter(states=["SCHEDULED", "Running"]), {"c", "e"}),
        (FlowRunFilter(tags=["prod"]), {"a", "b"}),
        (FlowRunFilter(tags=["prod", "nightly"]), {"a"}),
        (FlowRunFilter(tags=["nightly", "nightly"]), {"a", "c"}),
        (FlowRunFilter(tags=["prod", "absent"]), set()),
        (FlowRunFilter(parent_flow_run_id="__a__"), {"d"}),
        (FlowRunFilter(started_after=datetime.fromtimestamp(T0 + 30, UTC)), {"b", "d", "e"}),
        (FlowRunFilter(started_before=datetime.fromtimestamp(T0 + 30, UTC)), {"a", "b"}),
        (
            FlowRunFilter(
                started_after=datetime.fromtimestamp(T0 + 11, UTC),
                started_before=datetime.fromtimestamp(T0 + 40, UTC),
            ),
            {"b", "d"},
        ),
        (FlowRunFilter(flow_names=["etl"], states=["FAILED", "RUNNING"], tags=["prod"]), {"b"}),
    ],
)
def test_filters(store: SqlStore, runs, filter: FlowRunFilter, expected: set[str]) -> None:
    if filter.parent_flow_run_id == "__a__":
        filter = dataclasses.replace(filter, parent_flow_run_id=runs["a"].id)
    assert set(names(store, filter)) == expected
    assert store.count_flow_runs(filter) == len(expected)


def test_filter_by_ids(store: SqlStore, runs) -> None:
    wanted = FlowRunFilter(ids=[runs["b"].id, runs["e"].id, "missing"])
    assert names(store, wanted) == ["e", "b"]
    assert store.count_flow_runs() == 5


def test_time_filters_accept_other_zones_and_naive_utc(store: SqlStore, runs) -> None:
    utc = datetime.fromtimestamp(T0 + 30, UTC)
    plus_two = utc.astimezone(timezone(timedelta(hours=2)))
    naive = utc.replace(tzinfo=None)
    for bound in (plus_two, naive):
        assert set(names(store, FlowRunFilter(started_after=bound))) == {"b", "d", "e"}
    with pytest.raises(TypeError, match="started_after must be a datetime"):
        store.read_flow_runs(FlowRunFilter(started_after=T0))  # type: ignore[arg-type]


# -- task runs, timelines, logs, edges -------------------------------------------------------
def test_task_runs_come_back_in_creation_order(store: SqlStore) -> None:
    run = make_flow_run()
    other = make_flow_run()
    # Same creation time for the last three: the order they were written decides.
    tasks = [make_task_run(run.id, f"t-{i}", created=T0 + min(i, 2)) for i in range(5)]
    reordered = [tasks[1], tasks[0], *tasks[2:]]
    stray = make_task_run(other.id, "other-0", created=T0 - 100)
    store.write(
        Batch(
            flow_runs={run.id: run, other.id: other},
            task_runs={t.id: t for t in [*reordered, stray]},
        )
    )
    assert [t.task_key for t in store.read_task_runs(run.id)] == [f"t-{i}" for i in range(5)]
    assert [t.task_key for t in store.read_task_runs(other.id)] == ["other-0"]


def test_timeline_is_oldest_first_and_keeps_write_order_on_equal_times(store: SqlStore) -> None:
    run = make_flow_run()
    task = make_task_run(run.id)
    store.write(
        Batch(
            flow_runs={run.id: run},
            task_runs={task.id: task},
            states=[
                make_state(run.id, "Running", T0 + 2),
                make_state(run.id, "Pending", T0 + 1),
                make_state(task.id, "Pending", T0 + 3, is_task=True),
                make_state(task.id, "Running", T0 + 3, is_task=True),
                make_state(task.id, "Completed", T0 + 3, is_task=True),
            ],
        )
    )
    store.write(Batch(states=[make_state(run.id, "Completed", T0 + 4)]))
    flow_timeline = store.read_states(run.id)
    assert [(s.name, s.ts, s.is_task) for s in flow_timeline] == [
        ("Pending", T0 + 1, False),
        ("Running", T0 + 2, False),
        ("Completed", T0 + 4, False),
    ]
    assert flow_timeline[0].type is StateType.PENDING
    assert flow_timeline[0].message == "Pending message"
    task_timeline = store.read_states(task.id)
    assert [s.name for s in task_timeline] == ["Pending", "Running", "Completed"]
    assert all(s.is_task for s in task_timeline)


def test_logs_filter_by_task_and_level_oldest_first(store: SqlStore) -> None:
    run = make_flow_run()
    other = make_flow_run()
    t1, t2 = make_task_run(run.id, "a-0"), make_task_run(run.id, "b-0")
    logs = [
        make_log(run.id, None, 20, T0 + 5),
        make_log(run.id, t1.id, 10, T0 + 1),
        make_log(run.id, t1.id, 40, T0 + 2),
        make_log(run.id, t2.id, 30, T0 + 3),
        make_log(run.id, t2.id, 20, T0 + 3),  # same time: kept in write order
        make_log(other.id, None, 50, T0),
    ]
    store.write(
        Batch(flow_runs={run.id: run, other.id: other}, task_runs={t1.id: t1, t2.id: t2}, logs=logs)
    )

    def levels(**kw) -> list[int]:
        return [r.level for r in store.read_logs(run.id, **kw)]

    assert levels() == [10, 40, 30, 20, 20]
    assert levels(min_level=30) == [40, 30]
    assert levels(task_run_id=t1.id) == [10, 40]
    assert levels(task_run_id=t2.id, min_level=25) == [30]
    assert levels(limit=2) == [10, 40]
    assert levels(limit=2, offset=3) == [20, 20]
    got = store.read_logs(run.id, task_run_id=t1.id)[0]
    assert (got.message, got.flow_run_id, got.task_run_id) == (logs[1].message, run.id, t1.id)
    assert isinstance(got.id, int)  # assigned by the store
    assert (got.logger, got.message, got.ts) == ("mainspring.test", logs[1].message, T0 + 1)


def test_edges_are_read_per_flow_run_without_duplicates(store: SqlStore) -> None:
    run, other = make_flow_run(), make_flow_run()
    a, b, c = (make_task_run(run.id, f"t-{i}") for i in range(3))
    edges = [
        TaskRunEdge(run.id, c.id, a.id, "data"),
        TaskRunEdge(run.id, c.id, b.id, "wait"),
        TaskRunEdge(run.id, c.id, a.id, "wait"),  # same pair, other kind: a separate edge
        TaskRunEdge(run.id, c.id, a.id, "data"),  # duplicate: ignored
        TaskRunEdge(other.id, "x" * 36, "y" * 36),
    ]
    store.write(
        Batch(
            flow_runs={run.id: run, other.id: other},
            task_runs={t.id: t for t in (a, b, c)},
            edges=edges,
        )
    )
    store.write(Batch(edges=edges[:2]))
    got = {(e.task_run_id, e.upstream_id, e.kind) for e in store.read_edges(run.id)}
    assert got == {(c.id, a.id, "data"), (c.id, b.id, "wait"), (c.id, a.id, "wait")}
    assert len(store.read_edges(run.id)) == 3
    assert all(e.flow_run_id == run.id for e in store.read_edges(run.id))


# -- threads -----------------------------------------------------------------------------------
def test_concurrent_threads_share_one_store(store: SqlStore) -> None:
    run = make_flow_run()
    write_runs(store, run)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                t = make_task_run(run.id, f"t{n}-{i}")
                store.write(Batch(task_runs={t.id: t}, logs=[make_log(run.id, t.id, 20, T0 + i)]))
                store.read_task_runs(run.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.read_task_runs(run.id)) == 60
    assert len(store.read_logs(run.id)) == 60


def test_the_recorder_writes_an_in_process_store_at_its_interval(store: SqlStore) -> None:
    """Writes in the flow's own process share its GIL: batched per interval (or flush), not
    sent as soon as EAGER_BATCH changes wait as they are to a server."""
    from mainspring.store.recorder import EAGER_BATCH, Recorder

    recorder = Recorder(lambda: store, interval=60)
    run = make_flow_run("lazy")
    recorder.flow_run(run)
    assert recorder.flush(timeout=30)  # the store is open
    for i in range(EAGER_BATCH + 50):
        recorder.log(run.id, None, 20, "l", f"line {i}", T0 + i)
    time.sleep(0.5)
    assert store.read_logs(run.id) == []
    assert recorder.flush(timeout=30)
    assert len(store.read_logs(run.id)) == EAGER_BATCH + 50
    recorder.close()


def test_the_sql_path_loads_no_http_code(tmp_path) -> None:
    code = (
        "import sys\n"
        "from mainspring.store.base import Batch\n"
        "from mainspring.store.sql import SqlStore\n"
        "from pathlib import Path\n"
        "from mainspring.model import FlowRun, State, StateType\n"
        f"store = SqlStore('sqlite:///{tmp_path / 'db.sqlite'}')\n"
        "state = State(StateType.RUNNING, ts=1.0)\n"
        "run = FlowRun(id='r1', name='r', flow_name='etl', state=state, created=1.0,\n"
        "              parameters={'path': Path('/x')})\n"
        "store.write(Batch(flow_runs={run.id: run}))\n"
        "assert store.read_flow_run(run.id).parameters == {'path': '/x'}\n"
        "print(sorted(m for m in sys.modules if m.startswith('mainspring.store.http')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
