"""A flow process's snapshots arrive late; they must not undo what the server decided.

The recorder upserts the latest snapshot of each run. Meanwhile the CLI or the API may have
moved the run to Cancelling (or Cancelled), or the crash detector to Crashed. A stale Running
snapshot leaves those alone; an outcome the process reports itself (Completed, Failed,
Cancelled) replaces them; an explicit retry (`mainspring flow-run retry`) still works. Checked
on SQLite and PostgreSQL through the real store and the real transitions.
"""

from __future__ import annotations

import pytest

from mainspring.model import FlowRun, State, StateType
from mainspring.model.states import (
    AwaitingRetry,
    Cancelled,
    Cancelling,
    Completed,
    Crashed,
    Retrying,
    Running,
)
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

from .conftest import flow_run, task_run, write_runs


def snapshot(store: SqlStore, run: FlowRun, state: State, run_count: int = 1) -> StateType:
    """Write `run` as its process would, in `state`; return the state type stored after."""
    run.state, run.run_count = state, run_count
    write_runs(store, run)
    return store.read_flow_run(run.id).state.type


@pytest.mark.parametrize("outside", [Cancelling, Crashed, Cancelled])
def test_a_stale_running_snapshot_does_not_undo_a_state_set_from_outside(store, outside):
    run = flow_run(run_count=1)
    write_runs(store, run)
    assert store.set_state(run.id, outside(message="from outside")).decision
    kept = outside().type
    assert snapshot(store, run, Running()) is kept
    assert snapshot(store, run, Retrying(), run_count=2) is kept  # an in-process retry too
    stored = store.read_flow_run(run.id)
    assert stored.state.message == "from outside" and stored.run_count == 1


def test_an_in_process_retry_does_not_undo_cancelling(store):
    run = flow_run(run_count=1)
    write_runs(store, run)
    store.set_state(run.id, Cancelling())
    assert snapshot(store, run, AwaitingRetry()) is StateType.CANCELLING
    assert snapshot(store, run, Cancelled(message="stopped")) is StateType.CANCELLED


@pytest.mark.parametrize("outcome", [Completed, Cancelled])
def test_the_process_own_outcome_replaces_a_presumed_crash(store, outcome):
    """A process that reports how its run ended was alive: its outcome beats the guess."""
    run = flow_run(run_count=1)
    write_runs(store, run)
    store.set_state(run.id, Crashed(message="no heartbeat"))
    assert snapshot(store, run, outcome(message="really")) is outcome().type
    assert store.read_flow_run(run.id).state.message == "really"


def test_an_explicit_retry_of_a_crashed_run_still_works(store):
    run = flow_run(run_count=1)
    write_runs(store, run)
    store.set_state(run.id, Crashed(message="no heartbeat"))
    # what `mainspring flow-run retry` records: AwaitingRetry, then the next attempt
    assert snapshot(store, run, AwaitingRetry(message="Resuming")) is StateType.SCHEDULED
    assert snapshot(store, run, Retrying(), run_count=2) is StateType.RUNNING
    assert snapshot(store, run, Completed(), run_count=2) is StateType.COMPLETED
    assert store.read_flow_run(run.id).run_count == 2


def test_a_crashed_task_run_stays_crashed_under_a_stale_snapshot(store):
    run = flow_run()
    write_runs(store, run)
    task = task_run(run.id, "load-0", StateType.CRASHED)
    store.write(Batch(task_runs={task.id: task}))
    task.state = Running()
    store.write(Batch(task_runs={task.id: task}))
    assert store.read_task_run(task.id).state.type is StateType.CRASHED
    task.state = Completed()
    store.write(Batch(task_runs={task.id: task}))
    assert store.read_task_run(task.id).state.type is StateType.COMPLETED


def test_a_snapshot_keeps_the_stored_heartbeat(store):
    run = flow_run()
    write_runs(store, run)
    store.heartbeat([run.id])
    beat = store.read_flow_run(run.id).heartbeat
    assert beat is not None
    run.state = Retrying()
    write_runs(store, run)  # the process's snapshot has no heartbeat of its own
    assert store.read_flow_run(run.id).heartbeat == beat
