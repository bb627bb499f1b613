"""Screenshots of the blocks and variables pages, for the README: `make screenshots`.

Saves a few blocks (secrets among them) and variables into a temporary home, serves it with
`mainspring server start`, and photographs the pages with headless Debian chromium
(Playwright) into docs/screenshots/ (the server and browser set-up of ui_screenshots.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from ui_screenshots import ARGS, CHROMIUM, DESKTOP, OUT, PHONE, _wait_for  # noqa: E402

SHOTS = [
    ("blocks", "/blocks"),
    ("block", "/blocks/block/webhook/on-call"),
    ("variables", "/variables"),
]
PHONE_SHOTS = [("blocks-phone", "/blocks")]


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


def main() -> None:
    from playwright.sync_api import sync_playwright

    from mainspring.store.sql import SqlStore

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
        env |= {"MAINSPRING_HOME": home, "MAINSPRING_LOGGING_CONSOLE": "false"}
        store = SqlStore(f"sqlite:///{home}/mainspring.db", end_dead_runs=False)
        _blocks(store)
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
                for name, path in SHOTS:
                    page = browser.new_page(viewport=DESKTOP, device_scale_factor=1)
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                    page.close()
                    print(f"docs/screenshots/{name}.png  {path}")
                for name, path in PHONE_SHOTS:
                    page = browser.new_page(viewport=PHONE, device_scale_factor=1)
                    page.goto(base + path)
                    page.screenshot(path=str(OUT / f"{name}.png"))
                    page.close()
                _edit_error(browser, f"{base}/blocks/block/webhook/on-call/edit")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


def _edit_error(browser: Any, url: str) -> None:
    """A block's edit form after a bad value: the error beside its field, the secret kept."""
    page = browser.new_page(viewport=DESKTOP, device_scale_factor=1)
    page.goto(url)
    page.locator('input[name="param.timeout"]').fill("-5")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / "block-edit-error.png"), full_page=True)
    page.close()
    print("docs/screenshots/block-edit-error.png  (a block's edit form, a bad value)")


if __name__ == "__main__":
    main()
