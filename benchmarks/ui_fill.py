"""A long, plausible run history written straight into a store, for the UI's benchmark and
screenshots: flow runs over the last `days` days in a realistic mix of states, with task runs
and a few subflows, written in bulk through `Store.write` (the recorder's own path).
"""

from __future__ import annotations

import random
import time

from mainspring.model import FlowRun, State, StateType, TaskRun, new_id
from mainspring.store.base import Batch, Store

FLOWS = [
    "nightly-etl", "refresh-dashboards", "sync-crm", "train-model", "backup-db",
    "ingest-events", "send-reports", "clean-tmp",
]  # fmt: skip
#: (state type, state name, weight): mostly completed, some failures, a few of the rest.
MIX = [
    (StateType.COMPLETED, "Completed", 85),
    (StateType.COMPLETED, "Cached", 3),
    (StateType.FAILED, "Failed", 6),
    (StateType.CRASHED, "Crashed", 1),
    (StateType.CANCELLED, "Cancelled", 2),
    (StateType.FAILED, "TimedOut", 1),
    (StateType.RUNNING, "Running", 1),
    (StateType.SCHEDULED, "Late", 1),
]
ERRORS = [
    "ConnectionError: db.internal:5432 refused the connection",
    "KeyError: 'customer_id'",
    "TimeoutError: the API did not answer within 30 s",
    "ValueError: 3 rows have a negative amount",
]
CHUNK = 2000


def fill(
    store: Store, runs: int, days: float = 30.0, tasks_per_run: int = 3, seed: int = 7
) -> None:
    """Write `runs` flow runs spread over the last `days` days (newer ones denser)."""
    rng = random.Random(seed)
    now = time.time()
    states = [(t, n) for t, n, _ in MIX]
    weights = [w for *_, w in MIX]
    for start in range(0, runs, CHUNK):
        batch = Batch()
        for _ in range(min(CHUNK, runs - start)):
            run, tasks = _one_run(rng, now, days, states, weights, tasks_per_run)
            batch.flow_runs[run.id] = run
            batch.task_runs.update((t.id, t) for t in tasks)
        store.write(batch)


def _one_run(
    rng: random.Random, now: float, days: float, states: list, weights: list, tasks_per_run: int
) -> tuple[FlowRun, list[TaskRun]]:
    flow = rng.choice(FLOWS)
    state_type, state_name = rng.choices(states, weights)[0]
    began = now - days * 86400 * rng.random() ** 1.5
    duration = rng.lognormvariate(3.0, 0.8) * (1 + FLOWS.index(flow) / 3)
    running = state_type in (StateType.RUNNING, StateType.SCHEDULED)
    message = rng.choice(ERRORS) if state_type in (StateType.FAILED, StateType.CRASHED) else None
    run_id = new_id()
    run = FlowRun(
        id=run_id,
        name=f"{rng.choice(ADJECTIVES)}-{rng.choice(ANIMALS)}-{run_id[-4:]}",
        flow_name=flow,
        state=State(state_type, state_name, message, ts=began if running else began + duration),
        parameters={"day": time.strftime("%Y-%m-%d", time.gmtime(began))},
        tags=rng.sample(["prod", "daily", "finance", "ml", "critical"], k=rng.randint(0, 2)),
        created=began,
        start_time=None if state_type is StateType.SCHEDULED else began,
        end_time=None if running else began + duration,
        run_count=1,
    )
    tasks = []
    for i in range(tasks_per_run):
        failed = message is not None and i == tasks_per_run - 1
        task_type = StateType.FAILED if failed else StateType.COMPLETED
        at = began + duration * (i + 1) / (tasks_per_run + 1)
        tasks.append(
            TaskRun(
                new_id(),
                f"step-{i}",
                f"step-{i}",
                f"step-{i}",
                State(task_type, message=message if failed else None, ts=at),
                flow_run_id=run_id,
                created=at,
                start_time=at - 1,
                end_time=at,
                run_count=1,
            )
        )
    return run, tasks


ADJECTIVES = ["amber", "brisk", "calm", "daring", "eager", "fuzzy", "gentle", "hazy", "ivory"]
ANIMALS = ["otter", "lynx", "heron", "bison", "gecko", "marten", "ibis", "wombat", "tapir"]
