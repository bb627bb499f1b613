"""The ConcurrencyStore contract: imported by the SqlStore tests (SQLite and PostgreSQL) and by
the ApiStore tests against a real server, which provide a `limits` fixture. Real time only
(an ApiStore's server keeps its own clock), with generous bounds: the machine is shared."""

from __future__ import annotations

import threading
import time

import pytest

from mainspring.exceptions import ConcurrencyLimitNotFound, ObjectNotFound
from mainspring.model.concurrency import ConcurrencyLimit
from mainspring.store.concurrency import ConcurrencyStore

LEASE = 30.0


def take(limits: ConcurrencyStore, *names: str, occupy: int = 1, **options):
    options.setdefault("lease_seconds", LEASE)
    return limits.acquire_concurrency_slots(list(names), occupy, "tests", **options)


def test_limits_round_trip(limits: ConcurrencyStore) -> None:
    made = limits.create_concurrency_limit(ConcurrencyLimit("db", 3, slot_decay_per_second=0.5))
    assert (made.name, made.limit, made.active, made.slot_decay_per_second) == ("db", 3, True, 0.5)
    assert made.created is not None and made.active_slots == 0
    with pytest.raises(ValueError, match="exists already"):
        limits.create_concurrency_limit(ConcurrencyLimit("db", 1))
    limits.create_concurrency_limit(ConcurrencyLimit("tag:etl", 2))
    limits.create_concurrency_limit(ConcurrencyLimit("a/b c", 1, active=False))
    assert [x.name for x in limits.read_concurrency_limits()] == ["a/b c", "db", "tag:etl"]
    assert [x.name for x in limits.read_concurrency_limits(prefix="tag:")] == ["tag:etl"]
    assert limits.read_concurrency_limits(prefix="%") == []  # a prefix, not a pattern
    assert limits.read_concurrency_limit("a/b c").active is False
    changed = limits.update_concurrency_limit("db", limit=5, active=False)
    assert (changed.limit, changed.active, changed.slot_decay_per_second) == (5, False, 0.5)
    assert limits.update_concurrency_limit("db", slot_decay_per_second=0).slot_decay_per_second == 0
    limits.delete_concurrency_limit("db")
    for call in (
        lambda: limits.read_concurrency_limit("db"),
        lambda: limits.update_concurrency_limit("db", limit=1),
        lambda: limits.delete_concurrency_limit("db"),
        lambda: limits.reset_concurrency_limit("db"),
    ):
        with pytest.raises(ObjectNotFound, match="'db'"):
            call()


def test_slots_up_to_the_limit_then_none_until_one_is_released(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 2))
    first, second = take(limits, "db"), take(limits, "db")
    assert first.acquired and second.acquired and first.lease_id != second.lease_id
    refused = take(limits, "db")
    assert (refused.acquired, refused.lease_id, refused.full) == (False, None, ("db",))
    seen = limits.read_concurrency_limit("db")
    assert seen.active_slots == 2 and seen.holders == ["tests"]
    limits.release_concurrency_lease(first.lease_id)
    limits.release_concurrency_lease(first.lease_id)  # twice: nothing more happens
    assert take(limits, "db").acquired
    assert not take(limits, "db").acquired


def test_several_limits_are_taken_all_or_none(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("a", 1))
    limits.create_concurrency_limit(ConcurrencyLimit("b", 2))
    held = take(limits, "a")
    both = take(limits, "b", "a")
    assert not both.acquired and both.full == ("a",)
    assert limits.read_concurrency_limit("b").active_slots == 0  # nothing taken of b
    limits.release_concurrency_lease(held.lease_id)
    both = take(limits, "b", "a", occupy=1)
    assert both.acquired
    assert [limits.read_concurrency_limit(n).active_slots for n in ("a", "b")] == [1, 1]
    limits.release_concurrency_lease(both.lease_id)  # one lease, both limits freed
    assert [limits.read_concurrency_limit(n).active_slots for n in ("a", "b")] == [0, 0]


def test_unknown_names_limit_nothing_unless_strict(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 1))
    got = take(limits, "db", "nope")
    assert got.acquired and got.missing == ("nope",) and got.lease_id is not None
    limits.release_concurrency_lease(got.lease_id)
    with pytest.raises(ConcurrencyLimitNotFound, match="'nope'"):
        take(limits, "db", "nope", strict=True)
    assert limits.read_concurrency_limit("db").active_slots == 0
    only_missing = take(limits, "ghost")
    assert only_missing.acquired and only_missing.lease_id is None


def test_requests_that_could_never_be_granted_are_errors(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 2))
    with pytest.raises(ValueError, match="occupy=3 is more than concurrency limit 'db'"):
        take(limits, "db", occupy=3)
    with pytest.raises(ValueError, match="slot_decay_per_second"):
        take(limits, "db", decay=True)
    with pytest.raises(ValueError, match="occupy must be at least 1"):
        take(limits, "db", occupy=0)
    with pytest.raises(ValueError, match="lease_seconds"):
        take(limits, "db", lease_seconds=0)


def test_an_inactive_limit_limits_nothing(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 1, active=False))
    assert all(take(limits, "db").acquired for _ in range(3))
    assert limits.read_concurrency_limit("db").active_slots == 0
    limits.update_concurrency_limit("db", active=True)
    assert take(limits, "db").acquired and not take(limits, "db").acquired


def test_a_lease_not_renewed_expires_and_frees_its_slot(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 1))
    short = take(limits, "db", lease_seconds=1.0)
    assert not take(limits, "db").acquired
    time.sleep(1.3)
    assert limits.read_concurrency_limit("db").active_slots == 0
    assert limits.renew_concurrency_leases([short.lease_id], LEASE) == []  # lost, not revived
    assert take(limits, "db").acquired


def test_a_renewed_lease_outlives_its_first_expiry(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 1))
    held = take(limits, "db", lease_seconds=1.5)
    for _ in range(3):
        time.sleep(0.6)
        assert limits.renew_concurrency_leases([held.lease_id], 1.5) == [held.lease_id]
    assert not take(limits, "db").acquired


def test_reset_frees_every_slot(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 2))
    held = [take(limits, "db"), take(limits, "db")]
    assert limits.reset_concurrency_limit("db").active_slots == 0
    assert limits.renew_concurrency_leases([h.lease_id for h in held], LEASE) == []
    assert take(limits, "db").acquired


def test_rate_limit_slots_decay(limits: ConcurrencyStore) -> None:
    # one slot decays every 2 s: slow enough that a loaded machine's calls fit inside
    limits.create_concurrency_limit(ConcurrencyLimit("api", 2, slot_decay_per_second=0.5))
    assert take(limits, "api", decay=True).acquired
    assert take(limits, "api", decay=True).acquired
    refused = take(limits, "api", decay=True)
    assert not refused.acquired and refused.retry_after is not None
    assert 0 < refused.retry_after <= 2.0 + 1e-6
    assert limits.read_concurrency_limit("api").decaying_slots > 1
    assert limits.read_concurrency_limit("api").active_slots == 0  # decaying slots hold no lease
    started = time.monotonic()
    assert take(limits, "api", decay=True, wait=20).acquired  # waits for the decay, not 20 s
    assert time.monotonic() - started < 15


def test_a_waiting_acquisition_gets_the_slot_released(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 1))
    held = take(limits, "db")
    got: list = []
    waiter = threading.Thread(target=lambda: got.append(take(limits, "db", wait=20)))
    waiter.start()
    time.sleep(0.5)
    assert not got
    limits.release_concurrency_lease(held.lease_id)
    waiter.join(timeout=25)
    assert got and got[0].acquired
    assert take(limits, "db", wait=0.3).acquired is False  # the waiter holds it now


def test_concurrent_acquirers_never_exceed_the_limit(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 2))
    lock = threading.Lock()
    inside, peak, done = [0], [0], [0]

    def worker() -> None:
        for _ in range(5):
            got = take(limits, "db", wait=60)
            assert got.acquired
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.01)
            with lock:
                inside[0] -= 1
            limits.release_concurrency_lease(got.lease_id)
            with lock:
                done[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=100)
    assert done[0] == 30 and peak[0] == 2


def test_deleting_a_limit_drops_its_leases(limits: ConcurrencyStore) -> None:
    limits.create_concurrency_limit(ConcurrencyLimit("db", 1))
    held = take(limits, "db")
    limits.delete_concurrency_limit("db")
    assert limits.renew_concurrency_leases([held.lease_id], LEASE) == []
    limits.release_concurrency_lease(held.lease_id)  # nothing to do, no error
    limits.create_concurrency_limit(ConcurrencyLimit("db", 1))
    assert take(limits, "db").acquired
