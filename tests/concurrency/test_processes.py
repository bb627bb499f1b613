"""Concurrency limits across real processes, on SQLite, PostgreSQL and through a server:
holders in two processes never overlap, a tag limit caps task runs of two flow processes
together, and a holder killed with SIGKILL frees its slot once its lease expires (while a live
holder keeps its slot however long it holds it: the lease is renewed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.support import subprocess_env
from mainspring.model.concurrency import ConcurrencyLimit
from mainspring.store.concurrency import ConcurrencyStore
from mainspring.store.http import ApiStore
from mainspring.store.sql import SqlStore
from server.conftest import server_env, start_server, stop_server

pytestmark = pytest.mark.slow

HOLD = textwrap.dedent(
    """
    import sys, time
    from mainspring.concurrency import concurrency

    for _ in range(int(sys.argv[2])):
        with concurrency("db", strict=True):
            start = time.time()
            time.sleep(0.05)
            end = time.time()
        with open(sys.argv[1], "a") as f:
            f.write(f"{start} {end}\\n")
    """
)

HOLD_FOREVER = textwrap.dedent(
    """
    import sys, time
    from mainspring.concurrency import concurrency

    with concurrency("db", strict=True):
        open(sys.argv[1], "w").write("held")
        time.sleep(600)
    """
)

TAGGED_FLOW = textwrap.dedent(
    """
    import sys, time
    from mainspring import flow, task

    @task(tags=["db"])
    def query(i):
        start = time.time()
        time.sleep(0.1)
        with open(sys.argv[1], "a") as f:
            f.write(f"{start} {time.time()}\\n")
        return i

    @flow
    def nightly():
        return query.map(range(10)).result()

    assert nightly() == list(range(10))
    """
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "server"])
def setup(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[dict, ConcurrencyStore]]:
    """The environment of the child processes, and a store on what they share."""
    home = tmp_path / "home"
    home.mkdir()
    env = subprocess_env(home)
    env["MAINSPRING_CONCURRENCY_LEASE_SECONDS"] = "2"
    env["MAINSPRING_LOGGING_CONSOLE"] = "false"
    if request.param == "server":
        server = start_server(server_env(tmp_path / "home"))
        env["MAINSPRING_API_URL"] = server.url
        store: ConcurrencyStore = ApiStore(server.url, api_key="")
        try:
            yield env, store
        finally:
            store.close()  # type: ignore[attr-defined]
            stop_server(server.process)
        return
    url = f"sqlite:///{home / 'mainspring.db'}"
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_database")
    env["MAINSPRING_DATABASE_URL"] = url
    sql = SqlStore(url)
    yield env, sql
    sql.close()


def _run(script: str, tmp_path: Path, env: dict, *args: str) -> subprocess.Popen:
    path = tmp_path / f"script_{abs(hash(script))}.py"
    path.write_text(script)
    return subprocess.Popen(
        [sys.executable, str(path), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(*processes: subprocess.Popen) -> None:
    for p in processes:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-3000:]


def _intervals(path: Path) -> list[tuple[float, float]]:
    return sorted(tuple(map(float, line.split())) for line in path.read_text().splitlines())  # type: ignore[misc]


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    inside = peak = 0
    for _, step in events:  # an end sorts before a start at the same instant
        inside += step
        peak = max(peak, inside)
    return peak


def test_two_processes_holding_a_limit_of_1_never_overlap(setup, tmp_path: Path) -> None:
    env, store = setup
    store.create_concurrency_limit(ConcurrencyLimit("db", 1))
    ledger = tmp_path / "intervals.txt"
    _finish(*(_run(HOLD, tmp_path, env, str(ledger), "8") for _ in range(2)))
    intervals = _intervals(ledger)
    assert len(intervals) == 16
    assert _most_at_once(intervals) == 1, intervals
    assert store.read_concurrency_limit("db").active_slots == 0


def test_a_tag_limit_of_2_caps_the_tasks_of_two_flow_processes(setup, tmp_path: Path) -> None:
    env, store = setup
    store.create_concurrency_limit(ConcurrencyLimit("tag:db", 2))
    ledger = tmp_path / "intervals.txt"
    _finish(*(_run(TAGGED_FLOW, tmp_path, env, str(ledger)) for _ in range(2)))
    intervals = _intervals(ledger)
    assert len(intervals) == 20
    assert _most_at_once(intervals) <= 2, intervals
    assert store.read_concurrency_limit("tag:db").active_slots == 0


def test_a_holder_killed_with_sigkill_frees_its_slot_when_its_lease_expires(
    setup, tmp_path: Path
) -> None:
    env, store = setup
    store.create_concurrency_limit(ConcurrencyLimit("db", 1))
    flag = tmp_path / "held"
    holder = _run(HOLD_FOREVER, tmp_path, env, str(flag))
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert holder.poll() is None, holder.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the holder never took its slot"
            time.sleep(0.05)
        assert store.read_concurrency_limit("db").holders == [
            f"pid {holder.pid} on {os.uname().nodename}"
        ]
        time.sleep(5)  # 2.5 lease lengths: alive, it renews and keeps the slot
        refused = store.acquire_concurrency_slots(["db"], 1, "test", lease_seconds=30)
        assert not refused.acquired
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        killed_at = time.monotonic()
        got = store.acquire_concurrency_slots(["db"], 1, "test", lease_seconds=30, wait=60)
        assert got.acquired
        assert time.monotonic() - killed_at < 30  # the 2 s lease, not for ever
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate()


TAGGED_HOLD_FOREVER = textwrap.dedent(
    """
    import sys, time
    from mainspring import flow, task

    @task(tags=["db"])
    def stuck():
        open(sys.argv[1], "w").write("held")
        time.sleep(600)

    @flow
    def killed():
        stuck()

    killed()
    """
)


def test_a_task_run_killed_with_sigkill_frees_its_tag_slot_when_its_lease_expires(
    setup, tmp_path: Path
) -> None:
    env, store = setup
    store.create_concurrency_limit(ConcurrencyLimit("tag:db", 1))
    flag = tmp_path / "held"
    holder = _run(TAGGED_HOLD_FOREVER, tmp_path, env, str(flag))
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert holder.poll() is None, holder.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the task run never started"
            time.sleep(0.05)
        (holding,) = store.read_concurrency_limit("tag:db").holders
        assert holding.startswith("task run ")
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate()
    ledger = tmp_path / "intervals.txt"
    started = time.monotonic()
    _finish(_run(TAGGED_FLOW, tmp_path, env, str(ledger)))  # waits out the 2 s lease, runs all
    assert len(_intervals(ledger)) == 10
    assert time.monotonic() - started < 120
