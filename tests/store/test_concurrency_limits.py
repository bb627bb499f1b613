"""The ConcurrencyStore contract (concurrency_contract.py) on SqlStore: SQLite and PostgreSQL;
and the model's checks."""

from __future__ import annotations

import math

import pytest

from mainspring.model.concurrency import ConcurrencyLimit, decayed
from mainspring.store.sql import SqlStore

from .concurrency_contract import *  # noqa: F403  (the contract's tests, collected here)
from .concurrency_contract import take


@pytest.fixture
def limits(store: SqlStore) -> SqlStore:
    return store


def test_the_database_clock_decides_expiry_with_now(limits: SqlStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 1), now=100.0)
    held = limits.acquire_concurrency_slots(["db"], 1, "t", lease_seconds=10, now=100.0)
    assert not take(limits, "db", now=109.0).acquired
    assert limits.renew_concurrency_leases([held.lease_id], 10, now=109.0) == [held.lease_id]
    assert not take(limits, "db", now=118.0).acquired  # renewed until 119
    assert take(limits, "db", now=119.5).acquired


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "", "limit": 1}, "must not be empty"),
        ({"name": "tag:", "limit": 1}, "names no tag"),
        ({"name": "x", "limit": -1}, "between 0 and"),
        ({"name": "x", "limit": True}, "must be an int"),
        ({"name": "x", "limit": 1, "slot_decay_per_second": math.nan}, "finite"),
        ({"name": "x", "limit": 1, "slot_decay_per_second": -1}, "finite number >= 0"),
        ({"name": "x\x00", "limit": 1}, "NUL"),
    ],
)
def test_a_limit_is_checked_when_made(fields: dict, error: str) -> None:
    with pytest.raises((TypeError, ValueError), match=error):
        ConcurrencyLimit(**fields)


def test_decay() -> None:
    assert decayed(3.0, 1.0, 10.0, 11.5) == 1.5
    assert decayed(3.0, 1.0, 10.0, 20.0) == 0.0
    assert decayed(3.0, 0.0, 10.0, 20.0) == 3.0
    assert ConcurrencyLimit("x", 5, active_slots=2, decaying_slots=0.5).used == 3
