"""A real `mainspring server start` process, a real flow recording into the same database,
clients racing on one run, and the refusals of authentication."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from mainspring.model import new_id

from .conftest import Server, cli, server_env, start_server, stop_server

pytestmark = pytest.mark.slow

FLOW = textwrap.dedent(
    """
    from mainspring import flow, get_run_logger, task

    @task
    def double(x: int) -> int:
        return 2 * x

    @task
    def add(x: int, y: int) -> int:
        get_run_logger().info("adding %s and %s", x, y)
        return x + y

    @flow(name="e2e-server")
    def pipeline(n: int) -> int:
        a = double.submit(n)
        b = double.submit(n + 1)
        return add(a, b)

    if __name__ == "__main__":
        for n in range(3):
            print(pipeline(n))
    """
)


def test_runs_recorded_by_a_real_flow_are_served(server: Server, server_home: Path, tmp_path):
    script = tmp_path / "pipeline.py"
    script.write_text(FLOW)
    done = subprocess.run(
        [sys.executable, str(script)], env=server.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    with server.client() as http:
        page = http.get("/flow_runs", params={"flow_name": "e2e-server", "state": "COMPLETED"})
        assert page.status_code == 200
        body = page.json()
        assert body["count"] == 3
        assert [r["parameters"] for r in body["items"]] == [{"n": 2}, {"n": 1}, {"n": 0}]
        second = http.get("/flow_runs", params={"limit": 1, "offset": 1}).json()
        assert second["items"][0]["id"] == body["items"][1]["id"]
        run_id = body["items"][0]["id"]
        tasks = http.get(f"/flow_runs/{run_id}/task_runs").json()
        assert sorted(t["task_name"] for t in tasks) == ["add", "double", "double"]
        graph = http.get(f"/flow_runs/{run_id}/graph").json()
        add_id = next(t["id"] for t in tasks if t["task_name"] == "add")
        assert {(e["target"], e["kind"]) for e in graph["edges"]} == {(add_id, "data")}
        assert len(graph["edges"]) == 2
        logs = http.get(f"/flow_runs/{run_id}/logs").json()
        assert any("adding 4 and 6" in line["message"] for line in logs)
        timeline = [s["name"] for s in http.get(f"/flow_runs/{run_id}/states").json()]
        assert timeline[-2:] == ["Running", "Completed"]
        assert http.get("/flow_runs", params={"state": "Nope"}).status_code == 422


def _race(server: Server, runs: int = 8) -> None:
    """Threads propose different final states for the same Running run at the same moment."""
    proposals = ["COMPLETED", "FAILED", "CRASHED", "CANCELLED", "COMPLETED", "FAILED"]
    ids = [new_id() for _ in range(runs)]
    flow_runs = [
        {"id": i, "name": f"r{n}", "flow_name": "race", "state": {"type": "RUNNING"}}
        for n, i in enumerate(ids)
    ]
    with server.client() as http:
        assert http.post("/batches", json={"flow_runs": flow_runs}).status_code == 200
    for run_id in ids:
        barrier = threading.Barrier(len(proposals))
        answers: list[dict] = []

        def propose(state: str, run_id: str = run_id, barrier=barrier, answers=answers) -> None:
            with server.client() as http:
                barrier.wait()
                response = http.post(
                    f"/flow_runs/{run_id}/set_state", json={"state": {"type": state}}
                )
                answers.append(response.json())

        threads = [threading.Thread(target=propose, args=(p,)) for p in proposals]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        accepted = [a for a in answers if a["status"] == "ACCEPT"]
        assert len(answers) == len(proposals) and len(accepted) == 1, answers
        with server.client() as http:
            run = http.get(f"/flow_runs/{run_id}").json()
            timeline = http.get(f"/flow_runs/{run_id}/states").json()
        assert run["state"]["type"] == accepted[0]["state"]["type"]
        assert run["end_time"] is not None
        assert [s["type"] for s in timeline] == [accepted[0]["state"]["type"]]


def test_racing_clients_cannot_corrupt_a_run_sqlite(server: Server):
    _race(server)


@pytest.mark.postgres
def test_racing_clients_cannot_corrupt_a_run_postgres(server_home: Path, postgres_database: str):
    running = start_server(server_env(server_home, postgres_database))
    try:
        _race(running)
    finally:
        stop_server(running.process)


def test_api_keys_refusals_on_a_real_server(server_home: Path):
    env = server_env(server_home)
    created = cli(env, "api-key", "create", "writer")
    assert created.returncode == 0, created.stderr
    writer = created.stdout.strip()
    reader = cli(env, "api-key", "create", "reader", "--read-only").stdout.strip()
    assert writer.startswith("ms_") and reader.startswith("ms_")
    listed = cli(env, "api-key", "ls").stdout
    assert "writer" in listed and "read-only" in listed and writer not in listed
    running = start_server(env)
    try:
        with running.client() as anonymous:
            assert anonymous.get("/health").status_code == 200
            assert anonymous.get("/flow_runs").status_code == 401
        with running.client("ms_" + "0" * 32 + "_forged") as forged:
            assert forged.get("/flow_runs").status_code == 401
        with running.client(reader) as http:
            assert http.get("/flow_runs").status_code == 200
            assert http.post("/batches", json={}).status_code == 403
        with running.client(writer) as http:
            assert http.post("/batches", json={}).status_code == 200
    finally:
        output = stop_server(running.process)
    assert "Mainspring server on" in output
    assert writer not in output and reader not in output


def test_a_port_in_use_is_said_plainly_before_anything_is_announced(server_home: Path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        refused = cli(server_env(server_home), "server", "start", "--port", str(port))
    assert refused.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in refused.stderr
    assert "--port" in refused.stderr and "Mainspring server on" not in refused.stderr
    assert "Traceback" not in refused.stderr


def test_port_0_serves_on_the_port_the_system_chose_and_says_which(server_home: Path):
    command = [sys.executable, "-m", "mainspring.cli.main", "server", "start", "--port", "0"]
    process = subprocess.Popen(
        command,
        env=server_env(server_home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stderr.readline()  # type: ignore[union-attr]
        match = re.search(r"http://127\.0\.0\.1:(\d+)/api", line)
        assert match, line
        port = int(match.group(1))
        assert port != 0
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the announced port never answered"
                time.sleep(0.05)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(10)
        process.stderr.close()  # type: ignore[union-attr]


def test_refuses_to_bind_beyond_loopback_without_a_key(server_home: Path):
    env = server_env(server_home)
    refused = cli(env, "server", "start", "--host", "0.0.0.0", "--port", "1")
    assert refused.returncode == 1
    assert "Refusing to serve on 0.0.0.0" in refused.stderr and "--insecure" in refused.stderr
