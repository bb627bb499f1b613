"""serve() as a real process on PostgreSQL (test_serve.py runs the same on SQLite; a worker on
PostgreSQL is in test_crash_retries.py): its runs happen on time, a restart catches up by the
policy, and once it stopped, a scheduler (as a server started later runs it) plans nothing for
it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring.deploy.scheduler import Scheduler
from mainspring.settings import get_settings, reset_settings
from mainspring.store import reset_store
from mainspring.store.sql import SqlStore

from .test_serve import completed, runs, script, start_serve, stop_serve, wait_for

__all__ = ["script"]  # the fixture, used here

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def store(postgres_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    monkeypatch.setenv("MAINSPRING_DATABASE_URL", postgres_database)
    reset_settings()
    reset_store()
    s = SqlStore(get_settings().effective_database_url)
    yield s
    s.close()


def test_serve_on_postgres_runs_catches_up_and_leaves_no_runs_behind(
    script: Path, store: SqlStore
) -> None:
    first = start_serve(script)
    try:
        wait_for(store, lambda found: len(completed(found)) >= 2)
    finally:
        stop_serve(first)
    stopped = time.time()
    assert store.url.startswith("postgresql")
    done = completed(runs(store))
    assert all(r.run.parameters == {"name": "ada", "sleep": 0.0} for r in done)
    assert all(r.run.start_time >= r.expected_start_time for r in done)  # never early

    time.sleep(3)  # a few runs are missed
    second = start_serve(script)
    restarted = time.time()
    try:
        wait_for(
            store, lambda found: any(r.expected_start_time > restarted for r in completed(found))
        )
    finally:
        stop_serve(second)
    missed = [r for r in runs(store) if stopped + 1 < r.expected_start_time < restarted - 1]
    states = {r.run.state.name for r in missed}
    assert "Skipped" in states and states <= {"Skipped", "Completed", "Late"}, states

    # a server started later (its scheduler, an hour on: past the horizon serve() planned
    # ahead) plans nothing for the stopped serve() process: no runs would wait for no one
    later = time.time() + 3600
    before = {r.run.id for r in runs(store)}
    assert Scheduler(store).tick(later).created == 0
    assert {r.run.id for r in runs(store)} == before
