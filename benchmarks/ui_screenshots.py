"""Screenshots of the web UI for the README: `make screenshots` (docs/screenshots/*.png).

One realistic history in one temporary home, then every page photographed from the list
`SHOTS` (the pages as data). The history: two automations, then history.py's real flows (two
fail, so the automations fire), artifact_flows.py's artifacts, a real 1,000-task map, a few
hundred runs over the last three days (ui_fill.py, so the charts have something to show),
deployments in two pools, blocks (secrets among them) and variables; and, while the shots
are taken, a real run going on (run_flows.py's `gated` flow, held at its mapped step) for
the live run page. Served by `mainspring server start`, photographed with headless Debian
chromium through Playwright at 1280x800 and at phone size (390x844).
Usage: python benchmarks/ui_screenshots.py [NAME ...]   (only the shots named)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
UI_TESTS = ROOT / "tests" / "server" / "ui"
sys.path.insert(0, str(ROOT / "tests"))  # before benchmarks/ (its server.py is another)

from ui_fill import fill  # noqa: E402

from server.conftest import server_env, start_server, stop_server  # noqa: E402
from server.ui.conftest import CHROMIUM, CHROMIUM_ARGS, record_history  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DESKTOP = (1280, 800)
PHONE = (390, 844)


@dataclass(frozen=True)
class Shot:
    """One picture: `path` (formatted with the history's ids) at `viewport`; the whole page,
    its first screen (`full=False`) or one element (`element`, a CSS selector); `act` does
    what a person would first (fill a form, open the menu)."""

    name: str
    path: str
    viewport: tuple[int, int] = DESKTOP
    full: bool = True
    element: str | None = None
    act: Callable[[Any], None] | None = None


def _bad_batch_size(page: Any) -> None:
    page.locator('input[name="param.batch_size"]').fill("lots")
    page.get_by_role("button", name="Run production").click()
    page.wait_for_load_state("networkidle")


def _bad_timeout(page: Any) -> None:
    page.locator('input[name="param.timeout"]').fill("-5")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")


def _open_menu(page: Any) -> None:
    page.locator("details.menu > summary").click()


def _show_graph(page: Any) -> None:
    page.locator("#graph").scroll_into_view_if_needed()  # it loads once shown
    page.locator("#graph .graph, #graph p.muted, #graph p.empty").first.wait_for()
    page.evaluate("window.scrollTo(0, 0)")


def _live(page: Any) -> None:
    page.wait_for_selector('li.gantt-task[data-name="gate_each"] .seg.state-running')
    page.locator('li.gantt-task[data-name="gate_each"] summary').click()
    page.wait_for_timeout(1200)  # one more event and redraw


SHOTS = [
    Shot("dashboard", "/dashboard"),
    Shot("runs", "/runs"),
    Shot("runs-failed", "/runs?state=FAILED&state=CRASHED&window=7d"),
    Shot("run-failed", "/runs/flow-run/{failed_run}", act=_show_graph),
    Shot("run-map-1000", "/runs/flow-run/{mapped_run}", act=_show_graph),
    Shot("run-subflows", "/runs/flow-run/{parent_run}", act=_show_graph),
    Shot("run-live", "/runs/flow-run/{live_run}", full=False, act=_live),
    Shot("task-run-failed", "/runs/task-run/{failed_task}"),
    Shot("flows", "/flows"),
    Shot("flow", "/flows/flow/{etl_flow}"),
    Shot("deployments", "/deployments"),
    Shot("deployment", "/deployments/deployment/{deployment}"),
    Shot(
        "deployment-run-error",
        "/deployments/deployment/{deployment}",
        element="section.run-form",
        act=_bad_batch_size,
    ),
    Shot("work-pools", "/work-pools"),
    Shot("work-pool", "/work-pools/work-pool/local-pool"),
    Shot("blocks", "/blocks"),
    Shot("block", "/blocks/block/webhook/on-call"),
    Shot("block-edit-error", "/blocks/block/webhook/on-call/edit", act=_bad_timeout),
    Shot("variables", "/variables"),
    Shot("automations", "/automations"),
    Shot("events", "/events", full=False),
    Shot("artifacts", "/artifacts"),
    Shot("run-artifacts", "/runs/flow-run/{artifact_run}", element="#artifacts"),
    Shot("settings", "/settings"),
    Shot("dashboard-phone", "/dashboard", PHONE, full=False),
    Shot("menu-phone", "/runs", PHONE, full=False, act=_open_menu),
    Shot("runs-phone", "/runs", PHONE, full=False),
    Shot("run-failed-phone", "/runs/flow-run/{failed_run}", PHONE, act=_show_graph),
    Shot("deployment-phone", "/deployments/deployment/{deployment}", PHONE, full=False),
    Shot("blocks-phone", "/blocks", PHONE, full=False),
]

AUTOMATIONS = [
    {
        "name": "page-on-failure",
        "description": "Tell the on-call channel when a run fails and stays failed.",
        "trigger": {"type": "flow-run-state", "states": ["Failed", "Crashed"]},
        "actions": [
            {"type": "call-webhook", "url": "http://127.0.0.1:9/hooks/on-call"},
            {"type": "send-notification", "block": "slack-webhook/on-call"},
        ],
    },
    {
        "name": "nightly-not-done",
        "trigger": {"type": "flow-run-not-completed", "within_seconds": 3600, "tags": ["nightly"]},
        "actions": [{"type": "cancel-flow-run"}],
        "enabled": False,
    },
]


def _run(script: str, env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, str(UI_TESTS / script), *args],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def record(home: Path) -> dict[str, str]:
    """The history the pictures show; returns the ids their paths name."""
    from mainspring.model import FlowRunFilter
    from mainspring.model.automations import automation_from_spec
    from mainspring.server.services.automations import AutomationService
    from mainspring.store.sql import SqlStore

    env = server_env(home) | {"MAINSPRING_LOGGING_CONSOLE": "false"}
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}", end_dead_runs=False)
    for spec in AUTOMATIONS:
        store.create_automation(automation_from_spec(spec))
    service = AutomationService(store)
    service.tick()
    record_history(home)
    _run("artifact_flows.py", env)
    _run("run_flows.py", env, "mapped", "1000")
    for _ in range(3):
        service.tick()
    by_flow = {r.flow_name: r for r in store.read_flow_runs(FlowRunFilter(), limit=200)}
    fill(store, 400, days=3, seed=3)
    ids = {
        "failed_run": by_flow["flaky-import"].id,
        "failed_task": store.read_task_runs(by_flow["flaky-import"].id)[0].id,
        "mapped_run": by_flow["mapped"].id,
        "parent_run": by_flow["weather-summary"].id,
        "artifact_run": by_flow["reporting"].id,
        "etl_flow": next(f.id for f in store.read_flows() if f.name == "nightly-etl"),
        "deployment": _deployments(store),
    }
    _blocks(store)
    store.close()
    return {k: str(v) for k, v in ids.items()}


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


def _blocks(store: Any) -> None:
    from mainspring.blocks.notifications import SlackWebhook, Webhook
    from mainspring.blocks.system import JSON, LocalFileSystem, Secret

    for kind in (Secret, JSON, LocalFileSystem, Webhook, SlackWebhook):
        store.upsert_block_type(kind.block_type())
    store.save_block_document("secret", "warehouse-password", {"value": "not-shown"})
    store.save_block_document("json", "etl-config", {"value": {"tables": ["orders"], "days": 3}})
    store.save_block_document("local-file-system", "results", {"basepath": "/srv/results"})
    store.save_block_document(
        "webhook",
        "on-call",
        {"url": "https://hooks.example.com/on-call", "method": "POST",
         "headers": {"Authorization": "Bearer not-shown"}},
    )  # fmt: skip
    store.save_block_document("slack-webhook", "data-team", {"url": "https://hooks.slack.com/x"})
    store.set_variable("batch_size", 500)
    store.set_variable("regions", ["eu-west-1", "us-east-1"])
    store.set_variable("report_recipients", {"to": ["data@example.com"], "cc": []})


def _start_live_run(home: Path, gates: Path) -> tuple[subprocess.Popen, str]:
    """run_flows.py's gated flow, let past its first step and held at its mapped one."""
    env = server_env(home) | {"MAINSPRING_LOGGING_CONSOLE": "false"}
    process = subprocess.Popen(
        [sys.executable, str(UI_TESTS / "run_flows.py"), "gated", str(gates)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    run_id = process.stdout.readline().strip()  # type: ignore[union-attr]
    time.sleep(1.5)
    (gates / "first").touch()
    (gates / "each-0").touch()
    time.sleep(1.5)
    return process, run_id


def _take(browser: Any, base: str, shot: Shot, ids: dict[str, str]) -> None:
    width, height = shot.viewport
    page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
    page.set_default_timeout(30_000)
    page.goto(base + shot.path.format(**ids))
    page.wait_for_load_state("networkidle")
    if shot.act is not None:
        try:
            shot.act(page)
        except Exception as exc:
            raise RuntimeError(f"{shot.name}: {exc} on the page {page.title()!r}") from exc
    target = OUT / f"{shot.name}.png"
    if shot.element:
        page.locator(shot.element).screenshot(path=str(target))
    else:
        page.screenshot(path=str(target), full_page=shot.full)
    page.close()
    print(f"docs/screenshots/{shot.name}.png  {shot.path.format(**ids)}")


def main(names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    wanted = [s for s in SHOTS if not names or s.name in names]
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ms-shots-") as tmp:
        home, gates = Path(tmp) / "home", Path(tmp) / "gates"
        home.mkdir()
        gates.mkdir()
        ids = record(home)
        env = server_env(home) | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"}
        server = start_server(env)
        live, ids["live_run"] = _start_live_run(home, gates)
        base = server.url.removesuffix("/api")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for shot in wanted:
                    _take(browser, base, shot, ids)
                browser.close()
        finally:
            for name in ("first", "each-0", "each-1", "each-2", "child", "last"):
                (gates / name).touch()
            live.wait(timeout=60)
            stop_server(server.process)


if __name__ == "__main__":
    main(sys.argv[1:])
