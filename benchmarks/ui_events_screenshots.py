"""Screenshots of the automations, events and artifacts pages for the README: part of
`make screenshots`.

Records an automation (from a spec, as `mainspring automation create` does), history.py's
flows (two fail, so it fires: a webhook to a port nobody listens on waits for a retry, a
notification through a missing block fails) and artifact_flows.py's artifacts into a fresh
home, serves it, and saves PNGs under docs/screenshots/. Needs Playwright and Debian's
chromium (as the browser tests).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "tests" / "server" / "ui"
sys.path.insert(0, str(ROOT / "tests"))

from mainspring.model.automations import automation_from_spec  # noqa: E402
from mainspring.server.services.automations import AutomationService  # noqa: E402
from mainspring.store.sql import SqlStore  # noqa: E402
from server.conftest import server_env, start_server, stop_server  # noqa: E402
from server.ui.conftest import CHROMIUM, CHROMIUM_ARGS, record_history  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SPEC = {
    "name": "page-on-failure",
    "description": "Tell the on-call channel when a run fails and stays failed.",
    "trigger": {"type": "flow-run-state", "states": ["Failed", "Crashed"]},
    "actions": [
        {"type": "call-webhook", "url": "http://127.0.0.1:9/hooks/on-call"},
        {"type": "send-notification", "block": "slack-webhook/on-call"},
    ],
}
LATE = {
    "name": "nightly-not-done",
    "trigger": {"type": "flow-run-not-completed", "within_seconds": 3600, "tags": ["nightly"]},
    "actions": [{"type": "cancel-flow-run"}],
    "enabled": False,
}


def main() -> None:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="ms-shots-events-"))
    env = server_env(home) | {"MAINSPRING_LOGGING_CONSOLE": "false"}
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}", end_dead_runs=False)
    store.create_automation(automation_from_spec(SPEC))
    store.create_automation(automation_from_spec(LATE))
    service = AutomationService(store)
    service.tick()
    record_history(home)
    subprocess.run(
        [sys.executable, str(HERE / "artifact_flows.py")], env=env, check=True, timeout=120
    )
    for _ in range(3):
        service.tick()
    run = next(r for r in store.read_flow_runs(limit=50) if r.flow_name == "reporting")
    store.close()
    pages = {
        "automations": "/automations",
        "events": "/events",
        "artifacts": "/artifacts",
        "run-artifacts": f"/runs/flow-run/{run.id}#artifacts",
    }
    server = start_server(env | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"})
    base = server.url.removesuffix("/api")
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            for name, path in pages.items():
                page.goto(base + path)
                if name == "run-artifacts":
                    shot = page.locator("#artifacts").screenshot(path=str(OUT / f"{name}.png"))
                else:  # the events page is long: its first screenful
                    whole = name != "events"
                    shot = page.screenshot(path=str(OUT / f"{name}.png"), full_page=whole)
                assert shot
                print(OUT / f"{name}.png")
            browser.close()
    finally:
        stop_server(server.process)


if __name__ == "__main__":
    main()
