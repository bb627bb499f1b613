"""The BlockStore contract (block_contract.py) on SqlStore, SQLite and PostgreSQL; and what
only the database shows: no secret in the clear at rest, and a wrong key refused clearly."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from mainspring.exceptions import EncryptionKeyError
from mainspring.settings import reset_settings
from mainspring.store.sql import SqlStore

from .block_contract import *  # noqa: F403  (the contract's tests, collected here)
from .block_contract import DATA, registered


@pytest.fixture
def blocks(store: SqlStore) -> SqlStore:
    return store


def test_the_database_file_holds_no_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mainspring.db'}"
    store = SqlStore(url)
    registered(store)
    store.save_block_document("db-credentials", "prod", DATA)
    store.set_variable("plain", "visible-value")
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("mainspring.db"))
    assert b"visible-value" in raw and b"db.internal" in raw  # the file is the one written
    for secret in (b"pa55-word-XYZ", b"tok-123"):
        assert secret not in raw
    key_file = tmp_path / "mainspring.key"  # beside the store, private, not in the database
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().strip() not in raw


def test_postgres_holds_no_secret_in_the_clear(postgres_database: str) -> None:
    store = SqlStore(postgres_database)
    registered(store)
    store.save_block_document("db-credentials", "prod", DATA)
    with store.engine().connect() as conn:
        rows = conn.execute(sa.text("SELECT data::text, secrets FROM block_document")).all()
    store.close()
    text = repr(rows)
    assert "db.internal" in text and "pa55-word-XYZ" not in text and "tok-123" not in text


def test_a_wrong_key_is_a_clear_error_naming_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    url = f"sqlite:///{tmp_path / 'mainspring.db'}"
    store = SqlStore(url)
    registered(store)
    store.save_block_document("db-credentials", "prod", DATA)  # with the key file
    monkeypatch.setenv("MAINSPRING_ENCRYPTION_KEY", Fernet.generate_key().decode())
    reset_settings()
    with pytest.raises(EncryptionKeyError, match="MAINSPRING_ENCRYPTION_KEY") as wrong:
        store.read_block_document("db-credentials", "prod", include_secrets=True)
    assert "db-credentials/prod" in str(wrong.value) and "pa55" not in str(wrong.value)
    # masked reads need no key: listing still works
    assert store.read_block_document("db-credentials", "prod").data["host"] == "db.internal"
    monkeypatch.setenv("MAINSPRING_ENCRYPTION_KEY", "not-a-key")
    reset_settings()
    with pytest.raises(EncryptionKeyError, match=r"MAINSPRING_ENCRYPTION_KEY.*not a Fernet key"):
        store.read_block_document("db-credentials", "prod", include_secrets=True)
    monkeypatch.delenv("MAINSPRING_ENCRYPTION_KEY")
    reset_settings()
    (tmp_path / "mainspring.key").write_bytes(Fernet.generate_key())  # another machine's file
    with pytest.raises(EncryptionKeyError, match=r"key file .*mainspring\.key"):
        store.read_block_document("db-credentials", "prod", include_secrets=True)
    store.close()


def test_two_stores_share_the_key_file_made_on_first_use(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mainspring.db'}"
    assert not (tmp_path / "mainspring.key").exists()
    first = SqlStore(url)
    registered(first)
    first.save_block_document("db-credentials", "prod", DATA)
    second = SqlStore(url)  # another process would see the same file
    assert second.read_block_document("db-credentials", "prod", include_secrets=True).data == DATA
    first.close()
    second.close()
    assert os.listdir(tmp_path).count("mainspring.key") == 1


def test_data_that_does_not_fit_names_its_top_level_field(blocks: SqlStore) -> None:
    """`BlockDataInvalid.field`, which the UI's block form marks (a missing required field
    too, though the schema error is the block's)."""
    from mainspring.exceptions import BlockDataInvalid

    registered(blocks)
    with pytest.raises(BlockDataInvalid) as wrong_type:
        blocks.save_block_document("db-credentials", "prod", {**DATA, "port": "x"})
    assert wrong_type.value.field == "port"
    with pytest.raises(BlockDataInvalid) as missing:
        blocks.save_block_document("db-credentials", "prod", {"host": "h"})
    assert missing.value.field == "password"
