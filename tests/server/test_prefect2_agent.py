"""Prefect 2's way end to end against a real server: `deployment build --apply` registers a
deployment.yaml's deployment on a work queue, `agent start -q` serves that queue, and
`deployment run --watch` sees the run complete."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mainspring.store.http import ApiStore

from .conftest import Server, cli

pytestmark = pytest.mark.slow

FLOWS = textwrap.dedent(
    """
    from mainspring import flow

    @flow(log_prints=True)
    def pipeline_diario(n: int = 2) -> int:
        print("hola", n)
        return n
    """
)


def test_build_apply_agent_and_run_through_a_server(server: Server, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "etl.py").write_text(FLOWS)
    home = tmp_path / "client-home"
    home.mkdir()
    env = dict(server.env, MAINSPRING_HOME=str(home), MAINSPRING_API_URL=server.url)

    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "mainspring.cli.main",
            "deployment",
            "build",
            "pipeline_diario",
            "-n",
            "nightly",
            "-q",
            "etl",
            "--param",
            "n=4",
            "--apply",
        ],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert built.returncode == 0, built.stderr
    assert "registered" in built.stdout

    agent = subprocess.Popen(
        [sys.executable, "-m", "mainspring.cli.main", "agent", "start", "-q", "etl"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    api = ApiStore(server.url)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not api.read_workers("default-agent-pool"):
            time.sleep(0.1)
        assert api.read_workers("default-agent-pool"), "the agent never registered"
        watched = cli(env, "deployment", "run", "pipeline-diario/nightly", "--watch", timeout=90)
        assert watched.returncode == 0, watched.stdout + watched.stderr
        assert "Completed" in watched.stdout
        (run,) = api.read_deployment_runs(api.find_deployment("pipeline-diario", "nightly").id)
        assert run.run.parameters == {"n": 4}
        logs = cli(env, "flow-run", "logs", run.run.id)
        assert "hola 4" in logs.stdout, logs.stdout + logs.stderr

        # `mainspring deploy` with a bare flow name, as tutorials write it, through the server
        # too: the agent's queue runs it.
        deployed = subprocess.run(
            [
                *(sys.executable, "-m", "mainspring.cli.main", "deploy", "pipeline_diario"),
                *("--cron", "0 0 * * *", "--pool", "default-agent-pool", "--queue", "etl"),
            ],
            env=env,
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert deployed.returncode == 0, deployed.stderr
        daily = api.find_deployment("pipeline-diario", "pipeline_diario")
        assert daily.schedules[0]["cron"] == "0 0 * * *"
        watched = cli(env, "deployment", "run", daily.full_name, "--watch", timeout=90)
        assert watched.returncode == 0 and "Completed" in watched.stdout, watched.stdout
    finally:
        agent.send_signal(signal.SIGTERM)
        out, _ = agent.communicate(timeout=60)
        api.close()
    assert "agents are workers now" in out
    assert agent.returncode == 0, out
