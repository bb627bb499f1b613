"""List-runs latency of the server API with 100,000 flow runs in SQLite.

Seeds the runs through `SqlStore.write` (as the recorder would), then times
`GET /api/flow_runs?limit=50` with several filters through the app in-process (the HTTP stack
without a socket), printing the median of each. Usage: python benchmarks/api_list_runs.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from mainspring.model import FlowRun, State, StateType, new_id
from mainspring.server.app import create_app
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

FLOWS = [f"flow-{i}" for i in range(20)]
STATES = [StateType.COMPLETED] * 7 + [StateType.FAILED, StateType.RUNNING, StateType.CRASHED]
T0 = 1_700_000_000.0


def seed(store: SqlStore, n: int) -> None:
    for start in range(0, n, 10_000):
        batch = Batch()
        for i in range(start, min(n, start + 10_000)):
            ts = T0 + i * 10
            run = FlowRun(
                id=new_id(),
                name=f"run-{i}",
                flow_name=FLOWS[i % len(FLOWS)],
                state=State(STATES[i % len(STATES)], ts=ts + 5),
                tags=["nightly"] if i % 10 == 0 else [],
                created=ts,
                start_time=ts,
                end_time=ts + 5,
                run_count=1,
            )
            batch.flow_runs[run.id] = run
        store.write(batch)


def median_ms(client: TestClient, params: dict, repeat: int = 25) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        response = client.get("/api/flow_runs", params=params)
        times.append(time.perf_counter() - t)
        assert response.status_code == 200, response.text
    return statistics.median(times) * 1000


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        store = SqlStore(f"sqlite:///{Path(folder) / 'mainspring.db'}")
        t = time.perf_counter()
        seed(store, n)
        print(f"seeded {n} flow runs in {time.perf_counter() - t:.1f} s")
        mid = "2023-11-20T00:00:00Z"  # about a third of the way in
        cases = {
            "no filter (newest 50)": {},
            "flow_name": {"flow_name": "flow-7"},
            "state=FAILED": {"state": "FAILED"},
            "state=COMPLETED": {"state": "COMPLETED"},
            "tag=nightly": {"tag": "nightly"},
            "started_after": {"started_after": mid},
            "flow_name+state+after": {
                "flow_name": "flow-3",
                "state": "FAILED",
                "started_after": mid,
            },
            "offset=50000": {"offset": 50_000},
            "sort=NAME_ASC": {"sort": "NAME_ASC"},
        }
        with TestClient(create_app(store)) as client:
            # the same depth by cursor: the page after the 50,000th run
            before = client.get("/api/flow_runs", params={"limit": 1, "offset": 49_999})
            cases["after=cursor (50000)"] = {"after": before.json()["next_cursor"]}
            cases["name=run-4242"] = {"name": "run-4242"}
            for label, params in cases.items():
                params = {"limit": 50, **params}
                print(f"GET /api/flow_runs {label:<24} median {median_ms(client, params):7.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
