"""A cancel of a flow run whose process is gone ends it Cancelled at once (set_state's rule).

Through the API here; the CLI on the embedded store goes through the same `set_state`
(tests/engine/test_killed_runs.py kills a real flow process and cancels it with the CLI).
"""

from __future__ import annotations

import os
import subprocess
import sys

from mainspring.model import StateType
from mainspring.store.base import Batch
from mainspring.store.processes import start_time, this_process

from .conftest import flow_run, task_run


def test_cancelling_a_run_whose_process_is_gone_cancels_it_at_once(client, store):
    me = this_process()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = start_time(child.pid)
    child.kill()
    child.wait()
    dead = {"host": me.host, "pid": child.pid, "process_start": started}
    running = flow_run(state=StateType.RUNNING, **dead)
    stuck = flow_run(state=StateType.CANCELLING, **dead)  # asked before its process died
    alive = flow_run(state=StateType.RUNNING, host=me.host, pid=os.getpid(), process_start=me.start)
    elsewhere = flow_run(state=StateType.RUNNING, host="another-host", pid=child.pid)
    working = task_run(running.id, "work-0", StateType.RUNNING)
    done = task_run(running.id, "done-0", StateType.COMPLETED)
    store.write(
        Batch(
            flow_runs={r.id: r for r in (running, stuck, alive, elsewhere)},
            task_runs={working.id: working, done.id: done},
        )
    )

    def cancel(run_id: str) -> dict:
        body = {"state": {"type": "CANCELLING", "message": "Cancelled by user"}}
        response = client.post(f"/api/flow_runs/{run_id}/set_state", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    gone = f"process {child.pid} on {me.host} is gone"
    for run in (running, stuck):
        answer = cancel(run.id)
        assert answer["status"] == "ACCEPT", answer
        assert answer["state"]["type"] == "CANCELLED"
        assert answer["state"]["message"].startswith("Cancelled by user: its " + gone)
        stored = store.read_flow_run(run.id)
        assert stored.state.type is StateType.CANCELLED and stored.end_time is not None
        assert [s.name for s in store.read_states(run.id)] == ["Cancelled"]
    tasks = {t.name: t.state.name for t in store.read_task_runs(running.id)}
    assert tasks == {"work-0": "Cancelled", "done-0": "Completed"}

    for run in (alive, elsewhere):  # a process that may still run it stops it itself
        answer = cancel(run.id)
        assert answer["state"]["type"] == "CANCELLING", answer
