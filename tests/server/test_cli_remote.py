"""`mainspring flow-run ls / inspect / logs` with MAINSPRING_API_URL: read from a real server,
not from the local store, and say clearly when the server cannot be reached or wants a key."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import Server, cli, free_port, server_env

pytestmark = pytest.mark.slow

FLOW = textwrap.dedent(
    """
    from mainspring import flow, get_run_logger, task

    @task
    def shout(word: str) -> str:
        get_run_logger().warning("shouting %s", word)
        return word.upper()

    @flow
    def inner(word: str) -> str:
        return shout(word)

    @flow(name="remote-cli")
    def outer(word: str) -> str:
        get_run_logger().info("outer says %s", word)
        return inner(word)

    if __name__ == "__main__":
        outer("hello")
    """
)


@pytest.fixture
def remote(server: Server, tmp_path: Path) -> dict[str, str]:
    """The environment of a client machine: its own empty home, the server's URL."""
    env = server_env(tmp_path / "client-home")
    env["MAINSPRING_API_URL"] = server.url
    env["COLUMNS"] = "200"
    script = tmp_path / "flow.py"
    script.write_text(FLOW)
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return env


def test_ls_inspect_and_logs_read_from_the_server(remote: dict[str, str], server: Server) -> None:
    listed = cli(remote, "flow-run", "ls")
    assert listed.returncode == 0, listed.stderr
    assert "remote-cli" in listed.stdout and "inner" in listed.stdout
    with server.client() as http:
        runs = http.get("/flow_runs", params={"flow_name": "remote-cli"}).json()["items"]
    (run,) = runs
    assert run["id"] in listed.stdout
    only_failed = cli(remote, "flow-run", "ls", "--state", "FAILED")
    assert only_failed.returncode == 0 and "No flow runs match." in only_failed.stdout

    inspected = cli(remote, "flow-run", "inspect", run["id"])
    assert inspected.returncode == 0, inspected.stderr
    for expected in (run["name"], "Completed", "State timeline", "Running", "Subflow runs (1)"):
        assert expected in inspected.stdout
    assert '"hello"' in inspected.stdout  # the parameters

    logs = cli(remote, "flow-run", "logs", run["id"])
    assert logs.returncode == 0, logs.stderr
    assert "outer says hello" in logs.stdout
    warnings = cli(remote, "flow-run", "logs", run["id"], "--level", "warning")
    assert "outer says hello" not in warnings.stdout
    assert warnings.stderr.strip() == "No logs match."

    unknown = cli(remote, "flow-run", "inspect", "0b5d6c1e-0000-4000-8000-000000000000")
    assert unknown.returncode == 1
    assert "No flow run with id '0b5d6c1e-0000-4000-8000-000000000000'" in unknown.stderr
    # Without MAINSPRING_API_URL the same home has no runs: they were never stored locally.
    local = {k: v for k, v in remote.items() if k != "MAINSPRING_API_URL"}
    assert "No flow runs yet." in cli(local, "flow-run", "ls").stdout


def test_unreachable_server_and_missing_key_are_one_clear_line(tmp_path: Path, server: Server):
    env = server_env(tmp_path / "client-home")
    env["MAINSPRING_API_URL"] = down = f"http://127.0.0.1:{free_port()}/api"
    result = cli(env, "flow-run", "ls")
    assert result.returncode == 1
    assert f"Could not reach the Mainspring server at {down}" in result.stderr
    assert "Traceback" not in result.stderr

    key = cli(server.env, "api-key", "create", "ci").stdout.strip()
    env["MAINSPRING_API_URL"] = server.url
    refused = cli(env, "flow-run", "ls")
    assert refused.returncode == 1
    assert "requires an API key: set MAINSPRING_API_KEY" in refused.stderr
    env["MAINSPRING_API_KEY"] = key
    allowed = cli(env, "flow-run", "ls")
    assert allowed.returncode == 0, allowed.stderr
    assert key not in allowed.stdout + allowed.stderr

    # A flow run without the key runs, and says once that its history was refused (retrying
    # could not help); with the key it is recorded.
    script = tmp_path / "flow.py"
    script.write_text(FLOW)
    del env["MAINSPRING_API_KEY"]
    run = [sys.executable, str(script)]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("of run history not stored") == 1
    assert "set aside in" in done.stderr  # the dead-letter file keeps what was refused
    assert "requires an API key: set MAINSPRING_API_KEY" in done.stderr
    env["MAINSPRING_API_KEY"] = key
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "refused" not in done.stderr, done.stderr
    assert key not in done.stderr
    assert "remote-cli" in cli(env, "flow-run", "ls").stdout
