"""Tag concurrency limits on task runs, in the embedded store: a run whose tag has a limit
waits for a slot (Pending, saying why), holds it until it ends however it ends, and runs
without the store's help when none of its tags is limited (the hot path rule)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mainspring import flow, task
from mainspring.model.concurrency import ConcurrencyLimit
from mainspring.store import Store
from mainspring.store.sql import SqlStore

from .support import only_flow_run


class Overlap:
    """How many calls are inside at once, at most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.inside -= 1


@pytest.fixture
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL the store runs meanwhile (a real engine event, not a stand-in store)."""
    assert isinstance(store, SqlStore)
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = store.engine()
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_a_tag_limit_of_2_runs_at_most_2_of_10_mapped_tasks_at_once(store: Store) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("tag:db", 2))
    overlap = Overlap()

    @task(tags=["db"])
    def query(i: int) -> int:
        with overlap:
            time.sleep(0.1)
        return i

    @flow
    def nightly() -> list[int]:
        return query.map(range(10)).result()

    assert nightly() == list(range(10))
    assert overlap.peak == 2
    assert store.read_concurrency_limit("tag:db").active_slots == 0  # every slot given back
    waited = [
        t for t in store.read_task_runs(only_flow_run(store, "nightly").id) if _waited(store, t.id)
    ]
    assert waited  # 10 runs, 2 slots: some said why they waited


def _waited(store: Store, task_run_id: str) -> bool:
    return any(
        s.name == "Pending" and "Waiting for a concurrency slot: tag 'db'" in (s.message or "")
        for s in store.read_states(task_run_id)
    )


def test_a_waiting_run_is_pending_with_the_reason_and_a_log_line(store: Store) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("tag:db", 1))
    held = store.acquire_concurrency_slots(["tag:db"], 1, "someone else", lease_seconds=60)
    release = threading.Timer(1.0, store.release_concurrency_lease, [held.lease_id])

    @task(tags=["db", "other"])
    def query() -> str:
        return "ran"

    @flow
    def blocked() -> str:
        release.start()
        return query()

    assert blocked() == "ran"
    run = only_flow_run(store, "blocked")
    (task_run,) = store.read_task_runs(run.id)
    names = [s.name for s in store.read_states(task_run.id)]
    assert names == ["Pending", "Pending", "Running", "Completed"]
    assert _waited(store, task_run.id)
    assert any("is at its limit" in line.message for line in store.read_logs(run.id))


def test_the_slot_is_given_back_when_the_run_fails(store: Store) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("tag:db", 1))

    @task(tags=["db"], retries=1, retry_delay_seconds=0)
    def broken() -> None:
        assert store.read_concurrency_limit("tag:db").active_slots == 1  # held across retries
        raise RuntimeError("boom")

    @flow
    def failing() -> None:
        broken()

    with pytest.raises(RuntimeError, match="boom"):
        failing()
    assert store.read_concurrency_limit("tag:db").active_slots == 0


def test_a_tag_limit_of_0_fails_its_runs_at_once(store: Store) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("tag:never", 0))
    called = []

    @task(tags=["never"])
    def forbidden() -> None:
        called.append(1)

    @flow
    def zero() -> str:
        state = forbidden(return_state=True)
        return state.message

    assert zero() == "Tag 'never' has a concurrency limit of 0: its task runs do not run"
    assert not called


def test_async_tasks_wait_for_their_slot_without_blocking_the_loop(store: Store) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("tag:api", 1))
    overlap = Overlap()

    @task(tags=["api"])
    async def call(i: int) -> int:
        with overlap:
            await asyncio.sleep(0.05)
        return i

    @flow
    async def calls() -> list[int]:
        return list(await asyncio.gather(*(call(i) for i in range(4))))

    assert asyncio.run(calls()) == [0, 1, 2, 3]
    assert overlap.peak == 1


def test_runs_without_a_limited_tag_do_not_touch_the_store(
    store: Store, statements: list[str]
) -> None:
    store.create_concurrency_limit(ConcurrencyLimit("tag:db", 5))

    @task
    def plain(i: int) -> int:
        return i

    @task(tags=["unlimited"])
    def tagged(i: int) -> int:
        return i

    @flow
    def many() -> None:
        for i in range(50):
            plain(i)
        tagged.map(range(50)).result()

    statements.clear()
    many()
    limits = [s for s in statements if "concurrency_" in s]
    assert len(limits) == 2, limits  # one read of the tag limits (and its leases), per flow run
    assert all("concurrency_lease" not in s or "SELECT" in s for s in limits)
