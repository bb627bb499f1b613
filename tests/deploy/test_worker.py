"""`mainspring worker start` as a real process on the embedded store: it schedules (no server),
claims and runs a pool's deployment runs, and stops cleanly; an unknown pool is one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.schedules import Interval
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

SRC = str(Path(__file__).resolve().parents[2] / "src")


def worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mainspring.cli.main", "worker", "start", *args],
        env=dict(os.environ, PYTHONPATH=SRC),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_worker_runs_the_pools_scheduled_runs(tmp_path: Path) -> None:
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
    store = SqlStore(get_settings().effective_database_url)
    try:
        store.create_work_pool(WorkPool("local"))
        deployment = store.upsert_deployment(
            Deployment(
                flow_name="double",
                name="every-second",
                entrypoint=f"{script}:double",
                parameters={"x": 21},
                schedules=[Interval(1)],
                work_pool_name="local",
            )
        )
        process = worker("--pool", "local", "--limit", "2")
        deadline = time.time() + 30
        done: list = []
        while time.time() < deadline and len(done) < 2:
            done = store.read_deployment_runs(deployment.id, states=["Completed"])
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0, out
        assert len(done) >= 2, out
        assert all(r.run.parameters == {"x": 21} and r.claimed_by for r in done)
        assert "Worker stopped." in out
        assert [w.name for w in store.read_workers("local")] != []
    finally:
        store.close()


def test_an_unknown_pool_is_a_one_line_error() -> None:
    process = worker("--pool", "nowhere")
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert out.strip() == "Error: there is no work pool named 'nowhere'"
