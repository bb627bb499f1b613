"""ApiStore against a real `mainspring server start` process: every Store method returns what
SqlStore returns on the server's own database (SQLite and PostgreSQL), batches are stored once
however often they are retried, and API keys are sent and their refusals explained."""

from __future__ import annotations

import dataclasses
import json
import os
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mainspring.exceptions import ObjectNotFound, StoreError, StoreRejected
from mainspring.model import (
    FlowRecord,
    FlowRun,
    FlowRunFilter,
    FlowRunSort,
    LogRecord,
    State,
    StateRecord,
    StateType,
    TaskRun,
    TaskRunEdge,
    new_id,
)
from mainspring.store.base import Batch
from mainspring.store.http import wire
from mainspring.store.http.store import ApiStore
from mainspring.store.recorder import EAGER_BATCH, Recorder
from mainspring.store.results.storage import NotPersisted, ResultRef
from mainspring.store.sql import SqlStore

from .conftest import Server, cli, free_port, server_env, start_server, stop_server

pytestmark = pytest.mark.slow

T0 = 1_700_000_000.0


def plain(value: Any) -> Any:
    """Records as comparable data (runs compare by identity, states hold no dataclass), times
    at the API's resolution: a microsecond. Times the client sent arrive exactly; those the
    server makes itself (a new flow's `created`, heartbeats) read back rounded to it."""
    if isinstance(value, float):
        return wire.iso(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, State):
        return ("State", value.type, value.name, value.message, value.ts, plain(value.data))
    if isinstance(value, ResultRef | NotPersisted):  # a persisted result's address, or none
        return (type(value).__name__, value.to_json())
    if isinstance(value, FlowRun | TaskRun | FlowRecord | TaskRunEdge):
        fields = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return (type(value).__name__, fields)
    return value


@pytest.fixture
def served(store_url: str, server_home: Path) -> Iterator[tuple[Server, ApiStore, SqlStore]]:
    """A real server on `store_url` (SQLite or PostgreSQL), an ApiStore on it, and a SqlStore
    on the same database to compare with."""
    running = start_server(server_env(server_home, store_url))
    api, sql = ApiStore(running.url), SqlStore(store_url)
    try:
        yield running, api, sql
    finally:
        api.close()
        sql.close()
        stop_server(running.process)


def _history() -> tuple[Batch, dict[str, Any]]:
    """A batch with every kind of record and field, and the ids a test needs."""
    parent = FlowRun(
        id=new_id(),
        name="brave-otter",
        flow_name="etl",
        state=State(StateType.FAILED, "TimedOut", "took too long", ts=T0 + 9.123456),
        parameters={"day": "mon", "nested": {"n": [1, 2.5, None]}},
        tags=["nightly", "prod"],
        flow_version="abc",
        deployment_id=new_id(),
        created=T0,
        start_time=T0 + 0.5,
        end_time=T0 + 9.123456,
        run_count=2,
        heartbeat=T0 + 8.000001,
        host="worker-7",
        pid=4242,
        process_start=T0 - 60.25,
        entrypoint="etl.flows:nightly",
    )
    task = TaskRun(
        id=new_id(),
        name="extract-0",
        task_name="extract",
        task_key="extract-0",
        state=State(StateType.COMPLETED, "Cached", ts=T0 + 2),
        flow_run_id=parent.id,
        dynamic_key="0",
        tags=["io"],
        cache_key="k1",
        created=T0 + 1,
        start_time=T0 + 1.5,
        end_time=T0 + 2,
        run_count=1,
    )
    ref = ResultRef("s3://results/prefix", "flow-runs/x/tasks/extract-0", "json")
    task.state.data = ref  # a persisted result: its address travels with the state
    load = TaskRun(
        new_id(), "load-0", "load", "load-0", State(StateType.RUNNING, ts=T0 + 3), parent.id
    )
    child = FlowRun(
        id=new_id(),
        name="calm-heron",
        flow_name="child",
        state=State(StateType.RUNNING, ts=T0 + 4),
        parent_flow_run_id=parent.id,
        parent_task_run_id=task.id,
        subflow_key="child-0",
        created=T0 + 4,
        start_time=T0 + 4,
    )
    many = [
        FlowRun(new_id(), f"bulk-{i:04d}", "bulk", State(StateType.COMPLETED, ts=T0 + 10 + i))
        for i in range(1005)
    ]
    for run in many:
        run.created = run.start_time = run.state.ts
    states = [
        StateRecord(parent.id, False, StateType.PENDING, "Pending", None, T0),
        StateRecord(parent.id, False, StateType.RUNNING, "Running", None, T0 + 0.5),
        StateRecord(parent.id, False, StateType.FAILED, "TimedOut", "took too long", T0 + 9),
        StateRecord(task.id, True, StateType.PENDING, "Pending", None, T0 + 1),
        StateRecord(task.id, True, StateType.RUNNING, "Running", None, T0 + 1),  # same instant
        StateRecord(task.id, True, StateType.COMPLETED, "Cached", None, T0 + 2, None, ref),
    ]
    logs = [
        LogRecord(parent.id, None, 20, "mainspring.flow", "starting", T0 + 0.6),
        LogRecord(parent.id, task.id, 10, "mainspring.task", "detail", T0 + 1.2),
        LogRecord(parent.id, task.id, 30, "mainspring.task", "odd\x00value ünï", T0 + 1.3),
        LogRecord(parent.id, load.id, 40, "mainspring.task", "failed", T0 + 3.1),
    ]
    edges = [
        TaskRunEdge(parent.id, load.id, task.id, "data"),
        TaskRunEdge(parent.id, load.id, new_id(), "wait"),
    ]
    batch = Batch(
        flows={"etl": FlowRecord("etl", description="Extracts.", created=T0)},
        flow_runs={r.id: r for r in (parent, child, *many)},
        task_runs={task.id: task, load.id: load},
        states=states,
        logs=logs,
        edges=edges,
    )
    return batch, {"parent": parent.id, "child": child.id, "task": task.id, "load": load.id}


def test_every_read_returns_what_sql_store_returns(served) -> None:
    _server, api, sql = served
    batch, ids = _history()
    assert api.write(batch) is True
    parent, task = ids["parent"], ids["task"]

    assert plain(api.read_flows()) == plain(sql.read_flows())
    assert [f.name for f in api.read_flows()] == ["bulk", "child", "etl"]
    assert plain(api.read_flow_run(parent)) == plain(sql.read_flow_run(parent))
    got = api.read_flow_run(parent)
    assert got.parameters == {"day": "mon", "nested": {"n": [1, 2.5, None]}}
    assert (got.state.name, got.state.ts, got.heartbeat) == (
        "TimedOut",
        T0 + 9.123456,
        T0 + 8.000001,
    )

    after = datetime.fromtimestamp(T0 + 500, UTC)
    filters = [
        None,
        FlowRunFilter(flow_names=["etl", "child"]),
        FlowRunFilter(states=["failed", "Running"]),
        FlowRunFilter(states=["TimedOut"]),
        FlowRunFilter(tags=["nightly", "prod"]),
        FlowRunFilter(ids=[parent, ids["child"], "not an id"]),
        FlowRunFilter(ids=["not an id"]),
        FlowRunFilter(parent_flow_run_id=parent),
        FlowRunFilter(started_after=after, started_before=after + timedelta(seconds=100)),
        FlowRunFilter(started_after=after.replace(tzinfo=None)),  # naive = UTC
    ]
    for f in filters:
        for sort in FlowRunSort:
            expected = sql.read_flow_runs(f, sort, limit=2000)
            assert plain(api.read_flow_runs(f, sort, limit=2000)) == plain(expected), (f, sort)
        assert api.count_flow_runs(f) == sql.count_flow_runs(f), f
    assert len(api.read_flow_runs(limit=2000)) == 1007  # more than one page of the server's
    page = api.read_flow_runs(sort=FlowRunSort.NAME_ASC, limit=3, offset=1001)
    assert plain(page) == plain(sql.read_flow_runs(sort=FlowRunSort.NAME_ASC, limit=3, offset=1001))
    assert api.read_flow_runs(limit=0) == []

    assert plain(api.read_task_run(task)) == plain(sql.read_task_run(task))
    assert plain(api.read_task_runs(parent)) == plain(sql.read_task_runs(parent))
    for run_id in (parent, task, ids["child"]):
        assert plain(api.read_states(run_id)) == plain(sql.read_states(run_id))
    assert [s.name for s in api.read_states(task)] == ["Pending", "Running", "Cached"]
    # Persisted results keep their address; a completed state without one says so.
    ref = api.read_task_run(task).state.data
    assert type(ref) is ResultRef and ref.to_json() == {
        "storage": "s3://results/prefix",
        "key": "flow-runs/x/tasks/extract-0",
        "serializer": "json",
    }
    assert api.read_states(task)[-1].result.to_json() == ref.to_json()
    assert type(api.read_flow_runs(FlowRunFilter(flow_names=["bulk"]))[0].state.data) is (
        NotPersisted
    )
    assert api.read_flow_run(ids["child"]).subflow_key == "child-0"
    assert (got.host, got.pid, got.process_start, got.entrypoint) == (
        "worker-7",
        4242,
        T0 - 60.25,
        "etl.flows:nightly",
    )  # the process that ran it, and where its flow is: what liveness and retry read
    for args in [(), (task,), (None, 30), (None, 0, 2, 1), (ids["load"], 40)]:
        assert plain(api.read_logs(parent, *args)) == plain(sql.read_logs(parent, *args)), args
    assert api.read_logs(parent, task, 30)[0].message == "odd\ufffdvalue ünï"  # NUL replaced
    assert plain(api.read_edges(parent)) == plain(sql.read_edges(parent))
    assert len(api.read_edges(parent)) == 2

    # Unknown ids behave as in SqlStore: not found, or nothing.
    for bad in (new_id(), "not an id", "../flows"):
        with pytest.raises(ObjectNotFound):
            api.read_flow_run(bad)
        with pytest.raises(ObjectNotFound):
            api.read_task_run(bad)
        assert api.read_task_runs(bad) == sql.read_task_runs(bad) == []
        assert api.read_states(bad) == sql.read_states(bad) == []
        assert api.read_logs(bad) == sql.read_logs(bad) == []
        assert api.read_edges(bad) == sql.read_edges(bad) == []
    with pytest.raises(ValueError, match="Unknown state 'nope'"):
        api.read_flow_runs(FlowRunFilter(states=["nope"]))
    with pytest.raises(ValueError, match="limit"):
        api.read_flow_runs(limit=-1)

    # heartbeat: the running child gets the server's time, the finished parent is left alone.
    states = api.heartbeat([ids["child"], parent, new_id(), "not an id", ids["child"]])
    assert states == {ids["child"]: StateType.RUNNING, parent: StateType.FAILED}
    assert sql.read_flow_run(ids["child"]).heartbeat is not None
    assert sql.read_flow_run(parent).heartbeat == T0 + 8.000001
    assert api.heartbeat([]) == {}


def test_a_batch_is_stored_once_however_often_it_is_sent(served, monkeypatch) -> None:
    server, api, sql = served
    run = FlowRun(new_id(), "r", "once", State(StateType.RUNNING, ts=T0), created=T0)
    state = StateRecord(run.id, False, StateType.RUNNING, "Running", None, T0)
    line = LogRecord(run.id, None, 20, "l", "only once", T0)
    batch = Batch(flow_runs={run.id: run}, states=[state], logs=[line])
    assert api.write(batch) is True
    assert batch.id is not None  # given on the first attempt, kept for the retries
    assert api.write(batch) is False
    assert len(sql.read_states(run.id)) == len(sql.read_logs(run.id)) == 1
    # A different batch with the same content is a new batch: stored again.
    assert api.write(Batch(states=[state], logs=[line])) is True
    assert len(sql.read_logs(run.id)) == 2

    _large_batches_go_in_parts_each_stored_once(api, sql, monkeypatch)
    _a_retry_after_a_lost_answer_stores_nothing_twice(server, sql)


def _large_batches_go_in_parts_each_stored_once(api, sql, monkeypatch) -> None:
    from mainspring.store.http import store as api_module

    monkeypatch.setattr(api_module, "CHUNK", 7)
    run = FlowRun(new_id(), "r", "parts", State(StateType.RUNNING, ts=T0), created=T0)
    logs = [LogRecord(run.id, None, 20, "l", f"line {i}", T0 + i) for i in range(30)]
    batch = Batch(flows={"parts": FlowRecord("parts", description="d")}, flow_runs={run.id: run})
    batch.logs = logs
    assert api.write(batch) is True
    assert api.write(batch) is False
    assert [r.message for r in sql.read_logs(run.id)] == [f"line {i}" for i in range(30)]
    assert next(f for f in sql.read_flows() if f.name == "parts").description == "d"


class LoseAnswers(httpx.BaseTransport):
    """The network between client and server: delivers each request, but loses the answers to
    the first `POST /batches` requests (as a server restart or a dropped connection would)."""

    def __init__(self, lose: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.lose, self.lost = lose, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/batches") and self.lost < self.lose:
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadError("connection reset (simulated)", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def _a_retry_after_a_lost_answer_stores_nothing_twice(server: Server, sql: SqlStore) -> None:
    # Two lost answers: the store's own quick retry meets the second, so the recorder keeps
    # the batch and sends it again after its backoff; the server has it each time.
    network = LoseAnswers(2)
    recorder = Recorder(lambda: ApiStore(server.url, transport=network), interval=0.01)
    run = FlowRun(new_id(), "r", "lossy", State(StateType.PENDING))
    recorder.flow_run(run)
    run.state = State(StateType.RUNNING)
    recorder.flow_run(run)
    for i in range(5):
        recorder.log(run.id, None, 20, "l", f"line {i}", T0 + i)
    assert recorder.flush(timeout=30)
    recorder.close()
    assert network.lost == 2
    assert recorder.last_error is None  # delivered in the end
    assert [s.name for s in sql.read_states(run.id)] == ["Pending", "Running"]
    assert [r.message for r in sql.read_logs(run.id)] == [f"line {i}" for i in range(5)]


def test_the_recorder_sends_to_a_server_without_waiting_for_its_interval(served) -> None:
    """The server decodes and writes in its own process, so the recorder sends as soon as
    EAGER_BATCH changes wait, overlapping the flow's work; an interval of a minute does not
    hold them back."""
    server, _, sql = served
    recorder = Recorder(lambda: ApiStore(server.url), interval=60)
    run = FlowRun(new_id(), "r", "eager", State(StateType.RUNNING, ts=T0), created=T0)
    recorder.flow_run(run)
    assert recorder.flush(timeout=30)  # opens the store: from now on it is known to be eager
    for i in range(EAGER_BATCH + 50):
        recorder.log(run.id, None, 20, "l", f"line {i}", T0 + i)
    deadline = time.monotonic() + 20
    while len(sql.read_logs(run.id)) < EAGER_BATCH and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sql.read_logs(run.id)) >= EAGER_BATCH  # no flush, the interval far off
    assert recorder.flush(timeout=30)
    recorder.close()
    assert [r.message for r in sql.read_logs(run.id)] == [
        f"line {i}" for i in range(EAGER_BATCH + 50)
    ]


def test_invalid_records_are_refused_alone_and_the_rest_stored(served) -> None:
    """One record the server refuses (a logger name past 255 characters, a task run whose name
    is too long) costs itself: the batch is halved until it stands alone."""
    _, api, sql = served
    run = FlowRun(new_id(), "r", "halved", State(StateType.RUNNING, ts=T0), created=T0)
    bad_task = TaskRun(new_id(), "x" * 300, "t", "t-0", State(StateType.COMPLETED, ts=T0), run.id)
    logs = [LogRecord(run.id, None, 20, "l", f"line {i}", T0 + i) for i in range(100)]
    logs[37] = LogRecord(run.id, None, 20, "l" * 300, "refused", T0)
    batch = Batch(flow_runs={run.id: run}, task_runs={bad_task.id: bad_task}, logs=logs)
    for _attempt in (1, 2):  # a retry of the same batch stores nothing twice
        with pytest.raises(StoreRejected, match="refused 2 of 102 records") as refused:
            api.write(batch)
        assert refused.value.refused == 2 and "logger" in str(refused.value)
        assert [r.message for r in sql.read_logs(run.id)] == [
            f"line {i}" for i in range(100) if i != 37
        ]
    assert sql.read_flow_run(run.id).flow_name == "halved"
    assert sql.read_task_runs(run.id) == []

    recorder = Recorder(lambda: ApiStore(api.url), interval=0.01)
    recorder.log(run.id, None, 20, "l" * 300, "refused too", T0)
    recorder.log(run.id, None, 20, "l", "kept", T0 + 1000)
    assert recorder.flush(timeout=30)
    recorder.close()
    assert recorder.dropped == 1
    assert sql.read_logs(run.id)[-1].message == "kept"
    # the refused record is set aside in the dead-letter file of this process's home
    from mainspring.settings import get_settings
    from mainspring.store.dead_letter import dead_letter_file

    (line,) = dead_letter_file(get_settings().home).read_text().splitlines()
    entry = json.loads(line)
    assert entry["kind"] == "log" and entry["record"]["message"] == "refused too"
    assert "logger" in entry["reason"]


# -- errors ----------------------------------------------------------------------------------
def test_unreachable_server_is_a_store_error_naming_it() -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    store = ApiStore(url)
    with pytest.raises(StoreError, match=rf"Could not reach the Mainspring server at {url}"):
        store.read_flows()
    with pytest.raises(StoreError, match="MAINSPRING_API_URL"):
        store.write(Batch(logs=[LogRecord(None, None, 20, "l", "m", T0)]))
    with pytest.raises(ValueError, match="MAINSPRING_API_URL"):
        ApiStore("127.0.0.1:4200/api")


def test_api_keys_are_sent_and_refusals_say_what_to_do(server_home: Path, monkeypatch) -> None:
    env = server_env(server_home)
    writer = cli(env, "api-key", "create", "writer").stdout.strip()
    reader = cli(env, "api-key", "create", "reader", "--read-only").stdout.strip()
    running = start_server(env)
    batch = Batch(logs=[LogRecord(None, None, 20, "l", "m", T0)])
    try:
        with pytest.raises(StoreRejected, match="requires an API key: set MAINSPRING_API_KEY"):
            ApiStore(running.url, api_key="").read_flows()
        with pytest.raises(StoreRejected, match="does not accept the API key"):
            ApiStore(running.url, api_key="ms_" + "0" * 32 + "_nope").read_flows()
        read_only = ApiStore(running.url, api_key=reader)
        assert read_only.read_flows() == []
        with pytest.raises(StoreRejected, match=r"may only read.*use a write key") as refused:
            read_only.write(batch)
        assert reader not in str(refused.value)
        # MAINSPRING_API_KEY is what open_store's ApiStore sends.
        from mainspring.settings import reset_settings
        from mainspring.store import open_store

        monkeypatch.setenv("MAINSPRING_API_URL", running.url)
        monkeypatch.setenv("MAINSPRING_API_KEY", writer)
        reset_settings()
        store = open_store()
        assert isinstance(store, ApiStore) and writer not in repr(store)
        assert store.write(batch) is True
    finally:
        stop_server(running.process)


def test_a_forked_child_makes_its_own_http_client(
    served: tuple[Server, ApiStore, SqlStore],
) -> None:
    """A child sharing the parent's kept-alive connections would interleave requests on one
    socket; it gets its own client, and the parent's keeps working after the child exits."""
    _, api, sql = served
    first = FlowRun(id=new_id(), name="parent-run", flow_name="etl", state=State(StateType.RUNNING))
    api.write(Batch(flow_runs={first.id: first}))
    second = FlowRun(id=new_id(), name="child-run", flow_name="etl", state=State(StateType.RUNNING))
    pid = os.fork()
    if pid == 0:  # the child: an exit code says how it went (1: an exception, printed)
        code = 1
        try:
            api.write(Batch(flow_runs={second.id: second}))
            code = 0 if api.read_flow_run(first.id).name == "parent-run" else 2
            api.close()
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert api.read_flow_run(second.id).name == "child-run"
    assert sql.count_flow_runs() == 2
