"""Durable resume through a server: a flow recording into a real server process
(MAINSPRING_API_URL) is SIGKILLed inside a subflow, the server's crash detector marks it
Crashed, and `mainspring flow-run retry` against the same server finishes it, each task having
run exactly once. What makes that work crosses the wire: persisted results' addresses on
states and subflow keys (store/http/wire.py)."""

from __future__ import annotations

import textwrap
import time

import pytest

from engine.support import cli_retry, kill_midway, timeline  # tests/engine: a sibling package
from mainspring.model import StateType
from mainspring.settings import reset_settings
from mainspring.store.http.store import ApiStore
from mainspring.store.results.storage import ResultRef

from .conftest import server_env, start_server, stop_server

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import os, time
    from mainspring import flow, get_run_context, task

    SIDE = os.environ["SIDE_FILE"]

    @task
    def step(i: int) -> int:
        time.sleep(0.03)
        with open(SIDE, "a") as f:
            f.write(f"{i}\\n")
        return i

    @flow(name="rest", persist_result=True)
    def rest(start: int, stop: int) -> int:
        return sum(step(i) for i in range(start, stop))

    @flow(name="remote-hundred", persist_result=True)
    def hundred() -> int:
        print(get_run_context().flow_run.id, flush=True)
        first = sum(step(i) for i in range(40))
        return first + rest(40, 100)

    if __name__ == "__main__":
        hundred()
    """
)
CRASH_FAST = {
    "MAINSPRING_HEARTBEAT_INTERVAL": "0.2",
    "MAINSPRING_SERVER_CRASH_TIMEOUT": "1.5",
    "MAINSPRING_SERVER_CRASH_CHECK_INTERVAL": "0.2",
}


def side_lines(path) -> list[int]:
    return [int(line) for line in path.read_text().splitlines()]


def test_a_killed_remote_run_is_crashed_by_the_server_and_resumed_through_it(
    tmp_path, server_home, store_url, monkeypatch
):
    server = start_server({**server_env(server_home, store_url), **CRASH_FAST})
    client_home = tmp_path / "client-home"  # results live here; the history on the server
    remote = {"MAINSPRING_API_URL": server.url, "MAINSPRING_HOME": str(client_home)}
    api = ApiStore(server.url)
    try:
        flow_run_id, side, env = kill_midway(tmp_path, SCRIPT, 70, {**remote, **CRASH_FAST})
        done_before = side_lines(side)
        assert 70 <= len(done_before) < 100

        deadline = time.monotonic() + 30  # the detector notices the silence
        while not api.read_flow_run(flow_run_id).state.is_crashed():
            assert time.monotonic() < deadline, "the server never marked the run Crashed"
            time.sleep(0.1)
        (child,) = [r for r in api.read_flow_runs() if r.parent_flow_run_id == flow_run_id]
        assert child.subflow_key == "rest-0"
        finished = [t for t in api.read_task_runs(child.id) if t.state.is_completed()]
        assert finished and all(type(t.state.data) is ResultRef for t in finished)

        retried = cli_retry(flow_run_id, env, cwd=tmp_path.parent)
        assert retried.returncode == 0, retried.stderr[-3000:]
        assert f"Flow run {flow_run_id} finished in state Completed" in retried.stdout

        assert sorted(side_lines(side)) == list(range(100))  # each task exactly once
        run = api.read_flow_run(flow_run_id)
        assert run.state.type is StateType.COMPLETED and run.run_count == 2
        # loaded from the address the server kept, in the client's storage: trusted here too
        monkeypatch.setenv("MAINSPRING_RESULT_TRUSTED_LOCATIONS", str(client_home / "results"))
        reset_settings()
        assert run.state.result() == sum(range(100))
        names = timeline(api, flow_run_id)
        assert names[:2] == ["Pending", "Running"]
        assert names[-4:] == ["Crashed", "AwaitingRetry", "Retrying", "Completed"]
        assert "No heartbeat for" in next(
            s.message for s in api.read_states(flow_run_id) if s.name == "Crashed"
        )
        (again,) = [r for r in api.read_flow_runs() if r.parent_flow_run_id == flow_run_id]
        assert again.id == child.id and again.state.type is StateType.COMPLETED  # same subflow
        tasks = api.read_task_runs(flow_run_id) + api.read_task_runs(child.id)
        assert len(tasks) == 100 and all(t.state.is_completed() for t in tasks)
        resumed = [t for t in tasks if (t.state.message or "").startswith("Resumed:")]
        assert len(resumed) == len(done_before)
        assert not (client_home / "mainspring.db").exists()  # nothing went to a local store
    finally:
        api.close()
        stop_server(server.process)
