"""Launching a deployment from its page in a real browser (Debian's chromium through
Playwright): a real server, a deployment registered by `mainspring deploy`, a real worker
claiming through the server; the form refuses a bad value beside its field, runs a good one,
and the run is seen completing. Skipped where Playwright or chromium is missing."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mainspring.model.deployments import Deployment
from mainspring.model.schedules import Cron
from mainspring.store.sql import SqlStore

from ..conftest import cli, server_env, start_server, stop_server
from .conftest import ui_url

pytestmark = pytest.mark.slow

FLOW = """
from mainspring import flow

@flow
def double(x: int, label: str = "by hand") -> int:
    return 2 * x
"""


def test_run_a_deployment_from_its_form_and_watch_it_complete(tmp_path: Path, page) -> None:
    home = tmp_path / "home"
    home.mkdir()
    script = tmp_path / "double.py"
    script.write_text(textwrap.dedent(FLOW))
    env = server_env(home) | {"MAINSPRING_LOGGING_CONSOLE": "false"}
    for command in (
        ("work-pool", "create", "ui-pool", "--type", "process"),
        ("deploy", f"{script}:double", "--name", "by-form", "--pool", "ui-pool"),
    ):
        done = cli(env, *command)
        assert done.returncode == 0, done.stdout + done.stderr
    server = start_server(env | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"})
    worker_home = tmp_path / "worker-home"
    worker_home.mkdir()
    worker = subprocess.Popen(
        [sys.executable, "-m", "mainspring.cli.main", "worker", "start", "--pool", "ui-pool"],
        env=env | {"MAINSPRING_HOME": str(worker_home), "MAINSPRING_API_URL": server.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = ui_url(server)
        page.goto(base + "/deployments")
        page.get_by_role("link", name="by-form").click()
        page.wait_for_url("**/deployments/deployment/*")
        assert page.title() == "by-form · double · Deployment · Mainspring"
        deployment_url = page.url

        x = page.get_by_label("x", exact=False).first
        x.fill("twenty-one")
        page.get_by_role("button", name="Run by-form").click()
        error = page.locator(".field.has-error .field-error")
        assert error.inner_text().endswith("'twenty-one' is not a whole number.")
        assert page.locator(".field.has-error input").get_attribute("aria-invalid") == "true"

        page.locator('input[name="param.x"]').fill("21")
        page.get_by_role("button", name="Run by-form").click()
        page.wait_for_load_state()
        status = page.get_by_role("status").inner_text()
        assert "asked for" in status
        run_name = status.split("'")[1]

        # watch the run: the flow-run page where it exists, else the deployment's runs
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            page.goto(deployment_url)
            row = page.locator("table.runs tbody tr", has_text=run_name)
            if row.count() and "Completed" in row.inner_text():
                break
            time.sleep(1)
        else:
            pytest.fail(f"the run never completed: {row.inner_text() if row.count() else '-'}")
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
        stop_server(server.process)
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}", end_dead_runs=False)
    try:
        (made,) = store.read_deployment_runs(store.find_deployment("double", "by-form").id)
        assert made.run.name == run_name and made.run.state.is_completed()
        assert made.run.parameters == {"x": 21, "label": "by hand"}
        assert made.claimed_by  # a worker ran it
    finally:
        store.close()
    assert worker.returncode == 0, out


def test_the_pages_fit_a_phone(live_server, browser) -> None:
    store = SqlStore(f"sqlite:///{Path(live_server.env['MAINSPRING_HOME']) / 'mainspring.db'}")
    zone = "America/Argentina/Buenos_Aires"  # a long zone name in the next runs' table
    scheduled = store.upsert_deployment(
        Deployment(
            "weather", "phone", work_pool_name="local-pool",
            schedules=[Cron("0 3 * * *", timezone=zone).to_dict()],
        )
    )  # fmt: skip
    store.close()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        for path in (
            "/deployments",
            f"/deployments/deployment/{scheduled.id}",
            "/work-pools",
            "/work-pools/work-pool/local-pool",
        ):
            page.goto(ui_url(live_server) + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide"
    finally:
        context.close()
