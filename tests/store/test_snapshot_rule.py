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


def test_an_older_retry_state_does_not_revive_a_run_ended_from_outside(store: SqlStore) -> None:
    """A run's process reads its run (Pending, claimed), a pause of its deployment ends it
    Cancelled, then the process records its pid with the Pending it read: that snapshot must
    not bring the run back (it did: Pending over Cancelled is allowed for explicit retries).
    A retry's own state, made after the ending, still replaces it."""
    for ended in (StateType.CANCELLED, StateType.CRASHED):
        assert not snapshot_may_replace(ended, StateType.PENDING, newer=False)
        claimed = make_flow_run(state=State(StateType.PENDING, message="claimed", ts=T0))
        store.write(Batch(flow_runs={claimed.id: claimed}))
        read_by_its_process = store.read_flow_run(claimed.id)
        store.set_state(claimed.id, State(ended, message="its deployment was paused", ts=T0 + 5))
        read_by_its_process.pid = 4242
        store.write(Batch(flow_runs={claimed.id: read_by_its_process}))
        assert store.read_flow_run(claimed.id).state.type is ended

        retry = store.read_flow_run(claimed.id)
        retry.state = State(StateType.SCHEDULED, message="retry", ts=T0 + 10)
        store.write(Batch(flow_runs={retry.id: retry}))
        assert store.read_flow_run(claimed.id).state.message == "retry"
