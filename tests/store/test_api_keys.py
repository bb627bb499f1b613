"""The API-key queries of the Store (SqlStore on SQLite and PostgreSQL): names stay taken,
ids are found in either spelling before names, a revocation is kept and said once."""

from __future__ import annotations

import pytest

from mainspring.model.api_keys import ApiKey, id_from_hex
from mainspring.store.sql import SqlStore

from .conftest import T0

ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def key(id_: str, name: str, created: float, **fields) -> ApiKey:
    return ApiKey(id_, name, False, created, salt="ab" * 16, key_hash="f" * 64, **fields)


def test_keys_are_stored_listed_oldest_first_and_names_stay_taken(store: SqlStore) -> None:
    store.create_api_key(key(ID, "ci", T0 + 1, expires=T0 + 100))
    store.create_api_key(ApiKey("a" * 8 + "-0000-4000-8000-" + "0" * 12, "old", True, T0))
    first, second = store.read_api_keys()
    assert (first.name, first.read_only, second.name) == ("old", True, "ci")
    assert (second.salt, second.key_hash, second.expires) == ("ab" * 16, "f" * 64, T0 + 100)
    assert "f" * 64 not in repr(second)  # the hash is compared, never shown
    with pytest.raises(ValueError, match="'ci' already exists"):
        store.create_api_key(key("b" * 8 + "-0000-4000-8000-" + "0" * 12, "ci", T0 + 2))
    store.revoke_api_key("ci")
    with pytest.raises(ValueError, match=r"already exists \(revoked; names stay taken\)"):
        store.create_api_key(key("c" * 8 + "-0000-4000-8000-" + "0" * 12, "ci", T0 + 3))


def test_a_key_is_found_by_id_in_either_spelling_before_a_name(store: SqlStore) -> None:
    store.create_api_key(key(ID, "ci", T0))
    decoy = "d" * 8 + "-0000-4000-8000-" + "0" * 12
    store.create_api_key(key(decoy, ID.replace("-", ""), T0 + 1))  # named like the other's id
    for spelling in (ID, ID.replace("-", ""), ID.upper(), f"  {ID} "):
        found = store.find_api_key(spelling)
        assert found is not None and found.name == "ci", spelling
    assert store.find_api_key("ci") is not None and store.find_api_key("nope") is None
    assert id_from_hex(ID.replace("-", "")) == ID and id_from_hex("xyz") is None


def test_a_revocation_is_stored_once_and_use_is_recorded(store: SqlStore) -> None:
    store.create_api_key(key(ID, "ci", T0))
    store.record_api_key_use(ID, T0 + 5)
    store.record_api_key_use("e" * 8 + "-0000-4000-8000-" + "0" * 12, T0)  # unknown: ignored
    revoked, newly = store.revoke_api_key("ci")
    assert newly and revoked.revoked is not None and revoked.last_used == T0 + 5
    again, newly = store.revoke_api_key(ID)
    assert not newly and again.revoked == revoked.revoked
    (stored,) = store.read_api_keys()
    assert stored.revoked == revoked.revoked
    assert stored.refusal(T0) is not None and "revoked" in stored.refusal(T0)
    with pytest.raises(LookupError, match="No API key with id or name 'nope'"):
        store.revoke_api_key("nope")
