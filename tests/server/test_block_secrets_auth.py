"""Who may read a block's secrets through the API: a write key may (what `Block.load` in a
flow's process uses), a read-only key may list and inspect masked but not ask for secrets."""

from __future__ import annotations

from mainspring.server.auth import create_api_key
from mainspring.store.sql import SqlStore
from store.block_contract import DATA, registered

from .conftest import make_client


def test_a_read_only_key_cannot_read_secrets(store: SqlStore) -> None:
    registered(store)
    store.save_block_document("db-credentials", "prod", DATA)
    _, read_only = create_api_key(store, "dashboard", read_only=True)
    _, writer = create_api_key(store, "flows")
    path = "/api/block_documents/db-credentials/prod"
    with make_client(store) as client:
        as_reader = {"Authorization": f"Bearer {read_only}"}
        masked = client.get(path, headers=as_reader)
        assert masked.status_code == 200 and "pa55-word-XYZ" not in masked.text
        refused = client.get(f"{path}?include_secrets=true", headers=as_reader)
        assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
        assert "pa55-word-XYZ" not in refused.text
        clear = client.get(
            f"{path}?include_secrets=true", headers={"Authorization": f"Bearer {writer}"}
        )
        assert clear.status_code == 200 and clear.json()["data"] == DATA
        assert client.get(f"{path}?include_secrets=true").status_code == 401  # no key at all
