"""Lateness of served runs: a flow served on a 1-second interval, how long after its scheduled
time each run was claimed and started (issue 12: median < 20 ms, p99 < 100 ms over 300 runs).

    python benchmarks/serve_lateness.py [--runs 300]

Runs `serve()` in a subprocess over a fresh MAINSPRING_HOME for about `runs` seconds, stops it
with SIGTERM, and reads the runs back. "Started" is the run's start_time (Running, recorded by
the subprocess just before the flow's first line); "claimed" is when serve() took it (before
its time with the default prefetch). `--spawn`: the same-run baseline, runs started as new
interpreters without prefetch.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

FLOW = """
from mainspring import flow

@flow
def tick() -> None:
    pass

if __name__ == "__main__":
    tick.serve("every-second", interval=1)
"""


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def baselines() -> str:
    """The machine's own lateness in the same run: how late a 10 ms sleep wakes (300 times),
    and how long a bare `python -c pass` takes to start and exit (10 times)."""
    late = []
    for _ in range(300):
        started = time.perf_counter()
        time.sleep(0.01)
        late.append((time.perf_counter() - started - 0.01) * 1000)
    starts = []
    for _ in range(10):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        starts.append((time.perf_counter() - started) * 1000)
    return (
        f"baselines: a 10 ms sleep wakes median {statistics.median(late):.2f} ms, "
        f"p99 {quantile(late, 0.99):.2f} ms, max {max(late):.1f} ms late; "
        f"python -c pass: median {statistics.median(starts):.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="the same-run baseline: runs started as new interpreters (a warm spare), no "
        "prefetch (MAINSPRING_RUNNER_FORK=false, MAINSPRING_WORKER_PREFETCH_SECONDS=0)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mainspring-lateness-"))
    (folder / "tick.py").write_text(textwrap.dedent(FLOW))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env.update(MAINSPRING_HOME=str(folder / "home"), PYTHONPATH=str(SRC))
    if args.spawn:
        env.update(MAINSPRING_RUNNER_FORK="false", MAINSPRING_WORKER_PREFETCH_SECONDS="0")
    load = os.getloadavg()
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen([sys.executable, "tick.py"], cwd=folder, env=env)
    time.sleep(args.runs + 2)
    process.send_signal(signal.SIGTERM)
    process.wait(60)

    os.environ.update(MAINSPRING_HOME=str(folder / "home"))
    from mainspring.settings import get_settings
    from mainspring.store.sql import SqlStore

    store = SqlStore(get_settings().effective_database_url)
    deployment = store.find_deployment("tick", "every-second")
    runs = store.read_deployment_runs(deployment.id, states=["Completed"])
    started = [(r.run.start_time or 0) - (r.expected_start_time or 0) for r in runs]
    claimed = [(r.claimed_at or 0) - (r.expected_start_time or 0) for r in runs]
    store.close()
    print(baselines())
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = usage.ru_utime + usage.ru_stime - cpu.ru_utime - cpu.ru_stime
    how = "new interpreters, no prefetch" if args.spawn else "forked, prefetched"
    print(
        f"{len(runs)} runs completed ({how}; serve() and its processes used {used:.1f} s "
        f"CPU; load average before/after: {load} / {os.getloadavg()})"
    )
    for what, values in (("claimed", claimed), ("started", started)):
        ms = [v * 1000 for v in values]
        print(
            f"{what}: median {statistics.median(ms):.1f} ms, p99 {quantile(ms, 0.99):.1f} ms, "
            f"max {max(ms):.1f} ms after the scheduled time"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
