"""serve(), flow.deploy() and run_deployment() with MAINSPRING_API_URL set, against a real
server: serve() registers its deployment there, the server's scheduler plans the runs, and
serve() claims (a long poll) and runs them, recording into the server; flow.deploy() and
run_deployment() go through the server to a worker of the server."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mainspring import run_deployment
from mainspring.deploy.flow_files import load_flow_file
from mainspring.exceptions import ObjectNotFound
from mainspring.model.deployments import WorkPool
from mainspring.settings import reset_settings
from mainspring.store import get_store, reset_store
from mainspring.store.http import ApiStore

from .conftest import server_env, start_server, stop_server

FLOW = """
from mainspring import flow

@flow
def greet(name: str = "nobody") -> str:
    return f"hello {name}"

if __name__ == "__main__":
    greet.serve("served", interval=1, parameters={"name": "ada"})
"""


def test_serve_runs_its_deployment_through_a_server(tmp_path: Path) -> None:
    server_home = tmp_path / "server-home"
    server_home.mkdir()
    server = start_server(dict(server_env(server_home), MAINSPRING_SERVER_SCHEDULER_INTERVAL="1"))
    script = tmp_path / "served.py"
    script.write_text(textwrap.dedent(FLOW))
    home = tmp_path / "serve-home"
    home.mkdir()
    env = dict(server.env, MAINSPRING_HOME=str(home), MAINSPRING_API_URL=server.url)
    serving = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    api = ApiStore(server.url)
    try:
        deadline = time.time() + 60
        done: list = []
        while time.time() < deadline and len(done) < 3:
            try:
                deployment = api.find_deployment("greet", "served")
                done = api.read_deployment_runs(deployment.id, states=["Completed"])
            except LookupError:
                pass
            time.sleep(0.2)
    finally:
        serving.send_signal(signal.SIGTERM)
        out, _ = serving.communicate(timeout=60)
        api.close()
        stop_server(server.process)
    assert serving.returncode == 0, out
    assert len(done) >= 2, out
    assert "Serving deployment 'greet/served'" in out
    for run in done:
        assert run.run.parameters == {"name": "ada"}
        assert run.claimed_by and run.work_pool_name and run.work_pool_name.startswith("serve-")
        # prefetched or not, no run starts before its time
        assert run.expected_start_time is not None and run.run.start_time is not None
        assert run.run.start_time >= run.expected_start_time, out
    # the prefetch (MAINSPRING_WORKER_PREFETCH_SECONDS, 1.5 s) works through the server too:
    # runs claimed ahead of their time, their forked processes waiting for it
    ahead = [r for r in done if (r.claimed_at or 0) < (r.expected_start_time or 0)]
    assert ahead, [(r.claimed_at, r.expected_start_time) for r in done]
    assert not (home / "mainspring.db").exists()  # nothing recorded locally


def test_deploy_and_run_deployment_from_python_through_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_home = tmp_path / "server-home"
    server_home.mkdir()
    server = start_server(server_env(server_home))
    script = tmp_path / "double.py"
    script.write_text(
        textwrap.dedent(
            """
            from mainspring import flow

            @flow
            def double(x: int) -> int:
                return 2 * x
            """
        )
    )
    monkeypatch.setenv("MAINSPRING_API_URL", server.url)
    reset_settings()
    reset_store()
    home = tmp_path / "worker-home"
    home.mkdir()
    env = dict(server.env, MAINSPRING_HOME=str(home), MAINSPRING_API_URL=server.url)
    worker = subprocess.Popen(
        [sys.executable, "-m", "mainspring.cli.main", "worker", "start", "--pool", "remote"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        double, _ = load_flow_file(f"{script}:double")
        with pytest.raises(ObjectNotFound, match="remote"):
            double.deploy("by-hand", work_pool_name="remote")  # the pool is on the server
        store = get_store()
        assert isinstance(store, ApiStore)
        store.create_work_pool(WorkPool("remote"))
        made = double.deploy("by-hand", work_pool_name="remote", print_next_steps=False)
        assert store.read_deployment(made).work_pool_name == "remote"
        run = run_deployment("double/by-hand", {"x": 21}, timeout=90)
        assert run.state.is_completed(), run.state
        with pytest.raises(TypeError, match="parameter 'x' expects integer"):  # the server's 422
            run_deployment("double/by-hand", {"x": "many"}, timeout=0)
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
        reset_store()
        stop_server(server.process)
    assert worker.returncode == 0, out
