"""Large batches sent in pipelined parts: stored in order, each once, through a server restart."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from fastapi import HTTPException

from mainspring.model import FlowRun, LogRecord, State, StateRecord, StateType, TaskRun, new_id
from mainspring.server import batch_order
from mainspring.server.api.batches import _write
from mainspring.store import api_send, wire
from mainspring.store.api import ApiStore
from mainspring.store.base import Batch
from mainspring.store.recorder import Recorder
from mainspring.store.sql import SqlStore

from .conftest import Server, server_env, start_server, stop_server

T0 = 1_700_000_000.0


def _body(batch: Batch) -> bytes:
    return wire.dumps(wire.batch_body(batch))


def _run_and_tasks(n: int, t0: float = T0) -> tuple[FlowRun, list[TaskRun]]:
    run = FlowRun(new_id(), "r", "parts", State(StateType.RUNNING, ts=t0), created=t0)
    tasks = []
    for i in range(n):
        task = TaskRun(new_id(), f"t-{i}", "t", f"t-{i}", State(StateType.COMPLETED, ts=t0))
        task.flow_run_id, task.created = run.id, t0
        tasks.append(task)
    return run, tasks


def test_a_part_waits_for_the_part_it_comes_after(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'x.db'}")
    run, (task,) = _run_and_tasks(1)
    first = Batch(flow_runs={run.id: run}, task_runs={task.id: task}, id="b:0")
    state = StateRecord(task.id, True, StateType.COMPLETED, "Completed", None, T0)
    second = Batch(states=[state], id="b:1", after="b:0")
    answers = {}

    def send_second() -> None:
        answers["second"] = _write(store, _body(second))

    overtaking = threading.Thread(target=send_second)
    overtaking.start()  # the second part arrives first...
    time.sleep(0.3)
    assert overtaking.is_alive()  # ...and waits, storing nothing meanwhile
    assert store.read_states(task.id) == []
    assert _write(store, _body(first)).written == 3  # the flow, its run, the task run
    overtaking.join(10)
    assert answers["second"].written == 1
    assert [s.name for s in store.read_states(task.id)] == ["Completed"]
    assert _write(store, _body(second)).duplicate  # and once only
    store.close()


def test_a_part_whose_predecessor_never_comes_is_refused_unstored(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(batch_order, "AFTER_TIMEOUT", 0.2)
    monkeypatch.setattr(batch_order.wait_for, "__defaults__", (0.2,))
    store = SqlStore(f"sqlite:///{tmp_path / 'x.db'}")
    run, _ = _run_and_tasks(0)
    store.write(Batch(flow_runs={run.id: run}))
    line = LogRecord(run.id, None, 20, "l", "after a lost part", T0)
    part = Batch(logs=[line], id="c:1", after="c:0")
    with pytest.raises(HTTPException) as refused:
        _write(store, _body(part))
    assert refused.value.status_code == 409
    assert store.read_logs(run.id) == []
    # Not claimed either: once its predecessor is stored, the same part is stored.
    assert _write(store, _body(Batch(logs=[line], id="c:0"))).written == 1
    assert _write(store, _body(part)).written == 1
    assert len(store.read_logs(run.id)) == 2
    store.close()


class RestartAfter(httpx.BaseTransport):
    """The network, and a server that stops right after storing the `n`-th part it is sent:
    the answer to that part is lost, the parts in flight with it fail."""

    def __init__(self, n: int, stop: threading.Event) -> None:
        self.inner = httpx.HTTPTransport()
        self.n, self.sent, self.stop = n, 0, stop
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batches"):
            with self.lock:
                self.sent += 1
                last = self.sent == self.n
            if self.stop.is_set():
                raise httpx.ConnectError("connection refused (server down)", request=request)
            response = self.inner.handle_request(request)
            if last:
                response.read()
                self.stop.set()  # the test stops the server now
                raise httpx.ReadError("connection reset (simulated)", request=request)
            return response
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.slow
def test_parts_are_stored_in_order_and_once_through_a_server_restart(
    tmp_path: Path, server_home: Path, monkeypatch
) -> None:
    monkeypatch.setattr(api_send, "CHUNK", 50)
    env = server_env(server_home)
    server: Server = start_server(env)
    stopping = threading.Event()
    network = RestartAfter(6, stopping)
    recorder = Recorder(lambda: ApiStore(server.url, transport=network), interval=0.01)
    run, tasks = _run_and_tasks(100, time.time())  # recent: the crash detector leaves it be
    recorder.flow_run(run)
    for i, task in enumerate(tasks):
        recorder.task_run(task)
        recorder.log(run.id, task.id, 20, "l", f"line {i}", T0 + i)
    done = threading.Event()
    threading.Thread(target=lambda: recorder.flush(timeout=90) and done.set()).start()
    try:
        assert stopping.wait(30), "the parts did not reach the server"
        port = int(server.url.split(":")[2].split("/")[0])
        stop_server(server.process)
        stopping.clear()  # the network is back with the server
        time.sleep(0.3)
        server = start_server(env, port=port)
        assert done.wait(90), "the batch was not stored after the restart"
        recorder.close()
    finally:
        stop_server(server.process)
    assert network.sent > 6  # the batch was sent again after the restart
    sql = SqlStore(f"sqlite:///{server_home / 'mainspring.db'}")
    assert [r.message for r in sql.read_logs(run.id)] == [f"line {i}" for i in range(100)]
    stored = sql.read_task_runs(run.id)
    assert sorted(t.id for t in stored) == sorted(t.id for t in tasks)
    for task in tasks:
        assert [s.name for s in sql.read_states(task.id)] == ["Completed"]
    states = Counter(s.run_id for t in tasks for s in sql.read_states(t.id))
    assert set(states.values()) == {1}
    assert [s.name for s in sql.read_states(run.id)] == ["Running"]
    sql.close()
