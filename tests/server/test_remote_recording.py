"""Flows recording into a real server (MAINSPRING_API_URL): the same history as the embedded
store, nothing lost or doubled when the server restarts in the middle of a flow."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mainspring.model import FlowRunFilter
from mainspring.store.base import Store
from mainspring.store.sql import SqlStore

from .conftest import server_env, start_server, stop_server

pytestmark = pytest.mark.slow

FLOW = textwrap.dedent(
    """
    from mainspring import flow, get_run_logger, task

    @task
    def double(x: int) -> int:
        get_run_logger().info("doubling %s", x)
        return 2 * x

    @task(retries=1, retry_delay_seconds=0)
    def flaky(x: int) -> int:
        get_run_logger().warning("flaky %s", x)
        raise ValueError(f"boom {x}")

    @flow
    def child(n: int) -> int:
        return sum(double.map(range(n)).result())

    @flow(log_prints=True)
    def parent(n: int) -> int:
        first = double.submit(n)
        total = child(n) + double(first)
        print("total", total)
        flaky(1, return_state=True)
        return total

    @flow
    def failing() -> None:
        double(7)
        raise RuntimeError("flow failed on purpose")

    if __name__ == "__main__":
        parent(3)
        try:
            failing()
        except RuntimeError:
            pass
    """
)


def run_script(script: Path, env: dict[str, str], timeout: float = 90) -> str:
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def history(store: Store) -> dict[str, Any]:
    """Everything recorded, with what differs between two runs of one program (ids, run names,
    times) replaced by names that do not: task keys and flow names."""
    runs = store.read_flow_runs(FlowRunFilter(), limit=1000)
    names = {r.id: r.flow_name for r in runs}
    run_names = {r.name: f"<{r.flow_name} run>" for r in runs}
    result: dict[str, Any] = {}
    for run in runs:
        tasks = store.read_task_runs(run.id)
        keys = {t.id: t.task_key for t in tasks}
        swap = {**run_names, **{t.name: t.task_key for t in tasks}}

        def clean(message: str, swap: dict[str, str] = swap) -> str:
            for old, new in swap.items():
                message = message.replace(old, new)
            return message

        result[run.flow_name] = {
            "run": (run.state.name, run.run_count, run.parameters, run.tags),
            "parent": names.get(run.parent_flow_run_id or ""),
            "parent task": keys.get(run.parent_task_run_id or "")
            or (run.parent_task_run_id is not None),
            "timeline": [(s.name, s.message) for s in store.read_states(run.id)],
            "tasks": {
                t.task_key: (
                    t.task_name,
                    t.state.name,
                    t.state.message,
                    t.run_count,
                    [s.name for s in store.read_states(t.id)],
                )
                for t in tasks
            },
            "logs": sorted(
                (r.level, r.logger, keys.get(r.task_run_id or ""), clean(r.message))
                for r in store.read_logs(run.id)
            ),
            "edges": sorted(
                (keys.get(e.task_run_id), keys.get(e.upstream_id), e.kind)
                for e in store.read_edges(run.id)
            ),
        }
    return result


def test_a_flow_records_into_the_server_what_it_records_embedded(tmp_path, server_home, store_url):
    script = tmp_path / "flows.py"
    script.write_text(FLOW)
    embedded_home = tmp_path / "embedded"
    run_script(script, server_env(embedded_home))
    embedded = SqlStore(f"sqlite:///{embedded_home / 'mainspring.db'}")

    server = start_server(server_env(server_home, store_url))  # on SQLite or PostgreSQL
    try:
        client_env = server_env(tmp_path / "client-home")
        client_env["MAINSPRING_API_URL"] = server.url
        run_script(script, client_env)
        served = SqlStore(store_url)
        expected = history(embedded)
        assert set(expected) == {"parent", "child", "failing"}
        assert expected["failing"]["run"][0] == "Failed"
        assert expected["parent"]["tasks"]["flaky-0"][1:4] == (
            "Failed",
            "Task run encountered an exception ValueError: boom 1",
            2,
        )
        assert history(served) == expected
        from mainspring.store.http.store import ApiStore

        assert history(ApiStore(server.url)) == expected  # and read back through the API
        assert not (tmp_path / "client-home" / "mainspring.db").exists()  # nothing local
    finally:
        stop_server(server.process)


SLOW_FLOW = textwrap.dedent(
    """
    import sys, time
    from mainspring import flow, get_run_logger, task

    @task
    def step(i: int) -> int:
        get_run_logger().info("line %d", i)
        time.sleep(0.05)
        return i

    @flow(name="through-a-restart")
    def steps(n: int) -> int:
        total = 0
        for i in range(n):
            total += step(i)
        return total

    if __name__ == "__main__":
        print(steps(int(sys.argv[1])))
    """
)


def test_nothing_is_lost_or_doubled_when_the_server_restarts_mid_flow(
    tmp_path, server_home, store_url
):
    script = tmp_path / "steps.py"
    script.write_text(SLOW_FLOW)
    env = server_env(server_home, store_url)
    server = start_server(env)
    client_env = server_env(tmp_path / "client-home")
    client_env["MAINSPRING_API_URL"] = server.url
    n = 60  # ~3 s of tasks; the server is away for about 1.5 s of them
    flow = subprocess.Popen(
        [sys.executable, str(script), str(n)],
        env=client_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with server.client() as http:  # wait until the run is being recorded
            deadline = time.monotonic() + 30
            while not http.get("/flow_runs").json()["count"]:
                assert time.monotonic() < deadline and flow.poll() is None
                time.sleep(0.05)
        stop_server(server.process)
        time.sleep(1.5)
        assert flow.poll() is None, "the flow ended before the server came back"
        server = start_server(env, port=int(server.url.split(":")[2].split("/")[0]))
        out, err = flow.communicate(timeout=90)
        assert flow.returncode == 0, err
        assert out.strip() == str(sum(range(n)))
        assert "could not record run history" in err and "retrying" in err
    finally:
        if flow.poll() is None:
            flow.kill()
        stop_server(server.process)

    store = SqlStore(store_url)
    (run,) = store.read_flow_runs()
    assert run.state.name == "Completed"
    assert [s.name for s in store.read_states(run.id)] == ["Pending", "Running", "Completed"]
    tasks = store.read_task_runs(run.id)
    assert len(tasks) == n
    for task in tasks:
        assert [s.name for s in store.read_states(task.id)] == ["Pending", "Running", "Completed"]
    lines = Counter(r.message for r in store.read_logs(run.id) if r.message.startswith("line "))
    assert lines == Counter(f"line {i}" for i in range(n))  # each exactly once
