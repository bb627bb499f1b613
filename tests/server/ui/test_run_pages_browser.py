"""The run pages in a real browser (Debian's chromium through Playwright) against a real
server, with real flows: success, failure with retries, subflows, a 1,000-task map, a run
logging while the page is open, and cancelling that run from its page."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring.model import FlowRunFilter, StateType
from mainspring.store.sql import SqlStore

from ..conftest import Server, server_env, start_server, stop_server
from .conftest import history_url, ui_url

pytestmark = pytest.mark.slow
FLOWS = Path(__file__).with_name("run_flows.py")
MAPPED = 1000


def run_flow(home: Path, *args: str) -> subprocess.Popen:
    """run_flows.py in its own process, recording into `home`'s store; heartbeats every 0.5 s
    so a cancel reaches it quickly."""
    env = server_env(home) | {
        "MAINSPRING_LOGGING_CONSOLE": "false",
        "MAINSPRING_HEARTBEAT_INTERVAL": "0.5",
    }
    return subprocess.Popen(
        [sys.executable, str(FLOWS), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def run_server(history_home: Path) -> Iterator[Server]:
    """A server over history.py's runs and a map of 1,000 task runs."""
    mapped = run_flow(history_home, "mapped", str(MAPPED))
    _, errors = mapped.communicate(timeout=300)
    assert mapped.returncode == 0, errors
    env = server_env(history_home) | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"}
    server = start_server(env)
    try:
        yield server
    finally:
        stop_server(server.process)


@pytest.fixture(scope="module")
def runs(history_home: Path, run_server: Server) -> Iterator[SqlStore]:
    store = SqlStore(history_url(history_home), end_dead_runs=False)
    yield store
    store.close()


def latest(store: SqlStore, flow_name: str):
    """The latest finished run of the flow (not the deployment's upcoming one)."""
    finished = FlowRunFilter(flow_names=[flow_name], states=["COMPLETED", "FAILED"])
    return store.read_flow_runs(finished, limit=1)[0]


def test_a_completed_run(run_server, runs, page) -> None:
    run = latest(runs, "weather")
    page.goto(f"{ui_url(run_server)}/runs/flow-run/{run.id}")
    assert page.title() == f"{run.name} · weather · Mainspring"
    assert page.locator("#run-state").inner_text().strip().endswith("Completed")
    assert page.locator(".gantt-row").count() == 2
    # times are shown in the browser's zone, UTC on hover
    assert page.locator("#facts-h + dl time").first.get_attribute("data-local") is not None


def test_a_failing_task_shows_its_error(run_server, runs, page) -> None:
    run = latest(runs, "flaky-import")
    page.goto(f"{ui_url(run_server)}/runs/flow-run/{run.id}")
    error = page.locator("#error-h ~ pre.traceback").first
    assert "ConnectionError: http://source.invalid/data.csv is unreachable" in error.inner_text()
    page.get_by_role("link", name="read_source-0").first.click()
    page.wait_for_url("**/runs/task-run/**")
    assert page.locator("#attempts-h + .table-wrap tbody tr").count() == 3
    assert page.locator("#run-state").inner_text().strip().endswith("Failed")


def test_subflow_links_lead_both_ways(run_server, runs, page) -> None:
    parent = latest(runs, "weather-summary")
    page.goto(f"{ui_url(run_server)}/runs/flow-run/{parent.id}")
    links = page.locator("#subflows-h + ul a")
    assert links.count() == 2
    links.first.click()
    page.wait_for_url("**/runs/flow-run/**")
    assert "station-report" in page.title()
    page.get_by_role("link", name=parent.name).first.click()
    page.wait_for_url(f"**/runs/flow-run/{parent.id}")


def test_a_map_of_1000_task_runs_opens_fast_and_groups_its_bars(run_server, runs, page) -> None:
    run = latest(runs, "mapped")
    started = time.perf_counter()
    page.goto(f"{ui_url(run_server)}/runs/flow-run/{run.id}", wait_until="load")
    opened = time.perf_counter() - started
    assert opened < 5, f"the page took {opened:.1f} s to load"  # ~0.2 s here; slack for CI
    square = page.locator('.gantt-row[data-name="square"]')
    assert square.get_attribute("data-count") == str(MAPPED)
    assert page.locator('.gantt-row[data-name="total"]').get_attribute("data-count") == "1"
    assert page.locator(".gantt-row").count() == 2
    assert page.locator("li.gantt-line, div.gantt-line, summary.gantt-line").count() < 100
    members = square.locator(".gantt-members li.gantt-line")
    assert not members.first.is_visible()
    square.locator("summary").click()  # the group opens: its first runs, and a link to all
    assert members.first.is_visible()
    assert members.count() == 50
    page.locator("#graph").scroll_into_view_if_needed()  # the graph loads once shown
    assert "1,000 runs" in page.locator("#graph svg .node").first.text_content()
    square.get_by_role("link", name=f"All {MAPPED:,} runs of square").click()
    assert page.locator("#tasks-h").inner_text() == "Task runs of square"


def wait_for_run(store: SqlStore, process: subprocess.Popen) -> str:
    run_id = process.stdout.readline().strip()  # type: ignore[union-attr]
    assert run_id, process.stderr.read()  # type: ignore[union-attr]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if store.read_flow_run(run_id).state.type is StateType.RUNNING:
                return run_id
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError("the run did not start")


def test_logs_arrive_live_and_cancel_ends_the_run(run_server, runs, history_home, page) -> None:
    ticking = run_flow(history_home, "ticking", "60")
    try:
        run_id = wait_for_run(runs, ticking)
        page.goto(f"{ui_url(run_server)}/runs/flow-run/{run_id}")
        assert page.locator("#live-note").is_visible()
        first = page.locator("#log-lines li").count()
        # new lines are appended by the stream, without reloading the page
        page.wait_for_function(
            f"document.querySelectorAll('#log-lines li').length > {first + 3}", timeout=20_000
        )
        assert "tick" in page.locator("#log-lines li").last.inner_text()
        # streamed lines get the browser's time zone like the others
        page.wait_for_function(
            "document.querySelector('#log-lines li:last-child time').hasAttribute('data-local')"
        )
        page.get_by_role("button", name="Cancel run").click()
        page.wait_for_url(f"**/runs/flow-run/{run_id}")
        assert "Cancel" in page.locator(".flash").inner_text()
        ticking.wait(timeout=30)  # the process stops the run at its next heartbeat
        # the stream brings the final state to the open page
        page.wait_for_function(
            "document.querySelector('#run-state').textContent.includes('Cancelled')",
            timeout=20_000,
        )
        page.wait_for_selector("html[data-run-final]")  # and the final page replaced it
        assert page.locator("#live-note").count() == 0
    finally:
        if ticking.poll() is None:
            ticking.kill()
            ticking.wait()
    assert runs.read_flow_run(run_id).state.type is StateType.CANCELLED
