"""What a tag concurrency limit costs a task run: `python benchmarks/tag_limits.py [--repeat 5]`.

Runs 1,000 mapped tasks per flow in one process (embedded SQLite store, console off), in
alternating rounds so drift on a shared machine hits all alike, four ways: no tags; tagged
with a tag that has no limit (one read of the limits per flow run, then nothing per task);
tagged with a limit that never fills (each run takes and gives back a lease: two small write
transactions); and that limit over a server would add two requests per run. Prints the median
flow-body microseconds per task of each, minus a thread-pool baseline, as one JSON line.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import statistics
import sys
import tempfile
import time

N = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    os.environ["MAINSPRING_HOME"] = tempfile.mkdtemp()
    os.environ["MAINSPRING_LOGGING_CONSOLE"] = "false"
    from mainspring import flow, task
    from mainspring.model.concurrency import ConcurrencyLimit
    from mainspring.store import get_store

    get_store().create_concurrency_limit(ConcurrencyLimit("tag:limited", 10_000))
    variants = {
        "untagged": task(lambda x: x + 1, name="untagged"),
        "tag_without_limit": task(lambda x: x + 1, name="free", tags=["free"]),
        "tag_with_limit": task(lambda x: x + 1, name="limited", tags=["limited"]),
    }
    body: dict[str, list[float]] = {name: [] for name in variants}

    def pool() -> float:
        start = time.perf_counter()
        with cf.ThreadPoolExecutor() as ex:
            list(ex.map(lambda x: x + 1, range(N)))
        return time.perf_counter() - start

    for name, step in variants.items():  # warm-up: open the store, import what each path needs

        @flow(name=f"warm-{name}")
        def warm(step=step) -> None:
            step.map(range(10)).result()

        warm()
    for _ in range(options.repeat):
        for name, step in variants.items():

            @flow(name=name)
            def bench(step=step, name=name) -> None:
                start = time.perf_counter()
                step.map(range(N)).result()
                body[name].append(time.perf_counter() - start - pool())

            bench()
    result = {name: round(statistics.median(v) / N * 1e6, 1) for name, v in body.items()}
    print(json.dumps({"us_per_task_in_flow_body": result, "repeat": options.repeat}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
