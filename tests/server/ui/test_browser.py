"""The UI in a real browser (Debian's chromium through Playwright) against a real server over
real flow runs: what a person checks. Skipped where Playwright or chromium is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mainspring.model import FlowRunFilter
from mainspring.server.auth import create_api_key
from mainspring.store.sql import SqlStore

from ..conftest import server_env, start_server, stop_server
from .conftest import history_url, ui_url

pytestmark = pytest.mark.slow


def test_dashboard_shows_the_failed_run_and_draws_its_chart(live_server, page) -> None:
    store = SqlStore(history_url(Path(live_server.env["MAINSPRING_HOME"])), end_dead_runs=False)
    (flaky,) = store.read_flow_runs(FlowRunFilter(flow_names=["flaky-import"]))
    store.close()
    page.goto(ui_url(live_server) + "/dashboard")
    failures = page.locator("section", has=page.get_by_role("heading", name="Failed and crashed"))
    entry = failures.locator("li", has_text=flaky.name)
    assert entry.is_visible()
    assert "Failed" in entry.inner_text() and "is unreachable" in entry.inner_text()
    chart = page.locator('[data-chart="runs-by-state"]')
    chart.locator("canvas").wait_for()
    assert chart.get_attribute("data-ready") is not None
    box = chart.locator("canvas").bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    assert page.locator("script").filter(has_text="alert('x')").count() == 0  # hostile: text


def test_filtering_the_runs_by_state(live_server, page) -> None:
    page.goto(ui_url(live_server) + "/runs")
    assert page.title() == "Flow runs · Mainspring"
    page.locator("details.states summary").click()
    page.get_by_label("Failed", exact=True).check()
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/runs?*state=FAILED*")
    states = page.locator("table.runs tbody tr td:first-child").all_inner_texts()
    assert states and all("Failed" in s for s in states)
    assert page.locator('[data-chart="durations"] canvas').count() == 1


def test_keyboard_reaches_the_content_first(live_server, page) -> None:
    page.goto(ui_url(live_server) + "/runs")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("path", ["/dashboard", "/runs", "/flows", "/settings"])
def test_phone_width_needs_no_sideways_scrolling(live_server, browser, path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(ui_url(live_server) + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"
    finally:
        context.close()


def test_signing_in_with_a_read_only_key(history_home: Path, tmp_path: Path, page) -> None:
    home = tmp_path / "keyed"
    shutil.copytree(history_home, home)
    store = SqlStore(history_url(home), end_dead_runs=False)
    _, key = create_api_key(store, "viewer", read_only=True)
    store.close()
    server = start_server(server_env(home) | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"})
    try:
        page.goto(ui_url(server) + "/runs?state=FAILED")
        page.wait_for_url("**/settings?next=*")
        page.get_by_role("textbox", name="API key").fill("ms_wrong")
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("alert").inner_text() == "That API key is not valid."
        page.get_by_role("textbox", name="API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/runs?state=FAILED")
        assert "Signed in with the API key 'viewer'" in page.get_by_role("status").inner_text()
        assert page.locator(".who").inner_text() == "viewer (read-only)"
        assert page.locator("table.runs tbody tr").count() >= 1
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["ms_api_key"]["httpOnly"] and cookies["ms_api_key"]["sameSite"] == "Strict"
        assert page.evaluate("document.cookie").find(key) == -1  # scripts cannot read it
    finally:
        stop_server(server.process)
