"""serve() with MAINSPRING_API_URL set, against a real server: it registers its deployment
there, the server's scheduler plans the runs, and serve() claims (a long poll) and runs them,
recording into the server."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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
        while time.time() < deadline and len(done) < 2:
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
    assert not (home / "mainspring.db").exists()  # nothing recorded locally
