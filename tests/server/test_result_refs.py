"""The API carries where a state's persisted result lives: batches write it (validated), run
and timeline reads show it, and an orchestrated state change clears it."""

from __future__ import annotations

import pickle

import pytest

from mainspring.exceptions import UntrustedResultLocation
from mainspring.model import new_id
from mainspring.store.results.storage import default_storage, encode_record, storage_for

from .test_api import iso


def test_batches_write_result_refs_and_reads_show_them(client, store):
    root = default_storage().local  # where this process loads results from
    storage_for(root).write("flow-runs/r/result", encode_record({}, pickle.dumps("done")))
    ref = {"storage": str(root), "key": "flow-runs/r/result", "serializer": "cloudpickle"}
    run_id = new_id()
    completed = {"type": "COMPLETED", "timestamp": iso(1_700_000_000)}
    body = {
        "flow_runs": [
            {
                "id": run_id,
                "name": "x",
                "flow_name": "etl",
                "state": completed,
                "state_result": ref,
                "subflow_key": "child-0",
            }
        ],
        "states": [{"run_id": run_id, "is_task": False, "state": completed, "result": ref}],
    }
    response = client.post("/api/batches", json=body)
    assert response.status_code == 200, response.text

    stored = store.read_flow_run(run_id)
    assert stored.state.result() == "done"
    assert stored.subflow_key == "child-0"
    assert store.read_states(run_id)[0].to_state().result() == "done"
    shown = client.get(f"/api/flow_runs/{run_id}").json()
    assert shown["state"]["result"] == ref
    assert shown["subflow_key"] == "child-0"
    timeline = client.get(f"/api/flow_runs/{run_id}/states").json()
    assert timeline[0]["result"] == ref

    retry = {"state": {"type": "PENDING"}, "force": True}
    response = client.post(f"/api/flow_runs/{run_id}/set_state", json=retry)
    assert response.json()["status"] == "ACCEPT", response.text
    assert store.read_flow_run(run_id).state.data is None
    assert client.get(f"/api/flow_runs/{run_id}").json()["state"]["result"] is None


class Planted:
    """Unpickling it creates the file `marker`: the code of a planted pickle running."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_result_an_api_writer_points_elsewhere_is_not_loaded(client, store, tmp_path):
    elsewhere, marker = tmp_path / "elsewhere", tmp_path / "pickle-ran"
    storage_for(elsewhere).write("r", encode_record({}, pickle.dumps(Planted(marker))))
    ref = {"storage": str(elsewhere), "key": "r", "serializer": "cloudpickle"}
    run_id = new_id()
    completed = {"type": "COMPLETED", "timestamp": iso(1_700_000_000)}
    run = {"id": run_id, "name": "x", "flow_name": "etl", "state": completed, "state_result": ref}
    response = client.post("/api/batches", json={"flow_runs": [run]})
    assert response.status_code == 200, response.text
    with pytest.raises(UntrustedResultLocation, match="MAINSPRING_RESULT_TRUSTED_LOCATIONS"):
        store.read_flow_run(run_id).state.result()
    assert not marker.exists()


def test_a_result_key_must_stay_inside_its_storage(client):
    for key in ("../../etc/passwd", "/etc/passwd", "a/../../b", "a//b"):
        body = {
            "states": [
                {
                    "run_id": new_id(),
                    "is_task": True,
                    "state": {"type": "COMPLETED"},
                    "result": {"storage": "/tmp", "key": key},
                }
            ]
        }
        response = client.post("/api/batches", json=body)
        assert response.status_code == 422, key
        assert response.json()["detail"][0]["loc"][-1] == "key"
