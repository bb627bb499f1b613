"""The BlockStore contract through the protocol alone, for every implementation.

Imported by tests/store/test_block_contract.py (SqlStore on SQLite and PostgreSQL) and
tests/server/test_block_api_store.py (ApiStore against a real server on each), which provide
the `blocks` fixture: the same assertions hold whichever way the calls travel.
"""

from __future__ import annotations

import pytest

from mainspring.exceptions import BlockDataInvalid, ObjectAlreadyExists, ObjectNotFound
from mainspring.model.blocks import SECRET_MASK, BlockType
from mainspring.store.blocks import BlockStore

CREDENTIALS = BlockType(
    slug="db-credentials",
    name="DbCredentials",
    description="Where the database is, and its password.",
    fields_schema={
        "type": "object",
        "properties": {
            "host": {"type": "string"},
            "port": {"type": "integer"},
            "password": {"type": "string", "format": "password", "writeOnly": True},
            "headers": {"type": "object"},
        },
        "required": ["host", "password"],
        "additionalProperties": False,
    },
    secret_fields=("password", "headers"),
)
DATA = {
    "host": "db.internal",
    "port": 5432,
    "password": "pa55-word-XYZ",
    "headers": {"Authorization": "Bearer tok-123"},
}


def registered(store: BlockStore) -> BlockType:
    return store.upsert_block_type(CREDENTIALS)


def test_block_type_round_trip(blocks: BlockStore) -> None:
    made = registered(blocks)
    assert (made.slug, made.description, made.secret_fields) == (
        "db-credentials",
        CREDENTIALS.description,
        ("password", "headers"),
    )
    assert made.fields_schema == CREDENTIALS.fields_schema
    assert blocks.read_block_type("db-credentials") == made
    assert [t.slug for t in blocks.read_block_types()] == ["db-credentials"]
    with pytest.raises(ObjectNotFound, match="no-such-type"):
        blocks.read_block_type("no-such-type")


def test_secrets_are_masked_unless_asked_for(blocks: BlockStore) -> None:
    registered(blocks)
    saved = blocks.save_block_document("db-credentials", "prod", DATA)
    masked = {**DATA, "password": SECRET_MASK, "headers": {"Authorization": SECRET_MASK}}
    assert saved.data == masked
    assert blocks.read_block_document("db-credentials", "prod").data == masked
    assert [d.data for d in blocks.read_block_documents()] == [masked]
    clear = blocks.read_block_document("db-credentials", "prod", include_secrets=True)
    assert clear.data == DATA and clear.id == saved.id


def test_duplicate_names_need_overwrite(blocks: BlockStore) -> None:
    registered(blocks)
    first = blocks.save_block_document("db-credentials", "prod", DATA)
    with pytest.raises(ObjectAlreadyExists, match="db-credentials/prod"):
        blocks.save_block_document("db-credentials", "prod", {**DATA, "port": 1})
    assert blocks.read_block_document("db-credentials", "prod").data["port"] == 5432
    again = blocks.save_block_document(
        "db-credentials", "prod", {**DATA, "password": "new"}, overwrite=True
    )
    assert again.id == first.id
    read = blocks.read_block_document("db-credentials", "prod", include_secrets=True)
    assert read.data["password"] == "new"


def test_bad_input_is_refused_with_a_reason(blocks: BlockStore) -> None:
    with pytest.raises(ObjectNotFound, match="db-credentials"):
        blocks.save_block_document("db-credentials", "prod", DATA)  # type not registered
    registered(blocks)
    with pytest.raises(BlockDataInvalid, match="port") as refused:
        blocks.save_block_document("db-credentials", "prod", {**DATA, "port": "pa55-word-XYZ"})
    assert "pa55-word-XYZ" not in str(refused.value)  # a value may be a secret: never echoed
    with pytest.raises(BlockDataInvalid, match="password"):
        blocks.save_block_document("db-credentials", "prod", {"host": "h"})
    with pytest.raises(ValueError, match="block name"):
        blocks.save_block_document("db-credentials", "Not A Name", DATA)
    assert blocks.read_block_documents() == []


def test_list_filter_and_delete(blocks: BlockStore) -> None:
    registered(blocks)
    blocks.upsert_block_type(BlockType("note", "Note", fields_schema={"type": "object"}))
    blocks.save_block_document("note", "a", {"text": "hello"})
    blocks.save_block_document("db-credentials", "prod", DATA)
    listed = [d.address for d in blocks.read_block_documents()]
    assert listed == ["db-credentials/prod", "note/a"]
    assert [d.address for d in blocks.read_block_documents("note")] == ["note/a"]
    blocks.delete_block_document("note", "a")
    with pytest.raises(ObjectNotFound, match="note/a"):
        blocks.read_block_document("note", "a")
    with pytest.raises(ObjectNotFound, match="note/a"):
        blocks.delete_block_document("note", "a")


def test_variables(blocks: BlockStore) -> None:
    assert blocks.read_variable("batch_size") is None
    made = blocks.set_variable("batch_size", {"rows": [1, 2.5, None, "x"]}, tags=["etl"])
    assert made.value == {"rows": [1, 2.5, None, "x"]} and made.tags == ("etl",)
    assert blocks.read_variable("batch_size") == made
    with pytest.raises(ObjectAlreadyExists, match="batch_size"):
        blocks.set_variable("batch_size", 3)
    assert blocks.set_variable("batch_size", 3, overwrite=True).value == 3
    assert blocks.set_variable("nothing", None).value is None
    assert blocks.read_variable("nothing").value is None  # null is a value, not "unset"
    assert [v.name for v in blocks.read_variables()] == ["batch_size", "nothing"]
    with pytest.raises(ValueError, match="variable name"):
        blocks.set_variable("Bad Name", 1)
    huge = {"n": 10**30, "inf": float("inf")}  # JSON text cannot carry these: tagged, as run
    assert blocks.set_variable("huge", huge).value == huge  # parameters are
    assert blocks.read_variable("huge").value == huge
    blocks.delete_variable("huge")
    with pytest.raises(ValueError, match="JSON"):
        blocks.set_variable("not_json", {"when": object()})
    assert blocks.delete_variable("batch_size") is True
    assert blocks.delete_variable("batch_size") is False
    assert blocks.read_variable("batch_size") is None
