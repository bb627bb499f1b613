"""API keys: hashed at rest, required once one exists or when exposed, read-only keys."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mainspring.server import auth
from mainspring.server.auth import create_api_key
from mainspring.store.sql.schema import api_key

from .conftest import make_client


@pytest.fixture(autouse=True)
def _no_key_cache(monkeypatch):
    monkeypatch.setattr(auth, "CACHE_SECONDS", 0.0)


def test_open_on_loopback_while_no_key_exists(store):
    with make_client(store) as client:
        assert client.get("/api/flow_runs").status_code == 200
        assert client.post("/api/batches", json={}).status_code == 200


def test_exposed_without_keys_refuses_everything_but_health(store):
    with make_client(store, exposed=True) as client:
        assert client.get("/api/health").status_code == 200
        refused = client.get("/api/flow_runs")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
    with make_client(store, exposed=True, insecure=True) as client:
        assert client.get("/api/flow_runs").status_code == 200


def test_keys_are_required_once_one_exists(store):
    _, writer = create_api_key(store, "ci")
    _, reader = create_api_key(store, "dashboard", read_only=True)
    with make_client(store) as client:
        assert client.get("/api/health").status_code == 200
        missing = client.get("/api/flow_runs")
        assert missing.status_code == 401 and "API key" in missing.json()["detail"]
        wrong = writer[:-4] + "AAAA"
        for bad in (wrong, "ms_nothex", "Bearer", reader + "x"):
            headers = {"Authorization": f"Bearer {bad}"}
            assert client.get("/api/flow_runs", headers=headers).status_code == 401, bad
        as_writer = {"Authorization": f"Bearer {writer}"}
        as_reader = {"Authorization": f"Bearer {reader}"}
        assert client.get("/api/flow_runs", headers=as_reader).status_code == 200
        assert client.post("/api/batches", json={}, headers=as_writer).status_code == 200
        denied = client.post("/api/batches", json={}, headers=as_reader)
        assert denied.status_code == 403 and "read-only" in denied.json()["detail"]
        assert writer not in denied.text and reader not in denied.text
    used = {k.name: k.last_used for k in store.read_api_keys()}
    assert used["ci"] is not None and used["dashboard"] is not None


def test_only_a_salted_hash_is_stored(store):
    _, key = create_api_key(store, "ci")
    _, other = create_api_key(store, "other")
    with store.engine().connect() as conn:
        rows = conn.execute(sa.select(api_key)).all()
    assert len(rows) == 2 and len({r.salt for r in rows}) == 2
    for row in rows:
        # the secret is everything after `ms_<32-hex id>_` (it may itself contain "_")
        for secret in (k.split("_", 2)[2] for k in (key, other)):
            assert row.key_hash != secret and secret not in str(tuple(row))
    assert [k.name for k in store.read_api_keys()] == ["ci", "other"]
    with pytest.raises(ValueError, match="already exists"):
        create_api_key(store, "ci")
    assert key.startswith("ms_") and key != other
