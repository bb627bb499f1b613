"""`mainspring deployment run` to the flow's first line with a warm worker, and a worker
starting 100 queued runs (issue 12: < 0.5 s; < 5 s), on the embedded store.

    python benchmarks/deployment_run.py [--repeat 10] [--queued 100] [--server]

With `--server`, a `mainspring server start` over the same database runs alongside, and the CLI
and the workers go through it (MAINSPRING_API_URL): the CLI then loads no SQL store.

A fresh MAINSPRING_HOME, a work pool and a deployment of a flow whose first line appends
time.time() to a file; a `mainspring worker start` process on the pool, given a few seconds to
warm up (its spare subprocess loaded). Then, `--repeat` times, one after the other:
`mainspring deployment run hello/bench` as a process of its own, until that first line ran.
Where the time goes comes from the run's own record: created (the CLI's insert), claimed
(`claimed_at`, the worker), started (`start_time`: the subprocess recorded Running, just before
the flow's first line) and the first line itself. The same-run baselines: starting a bare
`python -c pass`, and a process that imports the CLI (`python -m mainspring.cli.main --help`).

Then `--queued` runs are created with the worker stopped, and a new worker is started: the
time from starting it until every run's first line ran (subprocess starts included), with runs
forked from the worker's fork server (the default), then with MAINSPRING_RUNNER_FORK=false
(a new interpreter per run: the same-run baseline), each with its CPU time.
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
from contextlib import ExitStack
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from cli_startup import server  # noqa: E402  # benchmarks/, on the path as the script's folder

FLOW = """
import time
from mainspring import flow

@flow
def hello(marks: str) -> None:
    with open(marks, "a") as out:
        out.write(f"{time.time()}\\n")
"""


def seconds_of(command: list[str], env: dict[str, str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def marks(path: Path) -> list[float]:
    return [float(x) for x in path.read_text().split()] if path.exists() else []


def wait_for_marks(path: Path, count: int, timeout: float) -> float:
    deadline = time.time() + timeout
    while len(marks(path)) < count:
        if time.time() > deadline:
            raise TimeoutError(f"only {len(marks(path))} of {count} runs reached their first line")
        time.sleep(0.002)
    return time.time()


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "mainspring.cli.main", "worker", "start", "--pool", "bench"]
    return subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(60)


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:6.1f} ms, max {max(values) * 1000:6.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--queued", type=int, default=100)
    parser.add_argument("--server", action="store_true", help="CLI and workers through a server")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mainspring-deployment-run-"))
    (folder / "hello.py").write_text(textwrap.dedent(FLOW))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env.update(MAINSPRING_HOME=str(folder / "home"), PYTHONPATH=str(SRC))
    os.environ.update(MAINSPRING_HOME=str(folder / "home"))
    from mainspring.model.deployments import Deployment, WorkPool
    from mainspring.settings import get_settings
    from mainspring.store.sql import SqlStore

    store = SqlStore(get_settings().effective_database_url)
    store.create_work_pool(WorkPool("bench"))
    one = folder / "one.txt"
    deployment = store.upsert_deployment(
        Deployment(
            flow_name="hello",
            name="bench",
            entrypoint=f"{folder / 'hello.py'}:hello",
            parameters={"marks": str(one)},
            work_pool_name="bench",
        )
    )
    stack = ExitStack()
    if args.server:  # the same starter as cli_startup.py's: `server start --port 0`
        url = stack.enter_context(server(dict(env)))
        env["MAINSPRING_API_URL"] = url
        print(f"through a server at {url}")
    bare = seconds_of([sys.executable, "-c", "pass"], env)
    cli = seconds_of([sys.executable, "-m", "mainspring.cli.main", "--help"], env)
    print(f"baselines: python -c pass {bare * 1000:.0f} ms; the CLI's --help {cli * 1000:.0f} ms")

    worker = start_worker(env)
    time.sleep(5)  # registered, its spare subprocess loaded
    totals, created, claimed, started, first = [], [], [], [], []
    try:
        for i in range(args.repeat):
            t0 = time.time()
            subprocess.run(
                [sys.executable, "-m", "mainspring.cli.main", "deployment", "run", "hello/bench"],
                env=env,
                check=True,
                capture_output=True,
            )
            line = wait_for_marks(one, i + 1, 60)
            run = store.read_deployment_runs(deployment.id)[-1]
            totals.append(marks(one)[-1] - t0)
            created.append((run.run.created or 0) - t0)
            claimed.append((run.claimed_at or 0) - (run.run.created or 0))
            started.append((run.run.start_time or 0) - (run.claimed_at or 0))
            first.append(marks(one)[-1] - (run.run.start_time or 0))
            del line
            time.sleep(1.5)  # the run ends and the worker's next spare loads
    finally:
        stop(worker)
    print(f"deployment run -> the flow's first line, {args.repeat} runs: {ms(totals)}")
    print(f"  CLI start and create (run.created - t0): {ms(created)}")
    print(f"  create -> claimed by the worker:         {ms(claimed)}")
    print(f"  claimed -> Running (its process):         {ms(started)}")
    print(f"  Running -> the flow's first line:        {ms(first)}")

    # the same-run baseline: runs started as new interpreters (MAINSPRING_RUNNER_FORK=false)
    for how, fork in (("forked", "true"), ("new interpreters", "false")):
        queued = folder / f"queued-{fork}.txt"
        for _ in range(args.queued):
            store.create_deployment_run(deployment.id, parameters={"marks": str(queued)})
        cpu = cpu_of_children()
        load = os.getloadavg()[0]
        t0 = time.time()
        worker = start_worker(dict(env, MAINSPRING_RUNNER_FORK=fork))
        try:
            done = wait_for_marks(queued, args.queued, 600)
        finally:
            stop(worker)
        used = cpu_of_children() - cpu
        print(
            f"{args.queued} queued runs ({how}): all at their first line {done - t0:.2f} s after "
            f"`mainspring worker start` (its own start included); CPU {used:.1f} s (the worker "
            f"and its processes, until it stopped); load {load:.1f}"
        )
    store.close()
    stack.close()
    return 0


def cpu_of_children() -> float:
    """CPU seconds of the waited-for child processes (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    sys.exit(main())
