"""`mainspring worker start` against a real server: its claim waits at the server (a long poll),
so a run created through the API is claimed within moments, then run and recorded there."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from mainspring.model.deployments import Deployment, WorkPool
from mainspring.store.http import ApiStore

from .conftest import Server


def test_a_worker_claims_a_run_created_through_the_server_at_once(
    server: Server, tmp_path: Path
) -> None:
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
    api = ApiStore(server.url)
    api.create_work_pool(WorkPool("remote"))
    deployment = api.upsert_deployment(
        Deployment(
            flow_name="double",
            name="by-hand",
            entrypoint=f"{script}:double",
            parameters={"x": 21},
            work_pool_name="remote",
        )
    )
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
        deadline = time.time() + 30
        while time.time() < deadline and not api.read_workers("remote"):
            time.sleep(0.1)
        assert api.read_workers("remote"), "the worker never said it was there"
        time.sleep(0.5)  # the worker is now waiting at the server for a run

        created = api.create_deployment_run(deployment.id, {"x": 5})
        asked = time.monotonic()
        claimed_after = None
        while time.monotonic() - asked < 30:
            run = api.read_flow_run(created.run.id)
            if claimed_after is None and run.state.name != "Scheduled":
                claimed_after = time.monotonic() - asked
            if run.state.is_final():
                break
            time.sleep(0.02)
        assert run.state.is_completed(), run.state
        assert run.parameters == {"x": 5}  # the deployment's default, overridden
        # a poll every 0.5 s would also pass 1.5 s; a 15 s poll (Prefect's default) would not
        assert claimed_after is not None and claimed_after < 1.5, claimed_after
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
        api.close()
    assert worker.returncode == 0, out
    assert "Worker stopped." in out
