"""/api/events and /api/automations in-process over a real store (SQLite and PostgreSQL):
filters, a stable cursor, 4xx for bad specs and bad input, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.server.conftest import T0, flow_run

from mainspring.model import StateRecord, StateType
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

SPEC = {
    "name": "page-on-failure",
    "description": "Tell the on-call",
    "trigger": {"type": "flow-run-state", "states": ["Failed", "Crashed"], "flows": ["etl"]},
    "actions": [
        {
            "type": "call-webhook",
            "url": "http://127.0.0.1:9/hook",
            "body": "{{ flow_run.name }}: {{ flow_run.error }}",
        }
    ],
}


def _runs(store: SqlStore, count: int) -> list[str]:
    ids = []
    for i in range(count):
        run = flow_run("etl", StateType.FAILED, ts=T0 + i)
        states = [
            StateRecord(run.id, False, StateType.RUNNING, "Running", None, T0 + i),
            StateRecord(run.id, False, StateType.FAILED, "Failed", "boom", T0 + i + 0.5),
        ]
        store.write(Batch(flow_runs={run.id: run}, states=states))
        ids.append(run.id)
    return ids


def test_events_filter_and_page_with_a_stable_cursor(client: TestClient, store: SqlStore) -> None:
    ids = _runs(store, 5)
    failed = client.get("/api/events", params={"type": "mainspring.flow-run.Failed"}).json()
    assert [e["resource"]["id"] for e in failed["events"]] == ids[::-1]
    assert failed["events"][0]["payload"] == {"message": "boom"}
    assert failed["next_cursor"] is None
    one = client.get("/api/events", params={"resource": f"mainspring.flow-run.{ids[2]}"}).json()
    assert [e["event"] for e in one["events"]] == [
        "mainspring.flow-run.Failed",
        "mainspring.flow-run.Running",
    ]
    window = {"since": "2023-11-14T22:13:21Z", "until": "2023-11-14T22:13:22Z"}  # T0+1 .. T0+2
    in_window = client.get("/api/events", params=window).json()["events"]
    assert {e["resource"]["id"] for e in in_window} == {ids[1]}
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/events", params=params).json()
        seen += [e["id"] for e in page["events"]]
        _runs(store, 1)  # more events arrive between pages: they are newer, not on these
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 10


def test_custom_events_and_bad_input_are_4xx(client: TestClient) -> None:
    made = client.post(
        "/api/events",
        json={"event": "acme.export.done", "resource_id": "acme.export.7", "payload": {"rows": 3}},
    )
    assert made.status_code == 201, made.text
    listed = client.get("/api/events", params={"type": "acme."}).json()["events"]
    assert [(e["event"], e["payload"]) for e in listed] == [("acme.export.done", {"rows": 3})]
    spoof = client.post(
        "/api/events", json={"event": "mainspring.flow-run.Failed", "resource_id": "x"}
    )
    assert spoof.status_code == 422
    assert client.get("/api/events", params={"cursor": "not-a-cursor"}).status_code == 422
    assert client.get("/api/events", params={"cursor": "12.x"}).status_code == 422
    assert client.get("/api/events", params={"limit": -1}).status_code == 422
    assert client.get("/api/events", params={"type": "bad type"}).status_code == 422


def test_automation_round_trip(client: TestClient) -> None:
    made = client.post("/api/automations", json=SPEC)
    assert made.status_code == 201, made.text
    automation = made.json()
    assert automation["trigger"] == SPEC["trigger"]
    assert automation["actions"] == SPEC["actions"]
    assert client.post("/api/automations", json=SPEC).status_code == 409
    by_name = client.get("/api/automations/by_name", params={"name": "page-on-failure"})
    assert by_name.json()["id"] == automation["id"]
    paused = client.post(f"/api/automations/{automation['id']}/pause", json={})
    assert paused.json()["enabled"] is False
    resumed = client.post(f"/api/automations/{automation['id']}/resume", json={})
    assert resumed.json()["enabled"] is True
    assert client.get(f"/api/automations/{automation['id']}/firings").json() == []
    assert [a["name"] for a in client.get("/api/automations").json()] == ["page-on-failure"]
    assert client.delete(f"/api/automations/{automation['id']}").status_code == 204
    assert client.get(f"/api/automations/{automation['id']}").status_code == 404
    assert client.delete(f"/api/automations/{automation['id']}").status_code == 404


def _with(**changes: object) -> dict:
    spec = {**SPEC, "trigger": dict(SPEC["trigger"]), "actions": [dict(SPEC["actions"][0])]}
    for path, value in changes.items():
        where, _, field = path.partition("__")
        target = spec[where][0] if where == "actions" else spec[where] if field else spec
        target[field or where] = value
    return spec


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        (_with(trigger__states=["Faild"]), "states"),
        (_with(trigger__states=[]), "states"),
        (_with(trigger={"type": "flow-run-not-completed"}), "within_seconds"),
        (_with(trigger__for_seconds=-5), "for_seconds"),
        (_with(trigger__deployments=["no-slash"]), "deployments"),
        (_with(actions__type="send-email"), "type"),
        (_with(actions__url="ftp://x"), "url"),
        (_with(actions__body="{{ flow_run.name "), "body"),
        (_with(actions__block="ops"), "block"),  # not a field of call-webhook
        (_with(actions=[]), "actions"),
        (_with(surprise=True), "surprise"),
        (_with(name=""), "name"),
    ],
)
def test_bad_specs_are_a_422_naming_the_field(client: TestClient, spec: dict, names: str) -> None:
    answer = client.post("/api/automations", json=spec)
    assert answer.status_code == 422, answer.text
    assert names in answer.text
    assert client.get("/api/automations").json() == []


def test_a_webhook_url_of_an_event_count_spec_and_a_cancel_without_run(client: TestClient) -> None:
    spec = {
        "name": "burst",
        "trigger": {"type": "event-count", "event": "acme.", "threshold": 3, "within_seconds": 60},
        "actions": [{"type": "cancel-flow-run"}],
    }
    answer = client.post("/api/automations", json=spec)
    assert answer.status_code == 422
    assert "needs a flow-run trigger" in answer.text
