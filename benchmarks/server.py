"""The server under load: ingest from 4 concurrent clients, and a flow's per-task cost through it.

    python benchmarks/server.py [--clients 4] [--batches 20] [--repeat 3]

For each database (SQLite in a temporary folder; PostgreSQL in a throwaway cluster when Debian's
`postgresql` is installed) a real `mainspring server start` process is started, then:
- ingest: `--clients` processes each send `--batches` batches through `ApiStore.write`, as the
  recorder of a busy flow would (a flow run, 100 task runs, their Pending/Running/Completed
  states and one log line each); the figure is state changes stored per second, all clients
  together, wall clock from the first send to the last answer;
- per-task overhead: `scenario.py sequential_1000` and `mapped_1000` run `--repeat` times each
  recording into the embedded store and with MAINSPRING_API_URL pointing at the server,
  alternately, each store keeping the history of the runs before (as a user's does); the ratio
  of their median "us/task total" is what recording through the server costs against the
  embedded store. On PostgreSQL a third series records straight into the server's database
  from the flow's process, to tell the server's hop from PostgreSQL's own cost. The best of
  each is printed too: on a shared machine the
  fastest run is the one least slowed by other work, and the server mode, two processes, is
  slowed more by it than the embedded one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from mainspring.model import (
    FlowRun,
    LogRecord,
    State,
    StateRecord,
    StateType,
    TaskRun,
    new_id,
)
from mainspring.store.base import Batch
from mainspring.testing import PostgresUnavailable, free_port, throwaway_postgres

HERE = Path(__file__).resolve().parent
TASKS_PER_BATCH = 100
STATES = (
    (StateType.PENDING, "Pending"),
    (StateType.RUNNING, "Running"),
    (StateType.COMPLETED, "Completed"),
)


def make_batch(client: int, index: int) -> Batch:
    """A flow run with 100 finished task runs: 301 state changes and 100 log lines."""
    now = time.time()
    run = FlowRun(new_id(), f"bench-{client}-{index}", "ingest", State(StateType.RUNNING, ts=now))
    run.created = run.start_time = now
    batch = Batch(
        flow_runs={run.id: run},
        states=[StateRecord(run.id, False, StateType.RUNNING, "Running", None, now)],
    )
    for i in range(TASKS_PER_BATCH):
        task = TaskRun(new_id(), f"work-{i}", "work", f"work-{i}", State(StateType.COMPLETED))
        task.flow_run_id, task.created, task.run_count = run.id, now, 1
        batch.task_runs[task.id] = task
        for type_, name in STATES:
            batch.states.append(StateRecord(task.id, True, type_, name, None, now))
        batch.logs.append(LogRecord(run.id, task.id, 20, "bench", f"task {i} done", now))
    return batch


def client_main(api_url: str, client: int, batches: int) -> None:
    """One client process: build its batches first, then send them back to back."""
    from mainspring.store.http.store import ApiStore

    store = ApiStore(api_url)
    work = [make_batch(client, i) for i in range(batches)]
    store.read_flows()  # connect before the clock starts
    print("READY", flush=True)
    sys.stdin.readline()  # the parent's "go", so every client starts together
    for batch in work:
        store.write(batch)
    store.close()
    print("DONE", flush=True)


def states_in(batch_count: int, clients: int) -> int:
    return clients * batch_count * (1 + 3 * TASKS_PER_BATCH)


def ingest(api_url: str, clients: int, batches: int) -> float:
    """State changes per second the server stores from `clients` concurrent senders."""
    command = [sys.executable, __file__, "--client", api_url]
    procs = [
        subprocess.Popen(
            [*command, str(c), str(batches)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for c in range(clients)
    ]
    for p in procs:
        if p.stdout.readline().strip() != "READY":  # type: ignore[union-attr]
            raise SystemExit("an ingest client failed to start")
    start = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
    for p in procs:
        if p.stdout.readline().strip() != "DONE" or p.wait() != 0:  # type: ignore[union-attr]
            raise SystemExit("an ingest client failed")
    return states_in(batches, clients) / (time.perf_counter() - start)


@contextmanager
def server(home: Path, database_url: str) -> Iterator[str]:
    """A real `mainspring server start` process; yields its API URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env.update(MAINSPRING_HOME=str(home), MAINSPRING_DATABASE_URL=database_url)
    # The ingest's made-up runs stay Running without heartbeats: 30 s later the crash detector
    # would mark hundreds of them Crashed, writing to the database while later figures are
    # measured (and logging each one). It has nothing to do for the flows measured here.
    env["MAINSPRING_SERVER_CRASH_DETECTOR"] = "false"
    port = free_port()
    command = [sys.executable, "-m", "mainspring.cli.main", "server", "start", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning"], env=env, stdin=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def scenario(name: str, api_url: str | None, home: Path, database_url: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSPRING_")}
    env["MAINSPRING_HOME"] = str(home)
    if api_url:
        env["MAINSPRING_API_URL"] = api_url
    if database_url:
        env["MAINSPRING_DATABASE_URL"] = database_url
    out = subprocess.run(
        [sys.executable, str(HERE / "scenario.py"), name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"scenario {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def overhead(api_url: str, repeat: int, folder: Path, direct_url: str | None = None) -> None:
    """Embedded and server runs alternate, so that a machine whose load drifts (it is shared)
    slows both alike; the ratio is of the two medians, the range that of each pair's ratio.

    Both stores keep the history of the runs before, as a user's do: the embedded runs share one
    home (one SQLite file) as the server runs share the server's database. Writing into a store
    that holds history costs more than into an empty one, and comparing the server's growing
    database with a fresh file per embedded run would charge that to the server alone.

    With `direct_url` (the server's PostgreSQL) a third series records straight into that
    database from the flow's process: what the server's hop costs over the same database,
    apart from what PostgreSQL costs over SQLite."""
    embedded_home = folder / "embedded-home"
    for name in ("sequential_1000", "mapped_1000"):
        local: list[float] = []
        remote: list[float] = []
        direct: list[float] = []
        for _ in range(repeat):
            local.append(scenario(name, None, embedded_home)["overhead_us_per_task"])
            with tempfile.TemporaryDirectory() as client_home:
                remote.append(scenario(name, api_url, Path(client_home))["overhead_us_per_task"])
                if direct_url:
                    run = scenario(name, None, Path(client_home), direct_url)
                    direct.append(run["overhead_us_per_task"])
        a, b = statistics.median(local), statistics.median(remote)
        pairs = sorted(r / e for e, r in zip(local, remote, strict=True))
        print(
            f"  {name:<16} us/task total: embedded {a:7.1f}, through the server {b:7.1f} "
            f"(x{b / a:.2f}; pairs x{pairs[0]:.2f}-x{pairs[-1]:.2f}); best of each: "
            f"{min(local):.1f} and {min(remote):.1f} (x{min(remote) / min(local):.2f})"
        )
        if direct:
            c = statistics.median(direct)
            print(
                f"  {'':<16} straight into the same PostgreSQL {c:7.1f}: "
                f"the server x{b / c:.2f} of that"
            )


def databases(stack: ExitStack, folder: Path) -> Iterator[tuple[str, str]]:
    yield "SQLite", f"sqlite:///{folder / 'server.db'}"
    try:
        url = stack.enter_context(throwaway_postgres())
    except PostgresUnavailable as exc:
        print(f"PostgreSQL skipped: {exc}")
        return
    yield "PostgreSQL", url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        for label, url in databases(stack, Path(tmp)):
            with server(Path(tmp) / label, url) as api_url:
                print(f"{label}:")
                direct = url if label == "PostgreSQL" else None
                overhead(api_url, args.repeat, Path(tmp) / label, direct)
                rates = [ingest(api_url, args.clients, args.batches) for _ in range(args.repeat)]
                print(
                    f"  ingest: {args.clients} clients x {args.batches} batches x "
                    f"{1 + 3 * TASKS_PER_BATCH} state changes: median "
                    f"{statistics.median(rates):,.0f} state changes/s"
                )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--client":
        client_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
