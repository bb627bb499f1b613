"""The scheduler tick with 1,000 deployments on 1-minute schedules (issue 12: < 200 ms).

    python benchmarks/scheduler.py [--deployments 1000] [--postgres | --database-url URL]

Registers the deployments (half cron `* * * * *`, half 60-second intervals) in a fresh SQLite
file (or the database URL given: an empty PostgreSQL database), then times each tick of:
- the first planning of the new deployments (600 s horizon: 10 runs each), in ticks bounded
  by the scheduler's time budget, following one another while a tick leaves work (`more`);
- ticks with nothing to do (every watermark ahead);
- a catch-up 545 s later, when every deployment needs more runs and none ran (no worker:
  ~9,000 runs to mark Late or Skip by the catch-up policy), ticks until none is left;
- a steady state: a tick every 5 s of (simulated) time for 5 minutes, runs still unworked
  (a tick that leaves work followed at once by the next, as the server's service does);
and checks that no (deployment, time) became two runs. Issue 12: every tick < 200 ms. Each
line gives this process's CPU time next to the wall time, and the idle tick and the load
average are the same-run baselines: on a loaded machine every figure grows with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mainspring.deploy.scheduler import Scheduler, TickFigures
from mainspring.model.deployments import Deployment
from mainspring.model.schedules import Cron, Interval
from mainspring.store.sql import SqlStore
from mainspring.testing import throwaway_postgres


def ticks_until_done(scheduler: Scheduler, now: float) -> list[TickFigures]:
    ticks = [scheduler.tick(now)]
    while ticks[-1].more:
        ticks.append(scheduler.tick(now))
    return ticks


def timed(ticks: Callable[[], list[TickFigures]]) -> tuple[list[TickFigures], float]:
    """The ticks and this process's CPU seconds for them (a database server's not
    included): next to the wall time, what the load average took away."""
    cpu = time.process_time()
    done = ticks()
    return done, time.process_time() - cpu


def report(what: str, ticks: list[TickFigures], cpu: float) -> None:
    ms = [t.seconds * 1000 for t in ticks]
    created = sum(t.created for t in ticks)
    ended = sum(len(t.late) + len(t.expired) for t in ticks)
    print(
        f"{what}: {len(ticks)} ticks, {created} runs created, {ended} marked Late or Skipped, "
        f"{sum(ms) / 1000:.2f} s in all ({cpu:.2f} s CPU here); a tick median "
        f"{statistics.median(ms):.1f} ms, max {max(ms):.1f} ms  (target < 200 ms)"
    )


def load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL cluster (fsync=off)"
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        url = args.database_url
        if args.postgres:
            url = stack.enter_context(throwaway_postgres())
        elif url is None:
            url = f"sqlite:///{tempfile.mkdtemp(prefix='mainspring-bench-')}/mainspring.db"
        return measure(url, args.deployments, args.ticks)


def measure(url: str, deployments: int, ticks: int) -> int:
    print(f"database: {url.split(':', 1)[0]}, {deployments} deployments")
    store = SqlStore(url)
    now = time.time()
    started = time.perf_counter()
    for i in range(deployments):
        schedule = Cron("* * * * *") if i % 2 else Interval(60)
        store.upsert_deployment(
            Deployment(
                flow_name="bench", name=f"d{i:04}", entrypoint="b.py:f", schedules=[schedule]
            ),
            now=now,
        )
    print(f"registered {deployments} deployments in {time.perf_counter() - started:.1f} s")

    print(load())
    scheduler = Scheduler(store)
    # new deployments: planned in bounded ticks, one after the other (`more`)
    first, cpu = timed(lambda: ticks_until_done(scheduler, now))
    report("first planning of the new deployments", first, cpu)
    idle, cpu = timed(lambda: [scheduler.tick(now + 1 + i * 0.1) for i in range(ticks)])
    report("idle: nothing due, every watermark ahead (the same-run baseline)", idle, cpu)
    # 545 s later: every watermark within `lead`, every run unworked (no worker): planning
    # plus ~9 missed runs a deployment to mark Late or Skip
    caught, cpu = timed(lambda: ticks_until_done(scheduler, now + 545))
    report("catch-up: all need more runs and none ran", caught, cpu)
    # a tick every 5 s, each followed at once by more while it leaves work, as the service does
    steady, cpu = timed(
        lambda: [t for i in range(60) for t in ticks_until_done(scheduler, now + 546 + i * 5)]
    )
    report("steady, a tick every 5 s for 5 minutes (1,000 runs a minute going Late)", steady, cpu)
    print(load())
    total = duplicates = 0
    for deployment in store.read_deployments():
        times = [r.expected_start_time for r in store.read_deployment_runs(deployment.id)]
        total += len(times)
        duplicates += len(times) - len(set(times))
    print(f"{total} runs, {duplicates} (deployment, time) pairs made twice")
    store.close()
    return 1 if duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
