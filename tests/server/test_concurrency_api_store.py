"""ConcurrencyStore through ApiStore against a real server process (SQLite and PostgreSQL):
the contract SqlStore passes (store/concurrency_contract.py), and the API's answers to bad
input (4xx with a message, never a 500)."""

from __future__ import annotations

import pytest

from mainspring.exceptions import ConcurrencyLimitNotFound
from mainspring.model.concurrency import ConcurrencyLimit
from mainspring.store.http import ApiStore
from store.concurrency_contract import *  # noqa: F403  (tests/store: the contract's tests, run here)
from store.concurrency_contract import take

from .conftest import Server


@pytest.fixture
def limits(api_store: ApiStore) -> ApiStore:
    return api_store


def test_a_strict_acquisition_of_an_unknown_limit_is_limit_not_found(limits: ApiStore) -> None:
    with pytest.raises(ConcurrencyLimitNotFound, match="'ghost'"):
        take(limits, "ghost", strict=True)


BAD_REQUESTS = [
    ("POST", "/concurrency_limits", {"name": "x", "limit": -1}, 422, "greater than"),
    ("POST", "/concurrency_limits", {"name": "x", "limit": "2"}, 422, "integer"),
    ("POST", "/concurrency_limits", {"name": "", "limit": 1}, 422, "at least 1"),
    ("POST", "/concurrency_limits", {"name": "tag:", "limit": 1}, 422, "names no tag"),
    ("POST", "/concurrency_limits", {"name": "x", "limit": 1, "extra": 1}, 422, "xtra"),
    (
        "POST",
        "/concurrency_limits",
        {"name": "x", "limit": 1, "slot_decay_per_second": -2},
        422,
        "greater than or equal",
    ),
    ("POST", "/concurrency_limits", {"name": "db", "limit": 1}, 409, "exists already"),
    ("GET", "/concurrency_limits/ghost", None, 404, "No concurrency limit named 'ghost'"),
    ("PATCH", "/concurrency_limits/ghost", {"limit": 1}, 404, "'ghost'"),
    ("PATCH", "/concurrency_limits/db", {"limit": -1}, 422, "greater than"),
    ("DELETE", "/concurrency_limits/ghost", None, 404, "'ghost'"),
    ("POST", "/concurrency_limits/ghost/reset", {}, 404, "'ghost'"),
    (
        "POST",
        "/concurrency_leases",
        {"names": ["db"], "occupy": 3, "lease_seconds": 5},
        409,
        "occupy=3 is more than concurrency limit 'db'",
    ),
    (
        "POST",
        "/concurrency_leases",
        {"names": ["db"], "lease_seconds": 5, "decay": True},
        409,
        "slot_decay_per_second",
    ),
    (
        "POST",
        "/concurrency_leases",
        {"names": ["ghost"], "lease_seconds": 5, "strict": True},
        404,
        "'ghost'",
    ),
    ("POST", "/concurrency_leases", {"names": [], "lease_seconds": 5}, 422, "at least 1"),
    ("POST", "/concurrency_leases", {"names": ["db"], "lease_seconds": 0}, 422, "greater"),
    ("POST", "/concurrency_leases", {"names": ["db"]}, 422, "lease_seconds"),
    (
        "POST",
        "/concurrency_leases",
        {"names": ["db"], "lease_seconds": 5, "wait": 31},
        422,
        "less than or equal",
    ),
    ("POST", "/concurrency_leases/renew", {"ids": "x", "lease_seconds": 5}, 422, "ids"),
    ("DELETE", "/concurrency_leases/not%20an%20id", None, 422, "lease_id"),
]


def test_bad_requests_are_4xx_with_a_message(database_server: Server, limits: ApiStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 2))
    with database_server.client() as client:
        for method, path, body, status, message in BAD_REQUESTS:
            answer = client.request(method, path, json=body)
            assert answer.status_code == status, (method, path, body, answer.text)
            assert message in answer.text, (method, path, body, answer.text)
    assert limits.read_concurrency_limit("db").active_slots == 0  # nothing taken by any


def test_limits_with_a_slash_in_their_name_are_reachable(limits: ApiStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("team/db reset", 1))
    assert limits.read_concurrency_limit("team/db reset").limit == 1
    assert take(limits, "team/db reset").acquired
    assert limits.reset_concurrency_limit("team/db reset").active_slots == 0
    limits.delete_concurrency_limit("team/db reset")
    assert limits.read_concurrency_limits() == []
