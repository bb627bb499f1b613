"""A running flow run's page, live, in a real browser against a real server: while a real
flow runs (its tasks wait for files this test creates, so each step is the test's), new task
rows, their states, the counts and a subflow appear without reloading the page, and once the
run has finished the page shows its final picture and stops streaming."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring.model import StateType
from mainspring.store.sql import SqlStore

from ..conftest import Server, server_env, start_server, stop_server
from .conftest import history_url, ui_url
from .test_run_pages_browser import run_flow, wait_for_run

pytestmark = pytest.mark.slow
WAIT = 30_000  # ms: the recorder writes every ~second, the page looks every second


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def server(home: Path) -> Iterator[Server]:
    home.mkdir()
    server = start_server(server_env(home) | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"})
    try:
        yield server
    finally:
        stop_server(server.process)


def _row(name: str) -> str:
    return f'#timeline li.gantt-task[data-name="{name}"]'


def test_a_running_flow_run_page_follows_its_task_runs(server, home, tmp_path, page) -> None:
    gates = tmp_path / "gates"
    gates.mkdir()
    store = SqlStore(history_url(home), end_dead_runs=False)
    process = run_flow(home, "gated", str(gates))
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/stream" in r.url else None)
    try:
        run_id = wait_for_run(store, process)
        page.goto(f"{ui_url(server)}/runs/flow-run/{run_id}")
        page.evaluate("window.sameDocument = true")  # gone if the page were reloaded

        # the first task shows up running, then completes; the map's three rows follow
        page.wait_for_selector(f"{_row('gate_first')} .seg.state-running", timeout=WAIT)
        assert page.locator("#task-table tbody tr").count() == 1
        (gates / "first").touch()
        page.wait_for_selector(f"{_row('gate_first')} .seg.state-completed", timeout=WAIT)
        page.wait_for_selector(f'{_row("gate_each")}[data-count="3"]', timeout=WAIT)
        assert page.locator(f"{_row('gate_each')} .gantt-count").inner_text() == "\u00d73"
        page.wait_for_function(
            "document.querySelectorAll('#task-table tbody tr').length === 4", timeout=WAIT
        )
        first_row = page.locator("#task-table tbody tr").first
        assert "Completed" in first_row.locator("td.state").inner_text()
        assert first_row.locator("td.start time[data-local]").count() == 1  # the browser's zone
        assert page.locator("#task-counts").inner_text().startswith("4")

        for i in range(3):
            (gates / f"each-{i}").touch()
        each = page.locator(_row("gate_each"))
        page.wait_for_function(
            f"""(() => {{ const row = document.querySelector('{_row("gate_each")}');
                return row && row.querySelectorAll('.seg').length === 1
                    && row.querySelector('.seg.state-completed'); }})()""",
            timeout=WAIT,
        )
        assert each.get_attribute("data-unfinished") == "0"

        # the subflow: a timeline row and a link, running, then completed
        page.wait_for_selector("#subflows:not([hidden]) li[data-subflow-id]", timeout=WAIT)
        link = page.locator("#subflows li").first
        assert "gated-child" in link.inner_text()
        assert page.locator("#timeline li.gantt-subflow").count() == 1
        (gates / "child").touch()
        page.wait_for_function(
            "document.querySelector('#subflows li .badge').textContent.includes('Completed')",
            timeout=WAIT,
        )

        # the run finishes: the final page replaces the live one, and the stream ends
        (gates / "last").touch()
        page.wait_for_selector("html[data-run-final]", timeout=WAIT)
        assert page.evaluate("window.sameDocument") is True
        assert page.locator("#run-state").inner_text().strip().endswith("Completed")
        assert page.locator("#run-page[sse-connect]").count() == 0
        rows = page.locator("#timeline li.gantt-row")
        assert rows.count() == 4  # three tasks (one mapped) and the subflow
        assert page.locator("#task-counts").inner_text().startswith("5")  # the child's is its own
        opened = len(streams)
        time.sleep(3)  # an open EventSource would reconnect within its 2 s retry
        assert len(streams) == opened == 1, streams
        assert process.wait(timeout=30) == 0
        assert store.read_flow_run(run_id).state.type is StateType.COMPLETED
    finally:
        for name in ("first", "each-0", "each-1", "each-2", "child", "last"):
            (gates / name).touch()
        if process.poll() is None:
            process.kill()
        process.wait()
        store.close()
