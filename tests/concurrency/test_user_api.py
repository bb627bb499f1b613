"""`concurrency()` and `rate_limit()` from code (sync and asyncio), in the embedded store:
Prefect 3's import paths, the errors, waiting, renewal of held slots, and async cancellation."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time

import pytest

import mainspring.concurrency
import mainspring.concurrency.asyncio as aio
from mainspring.concurrency.sync import concurrency, rate_limit
from mainspring.exceptions import ConcurrencyLimitNotFound, ConcurrencySlotTimeout
from mainspring.model.concurrency import ConcurrencyLimit
from mainspring.store import Store, get_store


@pytest.fixture
def store() -> Store:
    return get_store()


def test_the_import_paths_are_prefects() -> None:
    assert mainspring.concurrency.concurrency is concurrency
    assert mainspring.concurrency.rate_limit is rate_limit
    assert callable(aio.concurrency) and callable(aio.rate_limit)


def test_threads_holding_a_limit_of_1_take_turns(store: Store) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("db", 1))
    spans: list[tuple[float, float]] = []

    def work() -> None:
        with concurrency("db"):
            start = time.monotonic()
            time.sleep(0.05)
            spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    spans.sort()
    assert len(spans) == 5
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert store.read_concurrency_limit("db").active_slots == 0


def test_a_slot_held_longer_than_its_lease_is_renewed(store: Store) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("db", 1))
    with concurrency("db", lease_duration=1.0, holder="long job"):
        time.sleep(3.5)
        seen = store.read_concurrency_limit("db")
        assert (seen.active_slots, seen.holders) == (1, ["long job"])
    assert store.read_concurrency_limit("db").active_slots == 0


def test_errors_say_what_is_wrong(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("db", 1))
    store.create_concurrency_limit(ConcurrencyLimit("plain", 1))
    with pytest.raises(ConcurrencyLimitNotFound, match="'typo'"), concurrency("typo", strict=True):
        pass
    with caplog.at_level(logging.WARNING, logger="mainspring.concurrency"):
        for _ in range(2):
            with concurrency("unknown-limit"):
                pass
    warnings = [r.getMessage() for r in caplog.records if "unknown-limit" in r.getMessage()]
    assert len(warnings) == 1 and "global-concurrency-limit create unknown-limit" in warnings[0]
    with pytest.raises(ValueError, match="occupy=2 is more than"), concurrency("db", occupy=2):
        pass
    with pytest.raises(ValueError, match="slot_decay_per_second"):
        rate_limit("plain")
    with pytest.raises(TypeError, match="names must be"), concurrency(42):  # type: ignore[arg-type]
        pass
    with concurrency("db"):
        started = time.monotonic()
        with (
            pytest.raises(ConcurrencySlotTimeout, match="'db'") as raised,
            concurrency("db", timeout_seconds=0.5),
        ):
            pass
        assert isinstance(raised.value, TimeoutError)
        assert time.monotonic() - started >= 0.5


def test_several_names_are_taken_all_or_none(store: Store) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("a", 1))
    store.create_concurrency_limit(ConcurrencyLimit("b", 1))
    with concurrency(["a", "b"]):
        assert [store.read_concurrency_limit(n).active_slots for n in "ab"] == [1, 1]
        with pytest.raises(ConcurrencySlotTimeout), concurrency(["b"], timeout_seconds=0):
            pass
    assert [store.read_concurrency_limit(n).active_slots for n in "ab"] == [0, 0]


def test_rate_limit_spreads_calls_at_the_decay_rate(store: Store) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("api", 1, slot_decay_per_second=10))
    started = time.monotonic()
    for _ in range(5):
        rate_limit("api")
    assert time.monotonic() - started >= 0.35  # 4 waits of 0.1 s for a slot to decay


def test_async_holders_take_turns_and_a_cancelled_wait_holds_nothing(store: Store) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("db", 1))
    spans: list[tuple[float, float]] = []

    async def work() -> None:
        async with aio.concurrency("db"):
            start = time.monotonic()
            await asyncio.sleep(0.05)
            spans.append((start, time.monotonic()))

    async def cancelled_wait() -> None:
        async with aio.concurrency("db"):
            holding = asyncio.create_task(asyncio.sleep(0))
            await holding
            waiter = asyncio.create_task(_enter(aio.concurrency("db")))
            await asyncio.sleep(0.3)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter

    async def main() -> None:
        await asyncio.gather(*(work() for _ in range(3)))
        await cancelled_wait()

    asyncio.run(main())
    spans.sort()
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    deadline = time.monotonic() + 10  # the cancelled wait's thread gives back what it got
    while store.read_concurrency_limit("db").active_slots and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.read_concurrency_limit("db").active_slots == 0


async def _enter(manager) -> None:  # type: ignore[no-untyped-def]
    async with manager:
        pytest.fail("a cancelled wait entered the block")
