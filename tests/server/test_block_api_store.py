"""BlockStore through ApiStore against a real server process (SQLite and PostgreSQL): the
contract SqlStore passes (store/block_contract.py); and what only the API has: masked answers,
the server's key, 4xx with messages for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from mainspring.exceptions import ObjectNotFound
from mainspring.store.http import ApiStore
from store.block_contract import *  # noqa: F403  (tests/store: the contract's tests, run here)
from store.block_contract import DATA, registered

from .conftest import Server, server_env, start_server, stop_server


@pytest.fixture
def blocks(api_store: ApiStore) -> ApiStore:
    return api_store


def test_answers_mask_secrets_and_the_server_keeps_the_key(
    blocks: ApiStore, database_server: Server, tmp_path: Path
) -> None:
    registered(blocks)
    with database_server.client() as http:
        saved = http.put("/block_documents/db-credentials/prod", json={"data": DATA})
        listed = http.get("/block_documents")
        one = http.get("/block_documents/db-credentials/prod")
        clear = http.get("/block_documents/db-credentials/prod?include_secrets=true")
    for answer in (saved, listed, one):
        assert answer.status_code == 200, answer.text
        assert "pa55-word-XYZ" not in answer.text and "tok-123" not in answer.text
        assert "********" in answer.text
    assert clear.json()["data"] == DATA
    if "DATABASE_URL" not in str(database_server.env):
        assert (tmp_path / "home" / "mainspring.key").exists()  # beside the server's store
    assert not (tmp_path / "mainspring.key").exists()


def test_bad_requests_are_4xx_with_a_message(blocks: ApiStore, database_server: Server) -> None:
    with database_server.client() as http:
        unknown = http.put("/block_documents/no-such-type/x", json={"data": {}})
        assert unknown.status_code == 404 and "no-such-type" in unknown.json()["detail"]
        registered(blocks)
        mismatch = http.put("/block_documents/db-credentials/x", json={"data": {"host": 1}})
        assert mismatch.status_code == 422 and "db-credentials" in mismatch.text
        ok = http.put("/block_documents/db-credentials/x", json={"data": DATA})
        assert ok.status_code == 200
        taken = http.put("/block_documents/db-credentials/x", json={"data": DATA})
        assert taken.status_code == 409 and "overwrite" in taken.json()["detail"]
        missing = http.get("/block_documents/db-credentials/ghost")
        assert missing.status_code == 404 and "db-credentials/ghost" in missing.text
        bad_name = http.put("/block_documents/db-credentials/Bad%20Name", json={"data": DATA})
        assert bad_name.status_code == 422
        bad_schema = http.put("/block_types/x", json={"name": "X", "fields_schema": []})
        assert bad_schema.status_code == 422
        not_json_value = http.put("/variables/v", json={"value": 1, "overwrite": "maybe"})
        assert not_json_value.status_code == 422
        unset = http.get("/variables/ghost")
        assert unset.status_code == 404 and "ghost" in unset.text


def test_blocks_and_variables_through_the_server(
    database_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mainspring.blocks.system import Secret
    from mainspring.settings import reset_settings
    from mainspring.store import reset_store

    monkeypatch.setenv("MAINSPRING_API_URL", database_server.url)
    reset_settings()
    reset_store()
    Secret(value="over-the-wire").save("remote")
    assert Secret.load("remote").get() == "over-the-wire"
    with database_server.client() as http:
        assert "over-the-wire" not in http.get("/block_documents").text
    Secret.delete("remote")
    with pytest.raises(ObjectNotFound):
        Secret.load("remote")
    from mainspring.variables import Variable

    Variable.set("through_server", {"n": [1, 2]})
    assert Variable.get("through_server") == {"n": [1, 2]}
    with database_server.client() as http:
        assert http.get("/variables/through_server").json()["value"] == {"n": [1, 2]}
    assert Variable.unset("through_server") is True
    assert Variable.get("through_server", default=0) == 0


def test_a_server_with_another_key_says_so(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    from mainspring.exceptions import EncryptionKeyError

    home = tmp_path / "home"
    home.mkdir()
    env = server_env(home)
    first = start_server({**env, "MAINSPRING_ENCRYPTION_KEY": Fernet.generate_key().decode()})
    try:
        store = ApiStore(first.url, api_key="")
        registered(store)
        store.save_block_document("db-credentials", "prod", DATA)
        store.close()
    finally:
        stop_server(first.process)
    second = start_server({**env, "MAINSPRING_ENCRYPTION_KEY": Fernet.generate_key().decode()})
    try:
        store = ApiStore(second.url, api_key="")
        assert store.read_block_document("db-credentials", "prod").data["host"] == "db.internal"
        with pytest.raises(EncryptionKeyError, match="MAINSPRING_ENCRYPTION_KEY") as wrong:
            store.read_block_document("db-credentials", "prod", include_secrets=True)
        assert "pa55-word-XYZ" not in str(wrong.value)
        with second.client() as http:
            answer = http.get("/block_documents/db-credentials/prod?include_secrets=true")
        assert answer.status_code == 503 and "encryption key" in answer.json()["detail"]
        store.close()
    finally:
        stop_server(second.process)


def test_the_cli_through_the_server(database_server: Server) -> None:
    import json

    from .conftest import cli

    env = {**database_server.env, "MAINSPRING_API_URL": database_server.url}
    store = ApiStore(database_server.url, api_key="")
    registered(store)
    store.save_block_document("db-credentials", "prod", DATA)
    store.close()
    listed = cli(env, "block", "inspect", "db-credentials/prod", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["data"]["password"] == "********"
    assert "pa55-word-XYZ" not in listed.stdout + listed.stderr
    assert cli(env, "variable", "set", "region", '"eu"').returncode == 0
    assert cli(env, "variable", "get", "region").stdout.strip() == "eu"
    gone = cli(env, "block", "delete", "db-credentials/ghost")
    assert gone.returncode == 1 and "db-credentials/ghost" in gone.stderr
