"""Screenshots of the web UI's main pages, for the README: `make screenshots`.

Records a small history of real flows (tests/server/ui/history.py) plus a few hundred runs
over the last three days (benchmarks/ui_fill.py, so the charts have something to show) into a
temporary home, serves it with `mainspring server start`, and photographs each page with
headless Debian chromium (Playwright) at 1280x800 and at phone width into docs/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from ui_fill import fill  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("MAINSPRING_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def shots(flow_id: str, deployment_id: str) -> list[tuple[str, str, dict[str, int]]]:
    return [
        ("dashboard", "/dashboard", DESKTOP),
        ("runs", "/runs", DESKTOP),
        ("runs-failed", "/runs?state=FAILED&state=CRASHED&window=7d", DESKTOP),
        ("flows", "/flows", DESKTOP),
        ("flow", f"/flows/flow/{flow_id}", DESKTOP),
        ("settings", "/settings", DESKTOP),
        ("deployments", "/deployments", DESKTOP),
        ("deployment", f"/deployments/deployment/{deployment_id}", DESKTOP),
        ("work-pools", "/work-pools", DESKTOP),
        ("work-pool", "/work-pools/work-pool/local-pool", DESKTOP),
        ("deployment-phone", f"/deployments/deployment/{deployment_id}", PHONE),
        ("dashboard-phone", "/dashboard", PHONE),
        ("runs-phone", "/runs", PHONE),
    ]


def main() -> None:
    from playwright.sync_api import sync_playwright

    from mainspring.store.sql import SqlStore

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
        env |= {"MAINSPRING_HOME": home, "MAINSPRING_LOGGING_CONSOLE": "false"}
        history = ROOT / "tests" / "server" / "ui" / "history.py"
        subprocess.run([sys.executable, str(history)], env=env, check=True)
        store = SqlStore(f"sqlite:///{home}/mainspring.db", end_dead_runs=False)
        fill(store, 400, days=3, seed=3)
        flow_id = next(f.id for f in store.read_flows() if f.name == "nightly-etl")
        deployment_id = _deployments(store)
        store.close()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env["MAINSPRING_SERVER_CRASH_DETECTOR"] = "false"
        command = [sys.executable, "-m", "mainspring.cli.main", "server", "start"]
        server = subprocess.Popen(
            [*command, "--port", str(port), "--log-level", "warning"],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(f"{base}/api/health")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for name, path, viewport in shots(flow_id, deployment_id):
                    page = browser.new_page(viewport=viewport, device_scale_factor=1)
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    # a phone's first screen; the whole page on a desktop
                    full = viewport is not PHONE
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
                    page.close()
                    print(f"docs/screenshots/{name}.png  {path}")
                _run_form_error(browser, f"{base}/deployments/deployment/{deployment_id}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


def _deployments(store: Any) -> str:
    """A scheduled deployment with a typed parameter schema (the Run form shows each kind of
    field), a paused one, and a second pool; returns the first's id."""
    from mainspring.model.deployments import Deployment, WorkPool
    from mainspring.model.schedules import Cron, Interval

    schema = {
        "type": "object",
        "properties": {
            "day": {"title": "day", "type": "string", "format": "date"},
            "tables": {"title": "tables", "type": "array", "items": {"type": "string"}},
            "batch_size": {"title": "batch_size", "type": "integer", "default": 500},
            "full_refresh": {"title": "full_refresh", "type": "boolean", "default": False},
            "mode": {"title": "mode", "enum": ["append", "replace"], "type": "string",
                     "default": "append"},
        },
        "required": ["day"],
    }  # fmt: skip
    etl = Deployment(
        "nightly-etl", "production", entrypoint="flows/etl.py:nightly_etl",
        parameters={"tables": ["orders", "customers"]}, parameter_openapi_schema=schema,
        tags=["etl", "prod"], work_pool_name="local-pool",
        description="Loads yesterday's orders into the warehouse.",
        schedules=[Cron("30 1 * * *", timezone="Europe/Lisbon").to_dict()],
    )  # fmt: skip
    deployment = store.upsert_deployment(etl)
    store.create_work_pool(WorkPool("gpu", concurrency_limit=2, description="Model training"))
    store.upsert_deployment(
        Deployment(
            "train-model", "weekly", work_pool_name="gpu", paused=True,
            schedules=[Cron("0 4 * * 1", timezone="America/New_York").to_dict()],
        )
    )  # fmt: skip
    store.upsert_deployment(
        Deployment(
            "sync-crm", "every-15-minutes", work_pool_name="local-pool",
            schedules=[Interval(900).to_dict()],
        )
    )  # fmt: skip
    store.create_deployment_run(deployment.id, {"day": "2026-12-01"})
    return str(deployment.id)


def _run_form_error(browser: Any, url: str) -> None:
    """The Run form after a bad value: the error beside its field."""
    page = browser.new_page(viewport=DESKTOP, device_scale_factor=1)
    page.goto(url)
    page.locator('input[name="param.batch_size"]').fill("lots")
    page.get_by_role("button", name="Run production").click()
    page.wait_for_load_state("networkidle")
    page.locator("section.run-form").screenshot(path=str(OUT / "deployment-run-error.png"))
    page.close()
    print("docs/screenshots/deployment-run-error.png  (the Run form, a bad value)")


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


if __name__ == "__main__":
    main()
