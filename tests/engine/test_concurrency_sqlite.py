"""Several processes recording flows into one SQLite file at once: no lost or locked writes."""

from __future__ import annotations

import textwrap
import time

import pytest

from mainspring.model import FlowRunFilter
from mainspring.store.sql import SqlStore

from .support import start_python

PROCESSES = 4
TASKS = 500

SCRIPT = textwrap.dedent(
    f"""
    import sys
    from mainspring import flow, task

    @task
    def square(x):
        return x * x

    @flow(name="busy")
    def busy(worker: int):
        futures = [square.submit(i) for i in range({TASKS} // 2)]
        direct = [square(i) for i in range({TASKS} // 2, {TASKS})]
        return sum(f.result() for f in futures) + sum(direct)

    if __name__ == "__main__":
        total = busy(int(sys.argv[1]))
        print("TOTAL", total)
    """
)


@pytest.mark.slow
def test_four_processes_record_500_task_flows_into_one_sqlite_file(tmp_path):
    script = tmp_path / "busy.py"
    script.write_text(SCRIPT)
    home = tmp_path / "home"  # fresh and shared by the four processes
    started = time.monotonic()
    procs = [start_python(script, home, str(i)) for i in range(PROCESSES)]
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            outputs.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    elapsed = time.monotonic() - started
    expected = sum(i * i for i in range(TASKS))
    for returncode, out, err in outputs:
        assert returncode == 0, err[-3000:]
        assert f"TOTAL {expected}" in out
        assert "database is locked" not in out + err
        assert "could not record run history" not in err
    assert elapsed < 60, f"took {elapsed:.1f}s"

    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}")
    try:
        runs = store.read_flow_runs(FlowRunFilter(flow_names=["busy"]))
        assert len(runs) == PROCESSES
        assert sorted(r.parameters["worker"] for r in runs) == list(range(PROCESSES))
        total_tasks = 0
        for run in runs:
            assert run.state.is_completed(), run.state
            task_runs = store.read_task_runs(run.id)
            assert len(task_runs) == TASKS
            assert all(t.state.is_completed() for t in task_runs)
            assert len({t.task_key for t in task_runs}) == TASKS
            total_tasks += len(task_runs)
        assert total_tasks == PROCESSES * TASKS
        # every task run's full timeline made it too
        sample = runs[0]
        for task_run in store.read_task_runs(sample.id)[:20]:
            assert [s.name for s in store.read_states(task_run.id)] == [
                "Pending",
                "Running",
                "Completed",
            ]
    finally:
        store.close()
