"""`Store.set_state` is the same on every store: SqlStore on the database, and ApiStore
through a real `mainspring server start` over that database (SQLite and PostgreSQL). The
server's own operations (API keys, the crash detector's queries) need the database: ApiStore
says so instead of trying."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring.exceptions import NeedsDatabase, ObjectNotFound, StoreError
from mainspring.model import State, StateType
from mainspring.model.api_keys import ApiKey
from mainspring.model.orchestration import Status
from mainspring.model.states import Cancelling, Crashed, Running, Scheduled
from mainspring.store.base import Batch, Store
from mainspring.store.http.store import ApiStore
from mainspring.store.sql import SqlStore

from .conftest import T0, flow_run, server_env, start_server, stop_server, task_run, write_runs

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(params=["SqlStore", pytest.param("ApiStore", marks=pytest.mark.slow)])
def stores(request, store: SqlStore, store_url: str, server_home: Path) -> Iterator[Store]:
    """The store under test, and (as `store`) a SqlStore on the same database to check it."""
    if request.param == "SqlStore":
        yield store
        return
    running = start_server(server_env(server_home, store_url))
    api = ApiStore(running.url)
    try:
        yield api
    finally:
        api.close()
        stop_server(running.process)


def test_set_state_decides_and_stores_with_a_compare_and_set(stores: Store, store: SqlStore):
    run = flow_run(state=StateType.RUNNING, ts=T0)
    write_runs(store, run)

    cancelling = State(StateType.CANCELLING, message="Cancelled by user", ts=T0 + 1)
    moved = stores.set_state(run.id, cancelling)
    assert moved.accepted and moved.decision.status is Status.ACCEPT
    assert (moved.state.type, moved.state.message, moved.state.ts) == (
        StateType.CANCELLING,
        "Cancelled by user",
        T0 + 1,
    )
    back = stores.set_state(run.id, Running())  # a run being cancelled is not sent back to work
    assert back.decision.status is Status.REJECT and "being cancelled" in back.decision.reason
    assert back.state.type is StateType.CANCELLING  # the state the run kept

    assert stores.set_state(run.id, State(StateType.CANCELLED, ts=T0 + 2)).accepted
    again = stores.set_state(run.id, Scheduled())
    assert not again.accepted and "explicit retry" in again.decision.reason
    retried = stores.set_state(run.id, State(StateType.SCHEDULED, ts=T0 + 3), force=True)
    assert retried.accepted and retried.state.type is StateType.SCHEDULED

    stored = store.read_flow_run(run.id)
    assert stored.state.type is StateType.SCHEDULED and stored.end_time is None
    assert [s.name for s in store.read_states(run.id)] == ["Cancelling", "Cancelled", "Scheduled"]
    with pytest.raises(ObjectNotFound, match="No flow run"):
        stores.set_state(UNKNOWN, Cancelling())


def test_set_task_run_state_follows_the_same_rules(stores: Store, store: SqlStore):
    run = flow_run()
    write_runs(store, run)
    busy = task_run(run.id, "load-0", StateType.RUNNING)
    store.write(Batch(task_runs={busy.id: busy}))

    assert stores.set_task_run_state(busy.id, Crashed(message="gone")).accepted
    late = stores.set_task_run_state(busy.id, Crashed(message="again"))
    assert not late.accepted and late.state.message == "gone"
    assert [s.name for s in store.read_states(busy.id)] == ["Crashed"]
    with pytest.raises(ObjectNotFound, match="No task run"):
        stores.set_task_run_state(run.id, Crashed())  # a flow run's id is not a task run's


@pytest.mark.slow
def test_the_server_s_own_operations_need_the_database(server) -> None:
    api = ApiStore(server.url)
    key = ApiKey("k", "ci", False, T0)
    calls = [
        lambda: api.create_api_key(key),
        api.read_api_keys,
        lambda: api.find_api_key("ci"),
        lambda: api.revoke_api_key("ci"),
        lambda: api.record_api_key_use("k", T0),
        lambda: api.find_silent_flow_runs(T0),
        lambda: api.crash_silent_flow_run(UNKNOWN, Crashed(), silent_since=T0),
        api.end_dead_flow_runs,
    ]
    try:
        for call in calls:
            with pytest.raises(NeedsDatabase, match="needs direct access to the server's database"):
                call()
        assert issubclass(NeedsDatabase, StoreError)  # the CLI says it in one line, exit 1
    finally:
        api.close()
