"""Several processes writing into one fresh database at once (the 4 x 500-task scenario)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from mainspring.store.sql import SqlStore

WORKER = """
import sys, time
from mainspring.model import FlowRun, LogRecord, State, StateRecord, StateType, TaskRun, new_id
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

url, n, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(max(0.0, start_at - time.time()))  # start together, migrations included
store = SqlStore(url)
run = FlowRun(id=new_id(), name=f"run-{n}", flow_name="load", state=State(StateType.RUNNING))
store.write(Batch(flow_runs={run.id: run}))
for chunk in range(10):
    batch = Batch(flow_runs={run.id: run})
    for i in range(50):
        task = TaskRun(new_id(), f"t-{chunk * 50 + i}", "t", f"t-{chunk * 50 + i}",
                       State(StateType.COMPLETED), flow_run_id=run.id)
        batch.task_runs[task.id] = task
        state = StateRecord(task.id, True, StateType.COMPLETED, "Completed", None, time.time())
        batch.states.append(state)
        batch.logs.append(LogRecord(run.id, task.id, 20, "w", "done", time.time()))
    store.write(batch)
run.state = State(StateType.COMPLETED)
store.write(Batch(flow_runs={run.id: run}))
store.close()
print(run.id)
"""


@pytest.mark.slow
def test_four_processes_write_500_task_runs_each(store_url: str) -> None:
    start_at = time.time() + 2.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, store_url, str(n), str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    for _out, err, code in results:
        assert code == 0, err
        assert "locked" not in err
    store = SqlStore(store_url)
    try:
        run_ids = [out.strip() for out, _, _ in results]
        assert store.count_flow_runs() == 4
        for run_id in run_ids:
            assert store.read_flow_run(run_id).state.type.value == "COMPLETED"
            assert len(store.read_task_runs(run_id)) == 500
            assert len(store.read_logs(run_id)) == 500
        assert sum(len(store.read_task_runs(r)) for r in run_ids) == 2000
        assert [f.name for f in store.read_flows()] == ["load"]
    finally:
        store.close()
