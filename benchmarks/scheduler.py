"""The scheduler tick with 1,000 deployments on 1-minute schedules (issue 12: < 200 ms).

    python benchmarks/scheduler.py [--deployments 1000] [--database-url URL] [--ticks 20]

Registers the deployments (half cron `* * * * *`, half 60-second intervals) in a fresh SQLite
file (or the database URL given: an empty PostgreSQL database), then times:
- planning the new deployments (600 s horizon: 10 runs each), `plan_limit` per tick;
- ticks with nothing to do (every watermark ahead): what the scheduler costs every few seconds
  (the figure issue 12 asks for);
- a tick 545 s later when every deployment needs more runs and none ran (no worker: Late and
  skipped runs too), bounded by the planning budget, and the ticks after it;
and checks that no (deployment, time) became two runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mainspring.deploy.scheduler import Scheduler
from mainspring.model.deployments import Deployment
from mainspring.model.schedules import Cron, Interval
from mainspring.store.sql import SqlStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="mainspring-bench-")
    url = args.database_url or f"sqlite:///{folder}/mainspring.db"
    store = SqlStore(url)
    now = time.time()
    started = time.perf_counter()
    for i in range(args.deployments):
        schedule = Cron("* * * * *") if i % 2 else Interval(60)
        store.upsert_deployment(
            Deployment(
                flow_name="bench", name=f"d{i:04}", entrypoint="b.py:f", schedules=[schedule]
            ),
            now=now,
        )
    print(f"registered {args.deployments} deployments in {time.perf_counter() - started:.1f} s")

    scheduler = Scheduler(store)
    ticks, spent, created = 0, 0.0, 0
    while True:  # new deployments: planned whatever the budget, `plan_limit` a tick
        figures = scheduler.tick(now)
        if not figures.planned:
            break
        ticks, spent, created = ticks + 1, spent + figures.seconds, created + figures.created
    print(f"planning the new deployments: {ticks} ticks, {created} runs in {spent:.1f} s")
    idle = [scheduler.tick(now + 1 + i * 0.1).seconds * 1000 for i in range(args.ticks)]
    print(
        f"tick with nothing due (every watermark ahead): median {statistics.median(idle):.1f} ms, "
        f"max {max(idle):.1f} ms  (target < 200 ms)"
    )
    burst = scheduler.tick(now + 545)  # every watermark within `lead`, every run unworked
    print(f"tick when all need more runs and none ran (no worker): {burst}")
    late = [scheduler.tick(now + 546 + i * 0.1).seconds * 1000 for i in range(args.ticks)]
    print(f"following ticks (Late runs waiting): median {statistics.median(late):.1f} ms")
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
