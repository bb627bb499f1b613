"""A run's artifacts in a real browser (Debian's chromium through Playwright) against a real
server, made by a real flow in its own process: the Markdown drawn as headings and tables,
the progress bar with its number, the table, the links; nothing hostile runs or links."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import Server, server_env, start_server, stop_server
from .conftest import ui_url

pytestmark = pytest.mark.slow
FLOWS = Path(__file__).with_name("artifact_flows.py")


@pytest.fixture(scope="module")
def artifacts_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("ui-artifacts")
    env = server_env(home) | {"MAINSPRING_LOGGING_CONSOLE": "false"}
    done = subprocess.run(
        [sys.executable, str(FLOWS)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    server = start_server(env | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"})
    try:
        yield server
    finally:
        stop_server(server.process)


def test_a_runs_artifacts_in_the_browser(page, artifacts_server: Server) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    base = ui_url(artifacts_server)
    page.goto(base + "/artifacts")
    page.locator(".artifact-run a").first.click()  # the run that made them
    section = page.locator("#artifacts")
    section.scroll_into_view_if_needed()
    assert section.locator(".markdown h1").inner_text() == "Daily report"
    assert section.locator(".markdown table td").first.inner_text() == "Oslo"
    assert "<script>alert('md')</script>" in section.locator(".markdown").inner_text()
    progress = section.locator("progress")
    assert progress.get_attribute("value") == "42.5" and progress.is_visible()
    assert "42.5%" in section.locator(".progress-line").inner_text()
    cell = section.locator(".artifact-table td").nth(2)
    assert cell.inner_text() == "<b onmouseover=alert(4)>bold</b>"
    hrefs = section.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert "https://example.com/dashboard" in hrefs
    assert not [h for h in hrefs if not h.startswith(("http://", "https://"))]
    assert section.get_by_text("click me").count() == 1
    assert section.get_by_role("link", name="click me").count() == 0
    section.get_by_role("link", name="made in a task run").first.click()
    assert page.locator("#artifacts progress").count() == 1
    assert dialogs == []  # no script of a run's ran


@pytest.mark.parametrize("path", ["/artifacts", "/automations", "/events"])
def test_phone_width_needs_no_sideways_scrolling(artifacts_server: Server, browser, path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(ui_url(artifacts_server) + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"
    finally:
        context.close()
