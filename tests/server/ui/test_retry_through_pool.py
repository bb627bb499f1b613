"""Retry from a flow run's page, end to end: a deployment run fails under a real worker, the
page's Retry hands it back to the pool, the worker resumes it under the same id, and the task
that had finished with a persisted result is not run again."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from mainspring.model.deployments import Deployment, WorkPool
from mainspring.store.http import ApiStore

from ..conftest import Server
from .conftest import ui_url

pytestmark = pytest.mark.slow

FLOW = """
from pathlib import Path

from mainspring import flow, task
from mainspring.cache_policies import NONE

HERE = Path(__file__).parent


@task(persist_result=True, cache_policy=NONE)  # kept by the resume, not by a cache
def fetch() -> int:
    with open(HERE / "fetched.txt", "a") as out:
        out.write("ran\\n")
    return 20


@task
def publish(value: int) -> int:
    if not (HERE / "fixed").exists():
        raise RuntimeError("the target is down")
    return value + 1


@flow(persist_result=True)
def nightly() -> int:
    return publish(fetch())
"""


def wait_for(api: ApiStore, run_id: str, done, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = api.read_flow_run(run_id)
        if done(run):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} stayed {run.state.name}")


def test_retry_from_the_page_resumes_the_run_on_a_worker(server: Server, tmp_path: Path) -> None:
    script = tmp_path / "flows" / "nightly.py"
    script.parent.mkdir()
    script.write_text(textwrap.dedent(FLOW))
    api = ApiStore(server.url)
    api.create_work_pool(WorkPool("pool"))
    deployment = api.upsert_deployment(
        Deployment("nightly", "main", entrypoint=f"{script}:nightly", work_pool_name="pool")
    )
    home = tmp_path / "worker-home"
    home.mkdir()
    env = dict(server.env, MAINSPRING_HOME=str(home), MAINSPRING_API_URL=server.url)
    env["MAINSPRING_LOGGING_CONSOLE"] = "false"
    worker = subprocess.Popen(
        [sys.executable, "-m", "mainspring.cli.main", "worker", "start", "--pool", "pool"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    browser = httpx.Client(base_url=ui_url(server), timeout=30, follow_redirects=True)
    try:
        run_id = api.create_deployment_run(deployment.id).run.id
        failed = wait_for(api, run_id, lambda r: r.state.is_final())
        assert failed.state.name == "Failed", failed.state

        page = browser.get(f"/runs/flow-run/{run_id}")
        assert f'action="/runs/flow-run/{run_id}/retry"' in page.text
        (script.parent / "fixed").touch()
        answer = browser.post(
            f"/runs/flow-run/{run_id}/retry", data={"csrf_token": browser.cookies["ms_csrf"]}
        )
        assert "Scheduled again" in answer.text

        done = wait_for(api, run_id, lambda r: r.state.is_final() and r.run_count > 1)
        assert done.state.is_completed(), done.state
        assert done.run_count == 2
        # fetch's persisted result was kept: it ran in the first attempt only
        assert (script.parent / "fetched.txt").read_text() == "ran\n"
        messages = [s.message or "" for s in api.read_states(run_id)]
        assert "Retry asked from the web UI" in messages
    finally:
        browser.close()
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
        api.close()
    assert worker.returncode == 0, out
