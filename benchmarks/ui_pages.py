"""How long each web UI page takes to render with a long history in the database.

    python benchmarks/ui_pages.py [--runs 100000] [--repeat 7] [--database-url URL]

Fills a fresh database (SQLite in a temporary folder by default) with `--runs` flow runs over
30 days, 3 task runs each (benchmarks/ui_fill.py, in bulk through Store.write), then requests
each page in-process (the app over httpx's ASGI transport: no network, but the whole app:
middleware, store queries, templates) and prints per page the median and worst wall time and
the median CPU time of the process (on a machine shared with other work the wall time
includes waiting for a CPU; the CPU time does not, and includes the test client's own small
share). The target (issue 13) is under 100 ms per page with 100,000 flow runs.
`--keep FILE` keeps the filled SQLite database there and reuses it when it exists.
`--deployments N` registers N deployments (cron schedules in several zones, a typed parameter
schema) over 10 work pools, with a worker each, for the deployments and work pools pages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui_fill import fill

TARGET_MS = 100.0


POOLS = 10


def add_deployments(store: Any, count: int) -> str:
    """`count` deployments over `POOLS` pools (one worker each); returns the first's id."""
    from mainspring.model.deployments import Deployment, WorkPool
    from mainspring.model.schedules import Cron

    zones = ["UTC", "Europe/Oslo", "America/New_York", "Asia/Tokyo"]
    schema = {
        "type": "object",
        "properties": {
            "day": {"type": "string"},
            "limit": {"type": "integer", "default": 100},
            "tables": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["day"],
    }
    pools = [f"pool-{i}" for i in range(POOLS)]
    for pool in pools:
        store.create_work_pool(WorkPool(pool))
        store.worker_heartbeat(pool, f"{pool}-worker")
    first = ""
    for i in range(count):
        deployment = store.upsert_deployment(
            Deployment(
                f"flow-{i % 50}", f"deployment-{i}", entrypoint="flows.py:f",
                parameter_openapi_schema=schema, work_pool_name=pools[i % POOLS],
                schedules=[Cron(f"{i % 60} */2 * * *", timezone=zones[i % 4]).to_dict()],
                paused=i % 7 == 0,
            )
        )  # fmt: skip
        first = first or deployment.id
        if i % 10 == 0:  # some waiting runs for the pools' pages
            store.create_deployment_run(deployment.id, {"day": "2026-12-01"})
    return first


def deep_cursor(store: Any, depth: int = 74_950) -> str:
    """The page link's cursor for the runs after the `depth`th (page 1,500's, newest first)."""
    from mainspring.model import FlowRunSort
    from mainspring.model.run_cursor import RunCursor

    run = store.read_flow_runs(limit=1, offset=depth - 1)[0]
    return RunCursor.of(run, FlowRunSort.START_TIME_DESC).encode()


def pages(flow_id: str, deployment_id: str | None = None, cursor: str = "") -> list[str]:
    extra = (
        [
            "/deployments",
            f"/deployments/deployment/{deployment_id}",
            "/work-pools",
            "/work-pools/work-pool/pool-0",
        ]
        if deployment_id
        else []
    )
    return [
        *extra,
        "/dashboard",
        "/dashboard?window=7d",
        "/dashboard?window=30d",
        "/runs",
        "/runs?state=FAILED&state=CRASHED",
        "/runs?q=otter",
        "/runs?flow=nightly-etl&window=7d&sort=NAME_ASC",
        "/runs?tags=finance",
        "/runs?page=1500",
        *([f"/runs?page=1500&after={cursor}"] if cursor else []),
        "/flows",
        "/flows?window=30d",
        f"/flows/flow/{flow_id}",
        "/settings",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", help="an empty database to fill (default: SQLite)")
    parser.add_argument("--keep", type=Path, help="a SQLite file to keep (and reuse) the fill in")
    parser.add_argument("--deployments", type=int, default=0, help="deployments to register")
    args = parser.parse_args()

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from mainspring.server.app import create_app
    from mainspring.store.sql import SqlStore

    with tempfile.TemporaryDirectory() as folder:
        reuse = args.keep is not None and args.keep.exists()
        path = args.keep or Path(folder) / "ui.db"
        url = args.database_url or f"sqlite:///{path.resolve()}"
        store = SqlStore(url, end_dead_runs=False)
        if reuse:
            print(f"reusing {path}: {store.count_flow_runs():,} flow runs")
        else:
            began = time.perf_counter()
            fill(store, args.runs)
            print(f"filled {args.runs:,} flow runs (3 task runs each) in "
                  f"{time.perf_counter() - began:.1f} s on {url.split(':')[0]}")  # fmt: skip
        flow_id = next(f.id for f in store.read_flows() if f.name == "nightly-etl")
        deployment_id = None
        if args.deployments:
            began = time.perf_counter()
            existing = store.read_deployments()
            deployment_id = existing[0].id if existing else add_deployments(store, args.deployments)
            print(f"{len(store.read_deployments()):,} deployments in {POOLS} pools "
                  f"({time.perf_counter() - began:.1f} s)")  # fmt: skip
        client = TestClient(create_app(store, services=False), base_url="http://127.0.0.1:4200")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'page':<48} {'wall ms':>8} {'worst':>7} {'cpu ms':>7}  bytes")
        slowest = 0.0
        for page in pages(flow_id, deployment_id, deep_cursor(store)):
            walls, cpus = [], []
            for _ in range(args.repeat + 1):  # the first one warms caches and is dropped
                t0, c0 = time.perf_counter(), time.process_time()
                answer = client.get(page)
                walls.append((time.perf_counter() - t0) * 1000)
                cpus.append((time.process_time() - c0) * 1000)
                assert answer.status_code == 200, (page, answer.status_code, answer.text[:500])
            wall, worst, cpu = (
                statistics.median(walls[1:]),
                max(walls[1:]),
                statistics.median(cpus[1:]),
            )
            slowest = max(slowest, cpu)
            label = page.replace(flow_id, "ID").split("&after=")[0]
            label = label.replace(deployment_id, "ID") if deployment_id else label
            label += " (by cursor)" if "&after=" in page else ""
            print(f"{label:<48} {wall:>8.1f} {worst:>7.1f} {cpu:>7.1f}  {len(answer.content):,}")
        verdict = "met" if slowest < TARGET_MS else "NOT met"
        print(f"slowest median CPU {slowest:.1f} ms: target < {TARGET_MS:.0f} ms {verdict}")
        store.close()


if __name__ == "__main__":
    main()
