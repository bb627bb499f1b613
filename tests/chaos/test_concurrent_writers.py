"""Six processes recording flows at once into one SQLite file, and into one server: every run,
task run and log line arrives, and nobody sees "database is locked"."""

from __future__ import annotations

import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from mainspring.model import FlowRunFilter
from mainspring.store.sql import SqlStore
from server.conftest import server_env, start_server, stop_server  # tests/server: a sibling

from .support import spawn, subprocess_env

pytestmark = pytest.mark.slow

PROCESSES = 6
FLOWS = 2  # per process
TASKS = 100  # per flow

SCRIPT = textwrap.dedent(
    f"""
    import sys, time
    from mainspring import flow, get_run_logger, task

    @task
    def square(x: int) -> int:
        get_run_logger().info("square %d", x)
        return x * x

    @flow(name="writer")
    def writer(worker: int, round: int) -> int:
        futures = square.map(range({TASKS} // 2))
        direct = [square(i) for i in range({TASKS} // 2, {TASKS})]
        return sum(f.result() for f in futures) + sum(direct)

    if __name__ == "__main__":
        worker, start_at = int(sys.argv[1]), float(sys.argv[2])
        time.sleep(max(0.0, start_at - time.time()))  # all start together
        for round in range({FLOWS}):
            print("TOTAL", writer(worker, round), flush=True)
    """
)


def run_writers(script: Path, env: dict[str, str]) -> float:
    """Start the writers together; return how long they took. Each must end well."""
    start_at = time.time() + 2.0  # past the imports of all six
    procs = [
        spawn([sys.executable, str(script), str(n), str(start_at)], env) for n in range(PROCESSES)
    ]
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=100)
            outputs.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    expected = sum(i * i for i in range(TASKS))
    for returncode, out, err in outputs:
        assert returncode == 0, err[-3000:]
        assert out.split("\n").count(f"TOTAL {expected}") == FLOWS
        assert "database is locked" not in out + err
        assert "could not record" not in err, err[-3000:]
    return time.time() - start_at


def check_everything_arrived(store: SqlStore) -> None:
    runs = store.read_flow_runs(FlowRunFilter(flow_names=["writer"]), limit=1000)
    assert sorted((r.parameters["worker"], r.parameters["round"]) for r in runs) == [
        (w, r) for w in range(PROCESSES) for r in range(FLOWS)
    ]
    for run in runs:
        assert run.state.is_completed(), run.state
        assert [s.name for s in store.read_states(run.id)] == ["Pending", "Running", "Completed"]
        task_runs = store.read_task_runs(run.id)
        assert sorted(t.task_key for t in task_runs) == sorted(f"square-{i}" for i in range(TASKS))
        assert all(t.state.is_completed() for t in task_runs)
        logs = Counter(r.message for r in store.read_logs(run.id) if r.message[:7] == "square ")
        assert logs == Counter(f"square {i}" for i in range(TASKS))


def test_six_processes_record_into_one_sqlite_file(tmp_path, chaos_figures):
    script = tmp_path / "writer.py"
    script.write_text(SCRIPT)
    home = tmp_path / "home"  # fresh: the six race to create and migrate it too
    elapsed = run_writers(script, subprocess_env(home))
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}")
    try:
        check_everything_arrived(store)
    finally:
        store.close()
    chaos_figures(f"{PROCESSES} x {FLOWS} flows of {TASKS} tasks into one file: {elapsed:.1f} s")


def test_six_processes_record_into_one_server(tmp_path, chaos_figures):
    script = tmp_path / "writer.py"
    script.write_text(SCRIPT)
    server_home = tmp_path / "server-home"
    server_home.mkdir()
    server = start_server(server_env(server_home))
    try:
        env = {**subprocess_env(tmp_path / "client-home"), "MAINSPRING_API_URL": server.url}
        elapsed = run_writers(script, env)
    finally:
        printed = stop_server(server.process)
    assert "Traceback" not in printed and "database is locked" not in printed, printed[-3000:]
    store = SqlStore(f"sqlite:///{server_home / 'mainspring.db'}")
    try:
        check_everything_arrived(store)
    finally:
        store.close()
    chaos_figures(f"{PROCESSES} x {FLOWS} flows of {TASKS} tasks into one server: {elapsed:.1f} s")
