"""The store's SQL form of the snapshot rule agrees with the pure rule, for every pair of state
types, on both databases (`store/sql/upserts.py` writes the rule in SQL for bulk upserts)."""

from __future__ import annotations

import itertools

from mainspring.model import State, StateType
from mainspring.model.orchestration import snapshot_may_replace
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

from .conftest import T0, make_flow_run, make_task_run

PAIRS = list(itertools.product(StateType, StateType))


def test_every_pair_follows_model_orchestration(store: SqlStore) -> None:
    run = make_flow_run()
    tasks = [
        make_task_run(run.id, f"t-{i}", state=State(old, message="old", ts=T0))
        for i, (old, _) in enumerate(PAIRS)
    ]
    flows = [make_flow_run(state=State(old, message="old", ts=T0)) for old, _ in PAIRS]
    store.write(
        Batch(flow_runs={r.id: r for r in [run, *flows]}, task_runs={t.id: t for t in tasks})
    )
    for record, (_, new) in zip([*tasks, *flows], PAIRS * 2, strict=True):
        record.state = State(new, message="new", ts=T0 + 1)
    store.write(Batch(flow_runs={r.id: r for r in flows}, task_runs={t.id: t for t in tasks}))

    stored_tasks = {t.id: t.state for t in store.read_task_runs(run.id)}
    for kind, records in (("task", tasks), ("flow", flows)):
        for record, (old, new) in zip(records, PAIRS, strict=True):
            state = (
                stored_tasks[record.id] if kind == "task" else store.read_flow_run(record.id).state
            )
            expected = (new, "new") if snapshot_may_replace(old, new) else (old, "old")
            assert (state.type, state.message) == expected, (kind, old, new)
