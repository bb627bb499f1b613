"""What a live flow-run page costs while a 1,000-task run streams: CPU seconds per minute of
watching, of the server and of the browser.

Runs a real flow (1,000 mapped tasks, ten at a time, each sleeping so the run lasts about
SECONDS) twice against `mainspring server start` on SQLite: once with no page open (the
baseline: the server taking the run's writes), once with PAGES browser pages (headless
Debian chromium through Playwright) open on the run's page from its start to its end. Prints
the server's CPU in both, the difference (what the pages' streams cost), the browser's CPU
(all its processes) and its pages' main-thread busy time (Chrome's TaskDuration), each per
minute of watching.
Usage: python benchmarks/ui_live_cpu.py [SECONDS] [PAGES]   (defaults: 60 and 1)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

import psutil

TASKS = 1000
WORKERS = 10
CHROMIUM = os.environ.get("MAINSPRING_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _flow(seconds: float) -> None:
    """The watched run (in a process of its own): prints its id, then runs."""
    from mainspring import flow, task
    from mainspring.engine.context import get_run_context
    from mainspring.engine.runners.thread import ThreadPoolTaskRunner

    pause = seconds * WORKERS / TASKS

    @task
    def step(i: int) -> int:
        time.sleep(pause)
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=WORKERS))
    def streamed() -> int:
        print(get_run_context().flow_run.id, flush=True)
        return sum(step.map(range(TASKS)).result())

    streamed()


def _cpu(process: psutil.Process, children: bool = False) -> float:
    procs = [process, *process.children(recursive=True)] if children else [process]
    total = 0.0
    for p in procs:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _start_flow(env: dict[str, str], seconds: float) -> tuple[subprocess.Popen, str]:
    flow = subprocess.Popen(
        [sys.executable, __file__, "--flow", str(seconds)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    run_id = flow.stdout.readline().strip()  # type: ignore[union-attr]
    if not run_id:
        raise SystemExit(f"the flow did not start (exit {flow.wait()})")
    url = f"{env['MAINSPRING_API_URL']}/flow_runs/{run_id}"
    for _ in range(200):  # the run's row arrives with the recorder's first batch
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return flow, run_id


def _watch(base: str, env: dict[str, str], seconds: float, pages: int, server: Any) -> dict:
    """One run of the flow with `pages` pages open on it; CPU seconds of each party."""
    flow, run_id = _start_flow(env, seconds)
    if not pages:
        before, started = _cpu(server), time.monotonic()
        flow.wait()
        return {"server": _cpu(server) - before, "wall": time.monotonic() - started}
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        chrome = next(
            p for p in psutil.Process().children(recursive=True) if "chrom" in p.name().lower()
        )
        opened = [browser.new_page(viewport={"width": 1280, "height": 800}) for _ in range(pages)]
        sessions = [page.context.new_cdp_session(page) for page in opened]
        for session in sessions:
            session.send("Performance.enable")
        before_server, before_browser = _cpu(server), _cpu(chrome, children=True)
        started = time.monotonic()
        for page in opened:
            page.goto(f"{base}/runs/flow-run/{run_id}")
        while flow.poll() is None:
            opened[0].wait_for_timeout(500)  # the pages run their scripts meanwhile
        opened[0].wait_for_selector("html[data-run-final]", state="attached", timeout=30_000)
        wall = time.monotonic() - started
        busy = 0.0
        for session in sessions:
            metrics = session.send("Performance.getMetrics")["metrics"]
            busy += next(m["value"] for m in metrics if m["name"] == "TaskDuration")
        rows = opened[0].locator("#task-table tbody tr").count()
        result = {
            "server": _cpu(server) - before_server,
            "browser": _cpu(chrome, children=True) - before_browser,
            "main_thread": busy,
            "wall": wall,
            "rows": rows,
        }
        browser.close()
    return result


def main(seconds: float, pages: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
        env |= {"MAINSPRING_HOME": home, "MAINSPRING_LOGGING_CONSOLE": "false"}
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        env_server = env | {"MAINSPRING_SERVER_CRASH_DETECTOR": "false"}
        command = [sys.executable, "-m", "mainspring.cli.main", "server", "start"]
        server = subprocess.Popen(
            [*command, "--port", str(port), "--log-level", "warning"],
            env=env_server,
            stdin=subprocess.DEVNULL,
        )
        env["MAINSPRING_API_URL"] = f"{base}/api"  # the run's writes go through the server
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/api/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            process = psutil.Process(server.pid)
            alone = _watch(base, env, seconds, 0, process)
            watched = _watch(base, env, seconds, pages, process)
        finally:
            server.terminate()
            server.wait(timeout=10)

    def per_minute(cpu: float, wall: float) -> str:
        return f"{cpu / wall * 60:6.2f} CPU s/min"

    print(f"{TASKS} task runs over ~{seconds:.0f} s, {pages} page(s) watching; SQLite, via the API")
    print(f"  server, no page open:   {per_minute(alone['server'], alone['wall'])}")
    print(f"  server, pages open:     {per_minute(watched['server'], watched['wall'])}")
    extra = watched["server"] / watched["wall"] - alone["server"] / alone["wall"]
    print(f"  server, the streams:    {extra * 60:6.2f} CPU s/min")
    print(f"  browser, all processes: {per_minute(watched['browser'], watched['wall'])}")
    print(f"  pages' main threads:    {per_minute(watched['main_thread'], watched['wall'])}")
    print(f"  (task-table rows on the page at the end: {watched['rows']})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--flow"]:
        _flow(float(sys.argv[2]))
    else:
        main(float(sys.argv[1]) if len(sys.argv) > 1 else 60.0,
             int(sys.argv[2]) if len(sys.argv) > 2 else 1)  # fmt: skip
