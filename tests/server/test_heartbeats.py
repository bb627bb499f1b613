"""`POST /api/flow_runs/heartbeat` and `Store.heartbeat`: alive runs get the store's time, finished
runs are left alone, and the answer reports each run's state (how a process learns of a cancel)."""

from __future__ import annotations

import time

from mainspring.model import StateType, new_id
from mainspring.store.sql import SqlStore

from .conftest import flow_run, write_runs


def test_heartbeat_stamps_running_runs_and_reports_states(client, store: SqlStore) -> None:
    running, done = flow_run(), flow_run(state=StateType.COMPLETED)
    write_runs(store, running, done)
    before = time.time()
    body = {"flow_run_ids": [running.id, done.id, new_id()]}
    response = client.post("/api/flow_runs/heartbeat", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"states": {running.id: "RUNNING", done.id: "COMPLETED"}}
    assert store.read_flow_run(running.id).heartbeat >= before
    assert store.read_flow_run(done.id).heartbeat is None  # a late heartbeat changes nothing


def test_heartbeat_rejects_bad_ids_with_422(client) -> None:
    response = client.post("/api/flow_runs/heartbeat", json={"flow_run_ids": ["no spaces"]})
    assert response.status_code == 422
    assert "flow_run_ids" in response.text


def test_store_heartbeat_of_nothing_is_empty(store: SqlStore) -> None:
    assert store.heartbeat([]) == {}
