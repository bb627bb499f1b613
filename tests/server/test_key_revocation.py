"""API keys revoked with `mainspring api-key revoke` or past their `--expires-in` are refused by
a real server with a 401 that says why; the others keep working."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from mainspring.exceptions import StoreRejected
from mainspring.server.auth import CACHE_SECONDS
from mainspring.store.http.store import ApiStore

from .conftest import Server, cli, server_env, start_server, stop_server

pytestmark = pytest.mark.slow


def create_key(env: dict[str, str], *args: str) -> str:
    made = cli(env, "api-key", "create", *args)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def status(server: Server, key: str) -> httpx.Response:
    with server.client(key) as client:
        return client.get("/flow_runs")


def test_revoked_and_expired_keys_are_refused(server_home: Path):
    env = server_env(server_home)
    lasting = create_key(env, "ci", "--expires-in", "30d")
    brief = create_key(env, "brief", "--expires-in", "1s")
    made = time.time()
    other = create_key(env, "other")
    running = start_server(env)
    try:
        assert status(running, lasting).status_code == 200
        time.sleep(max(0.0, made + 1.5 - time.time()))
        expired = status(running, brief)
        assert expired.status_code == 401
        assert "'brief' expired on" in expired.json()["detail"]

        revoked = cli(env, "api-key", "revoke", "ci")
        assert revoked.returncode == 0, revoked.stderr
        assert "Revoked API key 'ci'" in revoked.stderr
        deadline = time.monotonic() + CACHE_SECONDS + 10
        while (refused := status(running, lasting)).status_code == 200:
            assert time.monotonic() < deadline, "the revoked key still works"
            time.sleep(0.2)
        assert refused.status_code == 401
        assert "'ci' was revoked on" in refused.json()["detail"]
        assert status(running, other).status_code == 200

        # By the id inside the key (the 32 hex digits), too; ApiStore says why it is refused.
        by_id = cli(env, "api-key", "revoke", other.split("_")[1])
        assert by_id.returncode == 0 and "'other'" in by_id.stderr
        api = ApiStore(running.url, api_key=other)
        deadline = time.monotonic() + CACHE_SECONDS + 10
        try:
            while True:
                try:
                    api.read_flows()
                except StoreRejected as exc:
                    assert "'other' was revoked on" in str(exc) and other not in str(exc)
                    break
                assert time.monotonic() < deadline, "the revoked key still works"
                time.sleep(0.2)
        finally:
            api.close()
        # No key in force any more, yet keys are still required: revoking does not open up.
        with running.client() as anonymous:
            assert anonymous.get("/flow_runs").status_code == 401
    finally:
        stop_server(running.process)

    again = cli(env, "api-key", "revoke", "ci")
    assert again.returncode == 0 and "Already revoked" in again.stderr
    unknown = cli(env, "api-key", "revoke", "nobody")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "Error: No API key with id or name 'nobody'."
    listed = cli(env, "api-key", "ls").stdout
    rows = {line.split()[0]: line for line in listed.splitlines() if line.strip()}
    assert "revoked" in rows["ci"] and "revoked" in rows["other"]
    assert "expired" in rows["brief"]
    assert lasting not in listed and brief not in listed


def test_a_lifetime_must_be_a_positive_duration(server_home: Path):
    env = server_env(server_home)
    for bad in ("0d", "30", "soon", "-1h"):
        refused = cli(env, "api-key", "create", "ci", "--expires-in", bad)
        assert refused.returncode == 2, bad
        assert "not a lifetime" in refused.stderr and "Traceback" not in refused.stderr
    assert "ci" not in cli(env, "api-key", "ls").stdout
