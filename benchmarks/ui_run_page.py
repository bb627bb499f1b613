"""The flow-run page of a run with 10,000 task runs: server-side HTML time, and the time a
browser takes to open it and have its timeline usable.

Seeds one flow run of N task runs (one mapped task, with a failed run every 1,000, each fed
by one upstream task: N edges) and two log lines per task run, through `SqlStore.write` (as
the recorder would). Times `GET /runs/flow-run/ID` (and one task run's page) in-process,
printing the median; then, when Playwright and Debian's chromium are present, serves the
database with `mainspring server start` and times the browser from navigation to `load`, and
to the timeline's group opened by a click (its first runs visible).
Usage: python benchmarks/ui_run_page.py [N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import httpx

from mainspring.model import FlowRun, LogRecord, State, StateType, TaskRun, TaskRunEdge, new_id
from mainspring.server.app import create_app
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

CHROMIUM = os.environ.get("MAINSPRING_TEST_CHROMIUM", "/usr/bin/chromium")


def seed(store: SqlStore, n: int) -> tuple[str, str]:
    t0 = time.time() - 3600
    run = FlowRun(
        new_id(),
        "big-map",
        "etl",
        State(StateType.FAILED, message="1 task failed", ts=t0 + 600),
        created=t0,
        start_time=t0,
        end_time=t0 + 600,
        run_count=1,
    )
    source = TaskRun(
        new_id(),
        "load-0",
        "load",
        "load-0",
        State(StateType.COMPLETED, ts=t0 + 1),
        flow_run_id=run.id,
        created=t0,
        start_time=t0,
        end_time=t0 + 1,
        run_count=1,
    )
    store.write(Batch(flow_runs={run.id: run}, task_runs={source.id: source}))
    for start in range(0, n, 5000):
        batch = Batch()
        for i in range(start, min(n, start + 5000)):
            begin = t0 + 1 + i * 590 / n
            kind = StateType.FAILED if i % 1000 == 999 else StateType.COMPLETED
            task = TaskRun(
                new_id(),
                f"transform-{i}",
                "transform",
                f"transform-{i}",
                State(kind, ts=begin + 0.5),
                flow_run_id=run.id,
                created=begin,
                start_time=begin,
                end_time=begin + 0.5,
                run_count=1,
            )
            batch.task_runs[task.id] = task
            batch.edges.append(TaskRunEdge(run.id, task.id, source.id))
            for j, level in enumerate((20, 40 if kind is StateType.FAILED else 20)):
                batch.logs.append(
                    LogRecord(
                        run.id,
                        task.id,
                        level,
                        "mainspring.task_runs",
                        f"line {j} of {task.name}",
                        begin + j * 0.1,
                    )
                )
        store.write(batch)
    return run.id, source.id


def median_ms(client: TestClient, path: str, repeat: int = 15) -> str:
    """The median wall time of GET `path`, and its CPU time (all threads of this process):
    on a loaded machine the wall time counts the waits for a CPU, the CPU time does not."""
    client.get(path)  # warm
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        answer = client.get(path)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        assert answer.status_code == 200, answer.text[:500]
    return f"{statistics.median(walls):.1f} ms median wall, {statistics.median(cpus):.1f} ms CPU"


def browser_times(home: Path, run_id: str) -> tuple[float, float, int] | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not os.access(CHROMIUM, os.X_OK):
        return None
    port = 4290
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env |= {"MAINSPRING_HOME": str(home), "MAINSPRING_SERVER_CRASH_DETECTOR": "false"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mainspring.cli.main",
            "server",
            "start",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            url = f"http://127.0.0.1:{port}/runs/flow-run/{run_id}"
            page.goto(url)  # warm the server and the static files
            started = time.perf_counter()
            page.goto(url, wait_until="load")
            loaded = time.perf_counter() - started
            page.locator('.gantt-row[data-name="transform"] summary').click()
            page.locator(".gantt-members li").first.wait_for(state="visible")
            usable = time.perf_counter() - started
            elements = page.evaluate("document.getElementsByTagName('*').length")
            browser.close()
        return loaded * 1000, usable * 1000, elements
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    home = Path(tempfile.mkdtemp(prefix="ms-bench-ui-run-"))
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}")
    started = time.perf_counter()
    run_id, source_id = seed(store, n)
    print(
        f"seeded 1 flow run with {n + 1:,} task runs, {2 * n:,} log lines "
        f"in {time.perf_counter() - started:.1f} s"
    )
    with TestClient(create_app(store, services=False), base_url="http://127.0.0.1:4200") as c:
        page = c.get(f"/runs/flow-run/{run_id}").text
        flow_page, graph = f"/runs/flow-run/{run_id}", f"/runs/flow-run/{run_id}/graph?fragment=1"
        print(f"flow-run page HTML: {median_ms(c, flow_page)} ({len(page) / 1024:.0f} KiB)")
        print(f"its dependency graph (loaded when shown): {median_ms(c, graph)}")
        task_page = f"/runs/task-run/{source_id}"
        print(f"task-run page HTML (the upstream of {n:,}): {median_ms(c, task_page)}")
    store.close()
    measured = browser_times(home, run_id)
    if measured is None:
        print("browser: skipped (no Playwright or chromium)")
    else:
        loaded, usable, elements = measured
        print(
            f"browser: load {loaded:.0f} ms, timeline group opened {usable:.0f} ms after "
            f"navigation; {elements:,} elements in the page"
        )


if __name__ == "__main__":
    main()
