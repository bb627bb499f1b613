"""Screenshots of the run pages for the README: `make screenshots` (after ui_screenshots.py).

Records history.py's flows and a 1,000-task map into a fresh home, serves it, and saves
full-page PNGs of the flow-run and task-run pages (1280 wide, and one phone-sized) under
docs/screenshots/. Needs Playwright and Debian's chromium (as the browser tests).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "tests" / "server" / "ui"
sys.path.insert(0, str(ROOT / "tests"))

from mainspring.model import FlowRunFilter  # noqa: E402
from mainspring.store.sql import SqlStore  # noqa: E402
from server.conftest import server_env, start_server, stop_server  # noqa: E402
from server.ui.conftest import CHROMIUM, CHROMIUM_ARGS, record_history  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def main() -> None:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="ms-shots-"))
    record_history(home)
    env = server_env(home) | {"MAINSPRING_LOGGING_CONSOLE": "false"}
    subprocess.run(
        [sys.executable, str(HERE / "run_flows.py"), "mapped", "1000"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}", end_dead_runs=False)
    by_flow = {r.flow_name: r for r in store.read_flow_runs(FlowRunFilter(), limit=100)}
    failing = by_flow["flaky-import"]
    failed_task = store.read_task_runs(failing.id)[0]
    pages = {
        "run-failed": f"/runs/flow-run/{failing.id}",
        "run-map-1000": f"/runs/flow-run/{by_flow['mapped'].id}",
        "run-subflows": f"/runs/flow-run/{by_flow['weather-summary'].id}",
        "task-run-failed": f"/runs/task-run/{failed_task.id}",
    }
    store.close()
    server = start_server(env | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"})
    base = server.url.removesuffix("/api")
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for size, suffix in (((1280, 800), ""), ((390, 844), "-phone")):
                page = browser.new_page(viewport={"width": size[0], "height": size[1]})
                for name, path in pages.items():
                    if suffix and name != "run-failed":
                        continue
                    page.goto(base + path)
                    if page.locator("#graph").count():  # loads when scrolled to
                        page.locator("#graph").scroll_into_view_if_needed()
                        page.locator(
                            "#graph .graph, #graph p.muted, #graph p.empty"
                        ).first.wait_for()
                    page.screenshot(path=str(OUT / f"{name}{suffix}.png"), full_page=True)
                    print(OUT / f"{name}{suffix}.png")
                page.close()
            browser.close()
    finally:
        stop_server(server.process)


if __name__ == "__main__":
    main()
