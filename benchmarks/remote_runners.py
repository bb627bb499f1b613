"""Per-task overhead of the Dask and Ray task runners against their raw engines.

    python benchmarks/remote_runners.py [--tasks 1000 10000] [--repeat 3] [--only dask|ray]

One cluster per engine (Dask: a LocalCluster of 2 worker processes with one thread each; Ray:
ray.init(num_cpus=2)), shared by both sides so neither pays a start-up. Each round maps N
trivial tasks through a Mainspring flow (`inc.map(range(N))`, results gathered, the run
history written to an embedded SQLite store) and through the raw engine (`client.map` +
`client.gather`; `[f.remote(i) ...]` + `ray.get`), alternately, so load drifting on a shared
machine hits both alike. Prints the median seconds and microseconds per task of each, and the
ratio (Mainspring / raw).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("MAINSPRING_HOME", tempfile.mkdtemp(prefix="mainspring-bench-"))
os.environ.setdefault("MAINSPRING_LOGGING_CONSOLE", "false")

from mainspring import flow, task


def inc(x: int) -> int:
    return x + 1


inc_task = task(inc, name="inc")


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def mainspring_side(runner):
    @flow(name="mapped", task_runner=runner)
    def mapped(n: int) -> list[int]:
        return inc_task.map(range(n)).result()

    def run(n: int) -> None:
        assert mapped(n)[-1] == n

    return run


def bench_dask(sizes: list[int], repeat: int) -> list[tuple]:
    import distributed

    from mainspring.integrations.dask import DaskTaskRunner

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)

    def raw(n: int) -> None:
        assert client.gather(client.map(inc, range(n), pure=False))[-1] == n

    ours = mainspring_side(DaskTaskRunner(address=cluster.scheduler_address))
    try:
        return measure("dask", raw, ours, sizes, repeat)
    finally:
        client.close()
        cluster.close()


def bench_ray(sizes: list[int], repeat: int) -> list[tuple]:
    import ray

    from mainspring.integrations.ray import RayTaskRunner

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    remote_inc = ray.remote(inc)

    def raw(n: int) -> None:
        assert ray.get([remote_inc.remote(i) for i in range(n)])[-1] == n

    ours = mainspring_side(RayTaskRunner())
    try:
        return measure("ray", raw, ours, sizes, repeat)
    finally:
        ray.shutdown()


def measure(engine: str, raw, ours, sizes: list[int], repeat: int) -> list[tuple]:
    raw(50)  # warm up: workers import what the tasks need
    ours(50)
    rows = []
    for n in sizes:
        raw_times, our_times = [], []
        for _ in range(repeat):
            raw_times.append(timed(raw, n))
            our_times.append(timed(ours, n))
        raw_s, our_s = statistics.median(raw_times), statistics.median(our_times)
        rows.append((engine, n, raw_s, our_s))
        print(row_text(rows[-1]), flush=True)
    return rows


def row_text(row: tuple) -> str:
    engine, n, raw_s, our_s = row
    return (
        f"{engine:<6}{n:>7}{raw_s:>10.2f}{our_s:>12.2f}"
        f"{raw_s / n * 1e6:>11.0f}{our_s / n * 1e6:>11.0f}{our_s / raw_s:>8.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["dask", "ray"])
    options = parser.parse_args()
    print(
        f"{'engine':<6}{'tasks':>7}{'raw s':>10}{'mainspring s':>12}"
        f"{'raw us/t':>11}{'ms us/t':>11}{'ratio':>8}"
    )
    for engine, bench in (("dask", bench_dask), ("ray", bench_ray)):
        if options.only in (None, engine):
            bench(options.tasks, options.repeat)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
