"""`mainspring flow-run cancel` through a server's API (MAINSPRING_API_URL, MAINSPRING_API_KEY).

A real flow process records either into the server's SQLite file (learning of the cancel from
that database's heartbeat answers) or through the server's API (ApiStore: the answers of
`POST /flow_runs/heartbeat`); a real `mainspring server start` serves it, and the real command,
pointed at the server, cancels it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mainspring.model import FlowRun, StateType
from mainspring.store.sql import SqlStore

from .conftest import Server, cli, server_env, start_server, stop_server

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "cancellable_flow.py"
FAST = {"MAINSPRING_HEARTBEAT_INTERVAL": "0.2"}


@pytest.fixture
def keyed_server(server_home: Path) -> tuple[Server, str]:
    env = {**server_env(server_home), **FAST}
    created = cli(env, "api-key", "create", "ci")
    assert created.returncode == 0, created.stderr
    running = start_server(env)
    try:
        yield running, created.stdout.strip()
    finally:
        stop_server(running.process)


def remote(server: Server, key: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in server.env.items() if k != "MAINSPRING_HOME"}
    env["MAINSPRING_HOME"] = str(Path(server.env["MAINSPRING_HOME"]).parent / "client-home")
    env["MAINSPRING_API_URL"] = server.url
    if key:
        env["MAINSPRING_API_KEY"] = key
    return cli(env, *args)


def running_run(store: SqlStore) -> FlowRun:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        runs = store.read_flow_runs()
        if runs and runs[0].state.type is StateType.RUNNING:
            return runs[0]
        time.sleep(0.02)
    raise AssertionError("the flow run was not recorded Running")


@pytest.mark.parametrize("records", ["into its database", "through the API"])
def test_cancel_through_the_server_stops_the_flow(
    keyed_server, server_home, tmp_path, records: str
):
    server, key = keyed_server
    side = tmp_path / "side.txt"
    env = {**server.env, "PYTHONUNBUFFERED": "1"}
    if records == "through the API":  # its heartbeats, too, ask the server (ApiStore)
        env.update(
            MAINSPRING_HOME=str(tmp_path / "flow-home"),
            MAINSPRING_API_URL=server.url,
            MAINSPRING_API_KEY=key,
        )
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(side)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = SqlStore(f"sqlite:///{server_home / 'mainspring.db'}")
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
        run = running_run(store)

        refused = remote(server, None, "flow-run", "cancel", run.id)
        assert refused.returncode == 1
        assert "the server answered 401" in refused.stderr

        started = time.monotonic()
        done = remote(server, key, "flow-run", "cancel", run.id)
        assert done.returncode == 0, done.stderr
        assert f"Flow run {run.id} is Cancelling" in done.stdout
        _, stderr = proc.communicate(timeout=30)
        assert time.monotonic() - started < 10
        assert proc.returncode == 0, stderr

        noted = side.read_text().split()
        assert "after" not in noted and "blocking-finished" not in noted
        assert noted[-2:] == ["hook:Cancelled", "final:Cancelled"]
        assert store.read_flow_run(run.id).state.type is StateType.CANCELLED
        timeline = [s.name for s in store.read_states(run.id)]
        assert timeline == ["Pending", "Running", "Cancelling", "Cancelled"]

        again = remote(server, key, "flow-run", "cancel", run.id)
        assert again.returncode == 1
        assert "has already finished (Cancelled); nothing to cancel." in again.stderr
        unknown = remote(server, key, "flow-run", "cancel", "00000000-0000-4000-8000-000000000000")
        assert unknown.returncode == 1
        assert "No flow run with id '00000000-0000-4000-8000-000000000000'" in unknown.stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        store.close()


def test_cancel_says_when_the_server_cannot_be_reached(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    url = "http://ops:s3cret@127.0.0.1:9/api"  # credentials in the URL are never printed
    env.update(MAINSPRING_HOME=str(tmp_path), MAINSPRING_API_URL=url)
    result = cli(env, "flow-run", "cancel", "00000000-0000-4000-8000-000000000000")
    assert result.returncode == 1
    # the message every command gives for an unreachable server (ApiStore's)
    down = "Could not reach the Mainspring server at http://ops:***@127.0.0.1:9/api"
    assert down in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    odd = cli(env, "flow-run", "cancel", "../flows")  # not an id: refused before any request
    assert odd.returncode == 1 and "No flow run with id '../flows'" in odd.stderr
