"""One benchmark scenario, run in a fresh process: `python scenario.py NAME`.

Prints one JSON line: wall seconds of the Mainspring run, of the same work as plain Python
calls and through `concurrent.futures.ThreadPoolExecutor` (measured in this same process, so
a busy machine slows all three alike), the per-task overhead of the whole flow call (which
ends by waiting until the run history is written) and of the flow body alone, and peak RSS.
The baseline is plain calls for sequential scenarios and the thread pool for mapped ones.
"""

from __future__ import annotations

import concurrent.futures as cf
import gc
import json
import resource
import sys
import time

SCENARIOS = {
    "flow_one_task": (1, "call"),
    "sequential_1000": (1_000, "call"),
    "mapped_1000": (1_000, "map"),
    "mapped_10000": (10_000, "map"),
    "subflows_100": (100, "subflow"),
}


def work(x: int) -> int:
    return x + 1


def plain(n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        work(i)
    return time.perf_counter() - start


def thread_pool(n: int) -> float:
    start = time.perf_counter()
    with cf.ThreadPoolExecutor() as pool:
        for future in [pool.submit(work, i) for i in range(n)]:
            future.result()
    return time.perf_counter() - start


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(name: str) -> None:
    n, kind = SCENARIOS[name]
    from mainspring import flow, task

    step = task(work, name="work")

    @flow(name="child")
    def child(i: int) -> int:
        return step(i)

    in_flow: list[float] = []

    @flow(name=name)
    def bench(n: int) -> None:
        start = time.perf_counter()
        if kind == "call":
            for i in range(n):
                step(i)
        elif kind == "map":
            step.map(range(n)).result()
        else:
            for i in range(n):
                child(i)
        in_flow.append(time.perf_counter() - start)

    @flow(name="warm-up")
    def warm_up() -> None:
        step(0)

    warm_up()  # the first run pays for opening the store; measure steady state
    # ...and for the full garbage collection that the imports behind it bring due (~1 us per
    # live object, 40-90 ms here). Where that collection falls depends on the store: SQLite's
    # imports trigger it during the warm-up, the API client's smaller ones leave it due, to
    # land in the measured flow's body. Collecting here, in both modes, measures both alike.
    gc.collect()
    start = time.perf_counter()
    bench(n)
    elapsed = time.perf_counter() - start
    base_plain = plain(n)
    base_pool = thread_pool(n)
    baseline = base_pool if kind == "map" else base_plain
    print(
        json.dumps(
            {
                "scenario": name,
                "tasks": n,
                "seconds": elapsed,
                "plain_seconds": base_plain,
                "thread_pool_seconds": base_pool,
                "overhead_us_per_task": (elapsed - baseline) / n * 1e6,
                # the flow body alone: what the task calls cost while the flow runs, before the
                # flow's end waits for the recorder to write the last of the run history
                "in_flow_us_per_task": (in_flow[0] - baseline) / n * 1e6,
                "peak_rss_mib": peak_rss_mib(),
            }
        ),
        file=sys.__stdout__,
    )


if __name__ == "__main__":
    main(sys.argv[1])
