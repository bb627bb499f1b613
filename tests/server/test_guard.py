"""The request guard against a real `mainspring server start`: what a web page the user visits
could send through the browser (text/plain or form writes, a foreign Origin, a rebound DNS
name) is refused, while the CLI's and ApiStore's own requests pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mainspring.model import FlowRecord, StateType
from mainspring.store.base import Batch
from mainspring.store.http.store import ApiStore
from mainspring.store.sql import SqlStore

from .conftest import Server, flow_run, server_env, start_server, stop_server

pytestmark = pytest.mark.slow

EVIL = "http://evil.example"


def a_batch(flow: str) -> bytes:
    return httpx.Request("POST", "http://x", json={"flows": [{"name": flow}]}).content


def stored_flows(home: Path) -> set[str]:
    store = SqlStore(f"sqlite:///{home / 'mainspring.db'}")
    try:
        return {f.name for f in store.read_flows()}
    finally:
        store.close()


@pytest.fixture
def configured(server_home: Path) -> Iterator[Server]:
    """A server with a DNS name and one trusted web origin configured."""
    env = server_env(server_home)
    env["MAINSPRING_SERVER_ALLOWED_HOSTS"] = "mainspring.internal, proxy.example:8443"
    env["MAINSPRING_SERVER_CORS_ORIGINS"] = "https://app.example.com"
    running = start_server(env)
    try:
        yield running
    finally:
        stop_server(running.process)


def test_writes_a_browser_sends_without_preflight_are_refused(server: Server, server_home):
    port = httpx.URL(server.url).port
    with server.client() as client:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = {"Content-Type": content_type} if content_type else {}
            refused = client.post("/batches", content=a_batch("planted"), headers=headers)
            assert refused.status_code == 415, content_type
            assert "application/json" in refused.json()["detail"]
        for origin in (EVIL, "null", f"http://127.0.0.1:{port + 1}", "http://[::1"):
            refused = client.post("/batches", json={}, headers={"Origin": origin})
            assert refused.status_code == 403, origin
            assert "not this server's own origin" in refused.json()["detail"]
            assert "MAINSPRING_SERVER_CORS_ORIGINS" in refused.json()["detail"]
        run = flow_run(state=StateType.RUNNING)
        cancel = {"state": {"type": "CANCELLING"}}
        path = f"/flow_runs/{run.id}/set_state"
        assert client.post(path, json=cancel, headers={"Origin": EVIL}).status_code == 403
        # The server's own pages, and programs (no Origin), may write.
        own = {"Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json"}
        assert client.post("/batches", content=a_batch("own"), headers=own).status_code == 200
        charset = {"Content-Type": "application/json; charset=utf-8"}
        assert client.post("/batches", content=a_batch("tool"), headers=charset).status_code == 200
        # A read from another origin is answered, but with no CORS header the browser hides it.
        read = client.get("/flow_runs", headers={"Origin": EVIL})
        assert read.status_code == 200 and "access-control-allow-origin" not in read.headers
        preflight = client.options(
            "/batches", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in preflight.headers
    api = ApiStore(server.url)  # the client library still writes and reads
    try:
        api.write(Batch(flows={"via-api": FlowRecord(name="via-api")}, flow_runs={run.id: run}))
        assert api.read_flow_run(run.id).state.type is StateType.RUNNING
    finally:
        api.close()
    assert stored_flows(server_home) == {"own", "tool", "via-api", run.flow_name}


def test_the_host_must_name_the_server(server: Server):
    port = httpx.URL(server.url).port
    with server.client() as client:
        for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", "a:b:c"):
            refused = client.get("/flow_runs", headers={"Host": host})
            assert refused.status_code == 400, host
            assert "MAINSPRING_SERVER_ALLOWED_HOSTS" in refused.json()["detail"]
            assert client.post("/batches", json={}, headers={"Host": host}).status_code == 400
        for host in (f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
            assert client.get("/flow_runs", headers={"Host": host}).status_code == 200, host


def test_configured_host_names_and_cors_origins(configured: Server):
    port = httpx.URL(configured.url).port
    trusted = "https://app.example.com"
    with configured.client() as client:
        for host in (f"mainspring.internal:{port}", "mainspring.internal", "proxy.example:8443"):
            assert client.get("/flow_runs", headers={"Host": host}).status_code == 200, host
        for host in ("proxy.example", f"evil.example:{port}"):
            assert client.get("/flow_runs", headers={"Host": host}).status_code == 400, host
        preflight = client.options(
            "/batches",
            headers={
                "Origin": trusted,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == trusted
        written = client.post("/batches", json={}, headers={"Origin": trusted})
        assert written.status_code == 200
        assert written.headers["access-control-allow-origin"] == trusted
        refused = client.post("/batches", json={}, headers={"Origin": EVIL})
        assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
        # The guard's refusal reaches a trusted page readably (CORS wraps the guard).
        plain = client.post(
            "/batches", content=b"{}", headers={"Origin": trusted, "Content-Type": "text/plain"}
        )
        assert plain.status_code == 415
        assert plain.headers["access-control-allow-origin"] == trusted
