"""The ArtifactStore contract on SqlStore (SQLite, PostgreSQL) and on ApiStore against a real
server, and the API's answers to bad input (4xx naming the problem, never a 500)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mainspring.exceptions import ObjectNotFound
from mainspring.model.artifacts import Artifact
from mainspring.model.runs import new_id
from mainspring.store.artifacts import ArtifactStore
from mainspring.store.http import ApiStore
from mainspring.store.sql import SqlStore

from .conftest import Server, server_env, start_server, stop_server


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "api"],
)
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    if request.param == "api":
        home = tmp_path / "home"
        home.mkdir()
        server = start_server(server_env(home))
        store = ApiStore(server.url, api_key="")
        try:
            yield store
        finally:
            store.close()
            stop_server(server.process)
        return
    url = (
        f"sqlite:///{tmp_path / 'mainspring.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_database")
    )
    sql = SqlStore(url)
    try:
        yield sql
    finally:
        sql.close()


def _make(kind: str, data: object, key: str | None = None, run: str | None = None) -> Artifact:
    return Artifact(id=new_id(), type=kind, data=data, key=key, flow_run_id=run)


def test_each_kind_round_trips(artifacts: ArtifactStore) -> None:
    run = new_id()
    made = [
        _make("markdown", "# Report\n\n<script>alert(1)</script> **bold**", "report", run),
        _make("table", [{"a": 1, "b": None}, {"a": 2, "b": "x"}], run=run),
        _make("link", {"link": "https://example.com/d", "text": "dashboard"}, run=run),
        _make("progress", 12.5, run=run),
    ]
    for artifact in made:
        stored = artifacts.create_artifact(artifact)
        assert stored.created > 0 and stored.updated >= stored.created
    back = artifacts.read_artifacts(flow_run_id=run)
    assert [a.id for a in back] == [a.id for a in reversed(made)]  # newest first
    assert {a.id: a.data for a in back} == {a.id: a.data for a in made}
    assert artifacts.read_artifact(made[0].id).key == "report"
    assert [a.type for a in artifacts.read_artifacts(type="link")] == ["link"]


def test_keyed_versions_and_latest_only(artifacts: ArtifactStore) -> None:
    versions = []
    for i in range(3):
        versions.append(artifacts.create_artifact(_make("markdown", f"v{i}", "daily-report")))
        time.sleep(0.002)  # distinct creation times
    artifacts.create_artifact(_make("markdown", "other", "other-report"))
    loose = artifacts.create_artifact(_make("progress", 1))
    assert [a.data for a in artifacts.read_artifacts(key="daily-report")] == ["v2", "v1", "v0"]
    latest = artifacts.read_artifacts(latest_only=True)
    assert {(a.key, a.data) for a in latest} == {
        ("daily-report", "v2"),
        ("other-report", "other"),
        (None, loose.data),
    }
    assert len(artifacts.read_artifacts(limit=2)) == 2
    assert [a.data for a in artifacts.read_artifacts(key="daily-report", offset=1, limit=1)] == [
        "v1"
    ]


def test_progress_updates_in_place_and_nothing_else_does(artifacts: ArtifactStore) -> None:
    progress = artifacts.create_artifact(_make("progress", 0, "load"))
    updated = artifacts.update_artifact(progress.id, 75, "three quarters")
    assert (updated.data, updated.description) == (75.0, "three quarters")
    assert artifacts.read_artifact(progress.id).data == 75.0
    markdown = artifacts.create_artifact(_make("markdown", "text"))
    with pytest.raises(ValueError, match="progress"):
        artifacts.update_artifact(markdown.id, 10)
    with pytest.raises(ValueError):
        artifacts.update_artifact(progress.id, 101)
    with pytest.raises(ObjectNotFound):
        artifacts.update_artifact(new_id(), 10)


def test_delete_and_missing(artifacts: ArtifactStore) -> None:
    made = artifacts.create_artifact(_make("markdown", "gone soon"))
    artifacts.delete_artifact(made.id)
    with pytest.raises(ObjectNotFound):
        artifacts.read_artifact(made.id)
    with pytest.raises(ObjectNotFound):
        artifacts.delete_artifact(made.id)
    again = artifacts.create_artifact(_make("markdown", "stays"))
    with pytest.raises(ValueError):
        artifacts.create_artifact(Artifact(**{**again.__dict__, "data": "twice"}))
    assert artifacts.read_artifact(again.id).data == "stays"


def test_the_model_refuses_what_no_store_should_keep() -> None:
    with pytest.raises(ValueError, match="lowercase letters"):
        _make("markdown", "x", key="Daily Report")
    with pytest.raises(ValueError, match="unknown artifact type"):
        _make("image", "x")
    with pytest.raises(ValueError, match="from 0 to 100"):
        _make("progress", float("nan"))
    with pytest.raises(ValueError, match="one length"):
        _make("table", {"a": [1, 2], "b": [1]})
    table = _make("table", {"a": [1.5, float("nan")], "when": [10**30, "x"]})
    assert table.data == [{"a": 1.5, "when": str(10**30)}, {"a": None, "when": "x"}]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    home = tmp_path / "server-home"
    home.mkdir()
    running = start_server(server_env(home))
    try:
        yield running
    finally:
        stop_server(running.process)


def test_bad_requests_are_4xx_with_a_message(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        good = {"id": new_id(), "type": "progress", "data": 5}
        assert client.post("/artifacts", json=good).status_code == 201
        cases = [
            ({**good, "id": new_id(), "type": "image"}, 422),
            ({**good, "id": new_id(), "key": "Not A Key"}, 422),
            ({**good, "id": new_id(), "data": 500}, 422),
            ({"id": new_id(), "type": "table", "data": "not a table"}, 422),
            ({"id": new_id(), "type": "link", "data": {"text": "no link"}}, 422),
            (good, 409),
            ({**good, "surprise": 1}, 422),
        ]
        for body, status in cases:
            answer = client.post("/artifacts", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert answer.json()["detail"]
        assert client.get(f"/artifacts/{new_id()}").status_code == 404
        assert client.get("/artifacts/not-an-id").status_code == 404  # as every id route
        assert client.patch(f"/artifacts/{good['id']}", json={"progress": -1}).status_code == 422
        assert client.get("/artifacts", params={"type": "video"}).status_code == 422
