"""A waiting claim on SQLite hears of a commit from another connection or process through
`PRAGMA data_version` (store/sql/sqlite.py), and queries only when something changed."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring.model.deployments import Deployment, WorkPool
from mainspring.store.sql import SqlStore, deployments
from mainspring.store.sql.sqlite import DataVersionWatch

WAITER = """
import sys, time
from mainspring.store.sql import SqlStore
store = SqlStore(sys.argv[1])
print("waiting", flush=True)
started = time.monotonic()
runs = store.claim_runs("pool", None, "waiter", 1, wait=60)
print(" ".join(r.run.id for r in runs), round(time.monotonic() - started, 3), flush=True)
store.close()
"""


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'mainspring.db'}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    s = SqlStore(sqlite_url)
    s.create_work_pool(WorkPool("pool"))
    yield s
    s.close()


def deployment(store: SqlStore) -> Deployment:
    return store.upsert_deployment(
        Deployment(flow_name="etl", name="manual", entrypoint="f.py:f", work_pool_name="pool")
    )


def test_the_watch_sees_commits_of_other_connections_only(store: SqlStore, sqlite_url: str) -> None:
    watch = DataVersionWatch(store.engine())
    try:
        assert not watch.changed()
        other = SqlStore(sqlite_url)  # another connection, as another process would have
        try:
            other.upsert_deployment(Deployment(flow_name="etl", name="x"))
        finally:
            other.close()
        assert watch.changed()
        assert not watch.changed()  # once per change
        store.read_deployments()  # reads commit nothing
        assert not watch.changed()
    finally:
        watch.close()


@pytest.mark.slow
def test_a_waiting_claim_in_another_process_takes_a_run_made_here(
    store: SqlStore, sqlite_url: str
) -> None:
    made = deployment(store)
    waiter = subprocess.Popen(
        [sys.executable, "-c", WAITER, sqlite_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert waiter.stdout is not None
        assert waiter.stdout.readline().strip() == "waiting"
        time.sleep(0.5)  # let it settle into its wait (the result holds either way)
        run = store.create_deployment_run(made.id)
        out, err = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 0, err
    claimed, seconds = out.split()
    assert claimed == run.run.id
    assert float(seconds) < 60  # woken by the commit, not by the end of its wait


def test_a_waiting_claim_queries_only_when_something_changed(
    store: SqlStore, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim waiting a second with nothing happening claims once or twice, not every 0.1 s;
    a commit from another connection meanwhile wakes it and it takes the new run."""
    made = deployment(store)
    attempts: list[float] = []
    real_claim = deployments.claim

    def counted(*args: object, **kwargs: object) -> object:
        attempts.append(time.monotonic())
        return real_claim(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(deployments, "claim", counted)
    assert store.claim_runs("pool", None, "w", 1, wait=1.0) == []
    assert len(attempts) <= 2  # the first, and none until the wait ran out (old code: ~10)

    attempts.clear()
    other = SqlStore(sqlite_url)
    made_run: list[str] = []
    timer = threading.Timer(
        0.3, lambda: made_run.append(other.create_deployment_run(made.id).run.id)
    )
    timer.start()
    try:
        claimed = store.claim_runs("pool", None, "w", 1, wait=30)
    finally:
        timer.join()
        other.close()
    assert [r.run.id for r in claimed] == made_run
    assert len(attempts) <= 3  # the first, then once per commit seen (the run, its state)
