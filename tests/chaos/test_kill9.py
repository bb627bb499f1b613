"""kill -9 at seeded random points of a 500-task flow that records into the embedded store.

The flow persists its results (`persist_result=True`); each task appends its number to a ledger
file. The first attempt is `python ledger_flow.py`; every later one is the real
`mainspring flow-run retry ID --force`, itself killed at the next point, until the last runs to
the end. After each kill: SQLite's integrity check passes, each task key is recorded once, and
every task run recorded Completed has its persisted result. At the end: every ledger task ran,
and no task whose result was persisted before a kill ran again after it.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from mainspring.engine.results.storage import task_result_key
from mainspring.exceptions import ObjectNotFound
from mainspring.model import StateType
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

from .support import (
    integrity_check,
    mainspring_command,
    read_ledger,
    spawn,
    subprocess_env,
    wait_for,
)

pytestmark = pytest.mark.slow

TASKS = 500
SEED = 20261206
KILLS = 6

FLOW = textwrap.dedent(
    """
    import os, time
    from mainspring import flow, get_run_context, task

    LEDGER = os.environ["LEDGER_FILE"]

    @task
    def step(i: int) -> int:
        time.sleep(0.002)
        with open(LEDGER, "a") as f:
            f.write(f"{i}\\n")
        return i

    @flow(name="ledger", persist_result=True)
    def ledger(n: int = 500) -> int:
        print(get_run_context().flow_run.id, flush=True)
        total = sum(step(i) for i in range(n // 2))  # one in flight at a time
        futures = step.map(range(n // 2, n))  # then several at once
        return total + sum(f.result() for f in futures)

    if __name__ == "__main__":
        ledger()
    """
)


@dataclass
class Kill:
    """What one kill left behind."""

    at_line: int  # ledger lines written before the kill
    persisted: set[int]  # tasks whose result was in result storage after the kill
    completed: set[int]  # tasks the store had Completed after the kill
    resume_seconds: float = 0.0  # from starting the retry to its first task having run


def persisted_tasks(results: Path, flow_run_id: str) -> set[int]:
    folder = results / Path(task_result_key(flow_run_id, "step-0")).parent
    if not folder.is_dir():
        return set()
    return {int(p.name.split("-")[1]) for p in folder.iterdir() if p.name.startswith("step-")}


def check_after_kill(database: Path, results: Path, flow_run_id: str) -> Kill:
    """The store and the result storage a kill left are consistent; what they hold."""
    assert integrity_check(database) == "ok"
    store = SqlStore(f"sqlite:///{database}")
    try:
        store.read_flow_run(flow_run_id)  # the run itself was recorded
        task_runs = store.read_task_runs(flow_run_id)
    finally:
        store.close()
    keys = Counter(t.task_key for t in task_runs)
    assert not [k for k, n in keys.items() if n > 1], f"task keys recorded twice: {keys}"
    persisted = persisted_tasks(results, flow_run_id)
    completed = [t for t in task_runs if t.state.type is StateType.COMPLETED]
    numbers = {int(t.task_key.split("-")[1]) for t in completed}
    missing = sorted(numbers - persisted)
    assert not missing, f"recorded Completed without a persisted result: {missing}"
    return Kill(0, persisted, numbers)


def run_is_recorded(database: Path, flow_run_id: str) -> bool:
    if not database.exists():
        return False
    store = SqlStore(f"sqlite:///{database}")
    try:
        store.read_flow_run(flow_run_id)
        return True
    except ObjectNotFound:
        return False
    finally:
        store.close()


def kill_at(proc: subprocess.Popen, ledger: Path, lines: int, jitter: float) -> int:
    """SIGKILL `proc` once the ledger holds `lines` lines (plus `jitter` seconds, to land
    anywhere in a task: its body, its result's write, the recorder's flush); return how many
    lines the ledger held when the process died."""
    wait_for(
        lambda: len(read_ledger(ledger)) >= lines or proc.poll() is not None,
        60,
        f"{lines} ledger lines",
        step=0.002,
    )
    assert proc.poll() is None, f"the flow ended before its kill: {proc.communicate()[1][-3000:]}"
    time.sleep(jitter)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return len(read_ledger(ledger))


def test_kill9_at_random_points_then_retry_runs_every_task_once(tmp_path, chaos_figures):
    rng = random.Random(SEED)
    home = get_settings().home
    database, results = home / "mainspring.db", home / "results"
    script, ledger = tmp_path / "ledger_flow.py", tmp_path / "ledger.txt"
    script.write_text(FLOW)
    env = {**subprocess_env(home), "LEDGER_FILE": str(ledger)}
    # distinct tasks done before each kill; the retries make progress between any two
    points = sorted(rng.sample(range(10, TASKS - 10), KILLS))

    started = time.monotonic()
    proc = spawn([sys.executable, str(script)], env, cwd=tmp_path)
    flow_run_id = proc.stdout.readline().strip()
    assert flow_run_id, proc.communicate()[1][-3000:]
    # a kill before the run's first flush leaves nothing to retry (issue 10, defect 7): the
    # first kill waits until the run is in the store
    wait_for(lambda: run_is_recorded(database, flow_run_id), 30, "the run to be recorded", 0.02)
    kills: list[Kill] = []
    retry = mainspring_command("flow-run", "retry", flow_run_id, "--force")
    for point in points:
        goal = max(point, len(set(read_ledger(ledger))) + 1)
        lines_before = len(read_ledger(ledger))
        distinct_before = len(set(read_ledger(ledger)))
        at_line = kill_at(proc, ledger, lines_before + goal - distinct_before, rng.uniform(0, 0.02))
        kill = check_after_kill(database, results, flow_run_id)
        kill.at_line = at_line
        kills.append(kill)
        relaunched = time.monotonic()
        proc = spawn(retry, env, cwd=tmp_path.parent)
        wait_for(  # how long the retry takes to get back to work
            lambda n=at_line, p=proc: len(read_ledger(ledger)) > n or p.poll() is not None,
            60,
            "the retry to run a task",
            step=0.005,
        )
        kill.resume_seconds = time.monotonic() - relaunched
    out, err = proc.communicate(timeout=120)
    finished = time.monotonic()
    assert proc.returncode == 0, err[-3000:]
    assert f"Flow run {flow_run_id} finished in state Completed" in out

    lines = read_ledger(ledger)
    assert set(lines) == set(range(TASKS)), "some ledger tasks never ran"
    rerun_per_kill = []
    for i, kill in enumerate(kills):
        until = kills[i + 1].at_line if i + 1 < len(kills) else len(lines)
        after = lines[kill.at_line :]
        again = set(after) & kill.persisted
        assert not again, f"tasks persisted before kill {i + 1} ran again: {sorted(again)}"
        rerun_per_kill.append(len(set(lines[kill.at_line : until]) & set(lines[: kill.at_line])))
    assert len(lines) - TASKS == sum(rerun_per_kill)

    assert integrity_check(database) == "ok"
    store = SqlStore(f"sqlite:///{database}")
    try:
        run = store.read_flow_run(flow_run_id)
        assert run.state.type is StateType.COMPLETED
        # an attempt killed before its first flush may leave its run_count unrecorded
        assert 2 <= run.run_count <= KILLS + 1
        task_runs = store.read_task_runs(flow_run_id)
        assert sorted(t.task_key for t in task_runs) == sorted(f"step-{i}" for i in range(TASKS))
        assert all(t.state.type is StateType.COMPLETED for t in task_runs)
    finally:
        store.close()

    chaos_figures(
        f"{KILLS} kills at ledger lines {[k.at_line for k in kills]}; "
        f"tasks re-run per kill {rerun_per_kill}; "
        f"persisted but not recorded Completed per kill "
        f"{[len(k.persisted - k.completed) for k in kills]}; "
        f"recorded Completed before, not after, per kill "
        f"{[0] + [len(a.completed - b.completed) for a, b in pairwise(kills)]}; "
        f"retry back at work after {[round(k.resume_seconds, 2) for k in kills]} s; "
        f"whole run {finished - started:.1f} s"
    )
