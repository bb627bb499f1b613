"""A server killed with SIGKILL mid-flow and started again on the same port, over SQLite and
PostgreSQL: the flow recording into it (MAINSPRING_API_URL) goes on, finishes, and the
restarted server has the whole run, every task run Completed, each log line once."""

from __future__ import annotations

import signal
import sys
import textwrap
import time
from collections import Counter

import httpx
import pytest

from mainspring.store.sql import SqlStore
from server.conftest import server_env, start_server, stop_server  # tests/server: a sibling

from .support import read_ledger, spawn, subprocess_env, wait_for

pytestmark = pytest.mark.slow

TASKS = 80
FLOW = textwrap.dedent(
    """
    import os, sys, time
    from mainspring import flow, get_run_logger, task

    LEDGER = os.environ["LEDGER_FILE"]

    @task
    def step(i: int) -> int:
        get_run_logger().info("line %d", i)
        time.sleep(0.04)
        with open(LEDGER, "a") as f:
            f.write(f"{i}\\n")
        return i

    @flow(name="through-a-kill")
    def steps(n: int) -> int:
        return sum(step(i) for i in range(n))

    if __name__ == "__main__":
        print(steps(int(sys.argv[1])), flush=True)
    """
)


def completed_task_runs(http: httpx.Client, flow_run_id: str) -> int:
    try:
        answer = http.get(f"/flow_runs/{flow_run_id}/task_runs")
    except httpx.TransportError:
        return 0
    if answer.status_code != 200:
        return 0
    return sum(t["state"]["type"] == "COMPLETED" for t in answer.json())


def test_a_server_killed_mid_flow_comes_back_with_the_whole_run(
    tmp_path, database_url, chaos_figures
):
    script, ledger = tmp_path / "steps.py", tmp_path / "ledger.txt"
    script.write_text(FLOW)
    home = tmp_path / "server-home"
    home.mkdir()
    env = server_env(home, database_url)
    server = start_server(env)
    port = int(server.url.rsplit(":", 1)[1].split("/")[0])
    client_env = {
        **subprocess_env(tmp_path / "client-home"),
        "MAINSPRING_API_URL": server.url,
        "LEDGER_FILE": str(ledger),
    }
    flow = spawn([sys.executable, str(script), str(TASKS)], client_env)
    try:
        with server.client() as http:  # wait until the run is being recorded
            wait_for(lambda: http.get("/flow_runs").json()["count"] > 0, 30, "the run", 0.05)
            (run,) = http.get("/flow_runs").json()["items"]
        wait_for(lambda: len(read_ledger(ledger)) >= TASKS // 4, 30, "a quarter of the tasks")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(30)
        done_at_kill = len(read_ledger(ledger))
        killed = time.monotonic()
        time.sleep(1.0)
        assert flow.poll() is None, "the flow ended before the server came back"
        server = start_server(env, port=port)
        back = time.monotonic()
        with server.client() as http:  # the flow's backlog reaches the new server
            wait_for(
                lambda: completed_task_runs(http, run["id"]) >= done_at_kill,
                60,
                "the tasks done while the server was away",
                0.02,
            )
        caught_up = time.monotonic()
        out, err = flow.communicate(timeout=90)
        assert flow.returncode == 0, err[-3000:]
        assert out.strip() == str(sum(range(TASKS)))
    finally:
        if flow.poll() is None:
            flow.kill()
            flow.communicate()
        stop_server(server.process)

    store = SqlStore(database_url)
    try:
        (stored,) = store.read_flow_runs()
        assert stored.id == run["id"]
        assert stored.state.name == "Completed"
        assert [s.name for s in store.read_states(stored.id)] == ["Pending", "Running", "Completed"]
        tasks = store.read_task_runs(stored.id)
        assert sorted(t.task_key for t in tasks) == sorted(f"step-{i}" for i in range(TASKS))
        assert all(t.state.name == "Completed" for t in tasks)
        lines = Counter(r.message for r in store.read_logs(stored.id) if r.message[:5] == "line ")
        assert lines == Counter(f"line {i}" for i in range(TASKS))
    finally:
        store.close()
    dialect = database_url.split(":", 1)[0].split("+")[0]
    chaos_figures(
        f"{dialect}: server down {back - killed:.2f} s (restart included); backlog of "
        f"{done_at_kill} tasks stored {caught_up - back:.2f} s after the restart"
    )
