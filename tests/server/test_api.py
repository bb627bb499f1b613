"""The REST API in-process over a real store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from mainspring.model import LogRecord, StateRecord, StateType, TaskRunEdge, new_id
from mainspring.store.base import Batch

from .conftest import T0, flow_run, task_run, write_runs

JSON_HEADER = {"Content-Type": "application/json"}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def test_health_version_and_openapi(client):
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/api/version").json()["api_version"] == "1"
    spec = client.get("/api/openapi.json").json()
    assert "/api/flow_runs/{flow_run_id}/set_state" in spec["paths"]
    assert client.get("/api/docs").status_code == 200


def test_flows(client, store):
    write_runs(store, flow_run("etl"), flow_run("report"))
    flows = client.get("/api/flows").json()
    assert [f["name"] for f in flows] == ["etl", "report"]
    assert client.get(f"/api/flows/{flows[0]['id']}").json()["name"] == "etl"
    missing = client.get(f"/api/flows/{new_id()}")
    assert missing.status_code == 404 and "No flow with id" in missing.json()["detail"]


def test_flow_run_is_shown_with_iso_utc_times(client, store):
    run = flow_run("etl", StateType.COMPLETED, ts=T0, parameters={"n": 3}, tags=["a"])
    run.end_time = T0 + 2.5
    write_runs(store, run)
    body = client.get(f"/api/flow_runs/{run.id}").json()
    assert body["state"] == {
        "type": "COMPLETED",
        "name": "Completed",
        "message": None,
        "timestamp": iso(T0),
        "result": None,  # its result was not persisted
    }
    assert body["start_time"] == iso(T0) and body["end_time"] == iso(T0 + 2.5)
    assert body["parameters"] == {"n": 3} and body["tags"] == ["a"]
    assert body["total_run_time"] == 2.5 and body["heartbeat"] is None


def test_list_filters_sorting_and_pagination(client, store):
    runs = [
        flow_run("etl", StateType.COMPLETED, ts=T0 + 1, tags=["nightly"]),
        flow_run("etl", StateType.FAILED, ts=T0 + 2, tags=["nightly", "big"]),
        flow_run("report", StateType.FAILED, ts=T0 + 3),
        flow_run("report", StateType.COMPLETED, ts=T0 + 4),
    ]
    runs[1].state.name = "TimedOut"
    write_runs(store, *runs)

    def ids(**params) -> list[str]:
        page = client.get("/api/flow_runs", params=params)
        assert page.status_code == 200, page.text
        return [r["id"] for r in page.json()["items"]]

    assert ids() == [r.id for r in reversed(runs)]
    assert ids(sort="START_TIME_ASC") == [r.id for r in runs]
    assert ids(flow_name="etl") == [runs[1].id, runs[0].id]
    assert ids(flow_name=["etl", "report"], state="COMPLETED") == [runs[3].id, runs[0].id]
    assert ids(state="TimedOut") == [runs[1].id]
    assert ids(state=["failed"]) == [runs[2].id, runs[1].id]
    assert ids(tag=["nightly", "big"]) == [runs[1].id]
    assert ids(started_after=iso(T0 + 2), started_before=iso(T0 + 3)) == [runs[2].id, runs[1].id]
    assert ids(started_after="2023-11-14T22:13:22") == [runs[3].id, runs[2].id, runs[1].id]
    page = client.get("/api/flow_runs", params={"limit": 2, "offset": 1}).json()
    assert [r["id"] for r in page["items"]] == [runs[2].id, runs[1].id]
    assert (page["count"], page["limit"], page["offset"]) == (4, 2, 1)
    assert client.get("/api/flow_runs", params={"state": "FAILED"}).json()["count"] == 2


def test_task_runs_timeline_logs_and_graph(client, store):
    run = flow_run("etl")
    extract, load = task_run(run.id, "extract-0"), task_run(run.id, "load-0")
    batch = Batch(
        flow_runs={run.id: run},
        task_runs={extract.id: extract, load.id: load},
        states=[
            StateRecord(run.id, False, StateType.PENDING, "Pending", None, T0),
            StateRecord(run.id, False, StateType.RUNNING, "Running", "go", T0 + 1),
            StateRecord(extract.id, True, StateType.COMPLETED, "Completed", None, T0 + 2),
        ],
        logs=[
            LogRecord(run.id, None, 20, "flow", "hello", T0 + 1),
            LogRecord(run.id, extract.id, 40, "task", "oops", T0 + 2),
        ],
        edges=[TaskRunEdge(run.id, load.id, extract.id, "data")],
    )
    store.write(batch)
    tasks = client.get(f"/api/flow_runs/{run.id}/task_runs").json()
    assert [t["task_key"] for t in tasks] == ["extract-0", "load-0"]
    assert client.get(f"/api/task_runs/{load.id}").json()["flow_run_id"] == run.id
    timeline = client.get(f"/api/flow_runs/{run.id}/states").json()
    assert [(s["name"], s["message"]) for s in timeline] == [("Pending", None), ("Running", "go")]
    assert [s["name"] for s in client.get(f"/api/task_runs/{extract.id}/states").json()] == [
        "Completed"
    ]
    logs = client.get(f"/api/flow_runs/{run.id}/logs").json()
    assert [(r["level"], r["message"]) for r in logs] == [(20, "hello"), (40, "oops")]
    assert logs[0]["timestamp"] == iso(T0 + 1)
    warnings = client.get(f"/api/flow_runs/{run.id}/logs", params={"min_level": 30}).json()
    assert [r["message"] for r in warnings] == ["oops"]
    only = client.get(f"/api/flow_runs/{run.id}/logs", params={"task_run_id": extract.id})
    assert [r["message"] for r in only.json()] == ["oops"]
    graph = client.get(f"/api/flow_runs/{run.id}/graph").json()
    assert {n["id"] for n in graph["nodes"]} == {extract.id, load.id}
    assert graph["edges"] == [{"source": extract.id, "target": load.id, "kind": "data"}]


def test_unknown_ids_are_404_naming_the_id(client):
    missing = new_id()
    for path in (
        f"/api/flow_runs/{missing}",
        f"/api/flow_runs/{missing}/task_runs",
        f"/api/flow_runs/{missing}/states",
        f"/api/flow_runs/{missing}/logs",
        f"/api/flow_runs/{missing}/graph",
        f"/api/task_runs/{missing}",
        f"/api/task_runs/{missing}/states",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert missing in response.json()["detail"]
    body = {"state": {"type": "RUNNING"}}
    assert client.post(f"/api/flow_runs/{missing}/set_state", json=body).status_code == 404
    assert client.post(f"/api/task_runs/{missing}/set_state", json=body).status_code == 404


def test_bad_input_is_4xx_naming_the_field(client, store):
    def field_of(response) -> list:
        assert response.status_code == 422, response.text
        return [e["loc"] for e in response.json()["detail"]]

    assert field_of(client.get("/api/flow_runs", params={"state": "Exploded"})) == [
        ["query", "state", 0]
    ]
    assert field_of(client.get("/api/flow_runs", params={"limit": -1})) == [["query", "limit"]]
    assert field_of(client.get("/api/flow_runs", params={"sort": "up"})) == [["query", "sort"]]
    assert field_of(client.get("/api/flow_runs", params={"started_after": "soon"})) == [
        ["query", "started_after"]
    ]
    assert field_of(client.get("/api/flow_runs", params={"flow_name": "a\x00b"})) == [
        ["query", "flow_name", 0]
    ]
    assert field_of(client.get("/api/flow_runs/not an id")) == [["path", "flow_run_id"]]
    run = flow_run()
    bad_state = client.post(f"/api/flow_runs/{run.id}/set_state", json={"state": {"type": "DONE"}})
    assert field_of(bad_state) == [["body", "state"]]
    assert "'type'" in bad_state.json()["detail"][0]["msg"]
    wrong_name = {"state": {"type": "RUNNING", "name": "Cached"}}
    response = client.post(f"/api/flow_runs/{run.id}/set_state", json=wrong_name)
    assert field_of(response) == [["body", "state", "RUNNING", "name"]]
    nul = {
        "flow_runs": [
            {"id": run.id, "name": "x", "flow_name": "f\x00", "state": {"type": "RUNNING"}}
        ]
    }
    assert field_of(client.post("/api/batches", json=nul)) == [
        ["body", "flow_runs", 0, "flow_name"]
    ]
    not_json = client.post("/api/batches", content=b"{not json", headers=JSON_HEADER)
    assert not_json.status_code == 422
    for created in ("2024-05-01", "1700000000", True, 1e300, "9999-12-31T23:59:59.5Z"):
        bad_time = {"flows": [{"name": "etl", "created": created}]}
        response = client.post("/api/batches", json=bad_time)
        assert field_of(response) == [["body", "flows", 0, "created"]], created
    for created in (1700000000, 1700000000.25, "2023-11-14T22:13:20.25Z"):  # seconds, or ISO
        good_time = {"flows": [{"name": f"etl-{created}", "created": created}]}
        assert client.post("/api/batches", json=good_time).status_code == 200
        flow = next(f for f in store.read_flows() if f.name == f"etl-{created}")
        assert flow.created in (1700000000, 1700000000.25)


def test_batches_store_what_store_write_takes(client, store):
    run_id, task_id = new_id(), new_id()
    body = {
        "flows": [{"name": "etl", "description": "nightly"}],
        "flow_runs": [
            {
                "id": run_id,
                "name": "brave-otter",
                "flow_name": "etl",
                "state": {"type": "RUNNING", "timestamp": iso(T0)},
                "parameters": {"day": "mon", "n": [1, 2]},
                "tags": ["x"],
                "start_time": iso(T0),
                "run_count": 1,
                "heartbeat": iso(T0 + 5),
            }
        ],
        "task_runs": [
            {
                "id": task_id,
                "name": "extract-0",
                "task_name": "extract",
                "task_key": "extract-0",
                "flow_run_id": run_id,
                "state": {"type": "COMPLETED", "name": "Cached"},
            }
        ],
        "states": [{"run_id": run_id, "is_task": False, "state": {"type": "RUNNING"}}],
        "logs": [
            {
                "flow_run_id": run_id,
                "level": 20,
                "logger": "l",
                "message": "hi",
                "timestamp": iso(T0),
            }
        ],
        "edges": [{"flow_run_id": run_id, "task_run_id": task_id, "upstream_id": new_id()}],
    }
    response = client.post("/api/batches", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"written": 6, "duplicate": False}
    stored = store.read_flow_run(run_id)
    assert stored.state.ts == T0 and stored.heartbeat == T0 + 5
    assert stored.parameters == {"day": "mon", "n": [1, 2]}
    assert store.read_flows()[0].description == "nightly"
    assert store.read_task_run(task_id).state.name == "Cached"
    assert [s.name for s in store.read_states(run_id)] == ["Running"]
    assert store.read_logs(run_id)[0].message == "hi"
    assert len(store.read_edges(run_id)) == 1

    # A heartbeat from the future (a wrong clock, or a client hiding a dead run from the crash
    # detector for years) is taken as now: the server's clock decides liveness.
    body["flow_runs"][0]["heartbeat"] = T0 + 10**9
    before = time.time()
    assert client.post("/api/batches", json=body).status_code == 200
    assert before <= store.read_flow_run(run_id).heartbeat <= time.time()


def test_set_state_applies_the_rules(client, store):
    run = flow_run("etl", StateType.PENDING)
    write_runs(store, run)

    def propose(state: dict, force: bool = False) -> dict:
        response = client.post(
            f"/api/flow_runs/{run.id}/set_state", json={"state": state, "force": force}
        )
        assert response.status_code == 200, response.text
        return response.json()

    assert propose({"type": "RUNNING"})["status"] == "ACCEPT"
    running = store.read_flow_run(run.id)
    assert running.run_count == 1 and running.start_time is not None
    done = propose({"type": "COMPLETED", "message": "all good"})
    assert done["status"] == "ACCEPT" and done["state"]["message"] == "all good"
    assert store.read_flow_run(run.id).end_time is not None
    crash = propose({"type": "CRASHED"})
    assert crash["status"] == "REJECT" and "cannot crash" in crash["reason"]
    assert crash["state"]["name"] == "Completed"  # the state it stays in
    assert propose({"type": "RUNNING"})["status"] == "REJECT"
    assert propose({"type": "RUNNING"}, force=True)["status"] == "REJECT"
    retry = propose({"type": "SCHEDULED", "name": "AwaitingRetry"}, force=True)
    assert retry["status"] == "ACCEPT"
    assert propose({"type": "RUNNING"})["status"] == "ACCEPT"
    again = store.read_flow_run(run.id)
    assert again.run_count == 2 and again.end_time is None and again.state.name == "Running"
    names = [s.name for s in store.read_states(run.id)]
    assert names == ["Running", "Completed", "AwaitingRetry", "Running"]


def test_set_task_run_state(client, store):
    run = flow_run()
    task = task_run(run.id, "t-0", StateType.FAILED)
    store.write(Batch(flow_runs={run.id: run}, task_runs={task.id: task}))
    url = f"/api/task_runs/{task.id}/set_state"
    assert client.post(url, json={"state": {"type": "COMPLETED"}}).json()["status"] == "REJECT"
    body = {"state": {"type": "PENDING"}, "force": True}
    assert client.post(url, json=body).json()["status"] == "ACCEPT"
    assert store.read_task_run(task.id).state.type is StateType.PENDING
