"""Run every benchmark scenario several times, each in its own process, and print medians.

    python benchmarks/run_all.py [--repeat 5] [--server]

Each scenario runs with default settings (recording into an embedded SQLite store in a
temporary MAINSPRING_HOME, console logging on but sent to /dev/null). With `--server` the
scenarios record into a `mainspring server start` process on this machine instead
(MAINSPRING_API_URL; the server uses the SQLite file of its own temporary home).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = ["flow_one_task", "sequential_1000", "mapped_1000", "mapped_10000", "subflows_100"]


def run_json(args: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(rows: list[dict]) -> dict:
    merged = dict(rows[0])
    for key, value in rows[0].items():
        if isinstance(value, float):
            merged[key] = statistics.median(r[key] for r in rows)
    return merged


@contextmanager
def server() -> Iterator[str]:
    """A `mainspring server start` process on a free port; yields its API URL."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
        command = [sys.executable, "-m", "mainspring.cli.main", "server", "start"]
        process = subprocess.Popen(
            [*command, "--port", str(port), "--log-level", "warning"],
            env={**env, "MAINSPRING_HOME": home},
            stdin=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/api"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{url}/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--server", action="store_true", help="record into a local server")
    options = parser.parse_args()
    repeat = options.repeat
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"# medians of {repeat} runs, each in a fresh process\n")
    with server() if options.server else nullcontext(None) as url:
        if url:
            print(f"# recording into the server at {url}\n")
        extra = {"MAINSPRING_API_URL": url} if url else {}
        results = []
        for name in SCENARIOS:
            rows = []
            for _ in range(repeat):
                with tempfile.TemporaryDirectory() as home:
                    env = {**os.environ, "MAINSPRING_HOME": home, **extra}
                    rows.append(run_json([sys.executable, str(HERE / "scenario.py"), name], env))
            results.append(median_of(rows))
    startup = median_of(
        [
            run_json([sys.executable, str(HERE / "startup.py")], dict(os.environ))
            for _ in range(repeat)
        ]
    )
    header = (
        f"{'scenario':<18}{'tasks':>7}{'seconds':>10}{'plain s':>10}{'pool s':>10}"
        f"{'us/task total':>14}{'us/task body':>13}{'peak MiB':>10}"
    )
    print(header)
    for r in results:
        print(
            f"{r['scenario']:<18}{r['tasks']:>7}{r['seconds']:>10.4f}{r['plain_seconds']:>10.4f}"
            f"{r['thread_pool_seconds']:>10.4f}{r['overhead_us_per_task']:>14.1f}"
            f"{r['in_flow_us_per_task']:>13.1f}"
            f"{r['peak_rss_mib']:>10.1f}"
        )
    print(
        f"\nimport mainspring: {startup['import_seconds'] * 1000:.1f} ms; "
        f"hello-world process: {startup['hello_world_process_seconds'] * 1000:.0f} ms "
        f"(bare python: {startup['python_bare_seconds'] * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
