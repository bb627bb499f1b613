"""`GET /api/flow_runs?name=...&deployment_id=...`: the filters the UI's runs page added, also
through ApiStore (the same FlowRunFilter fields)."""

from __future__ import annotations

from mainspring.model import FlowRunFilter
from mainspring.model.deployments import Deployment
from mainspring.store.http import ApiStore

from .conftest import flow_run, write_runs


def test_search_by_name_and_deployment(client, store) -> None:
    deployment = store.upsert_deployment(Deployment("etl", "nightly"))
    made = store.create_deployment_run(deployment.id)
    write_runs(store, flow_run(name="Blue_Fox"), flow_run(name="bluexfox"))

    named = client.get("/api/flow_runs", params={"name": "blue_fox"}).json()
    assert [r["name"] for r in named["items"]] == ["Blue_Fox"]
    assert named["count"] == 1
    of_deployment = client.get("/api/flow_runs", params={"deployment_id": deployment.id}).json()
    assert [r["id"] for r in of_deployment["items"]] == [made.run.id]
    assert client.get("/api/flow_runs", params={"deployment_id": "no/such"}).status_code == 422


def test_api_store_sends_them(server) -> None:
    remote = ApiStore(server.url)
    try:
        assert remote.count_flow_runs(FlowRunFilter(name_contains="x")) == 0
        assert remote.read_flow_runs(FlowRunFilter(deployment_ids=["not-an-id"])) == []
    finally:
        remote.close()
