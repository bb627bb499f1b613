"""Dialect specifics: URLs, SQLite pragmas and timestamp text, in-memory SQLite, settings."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mainspring.store import get_store
from mainspring.store.base import Batch
from mainspring.store.sql.store import SqlStore, backend_for

from .conftest import make_flow_run, make_task_run


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://u@h/db", "Unsupported database URL"),
        ("not a url", "Invalid database URL"),
        ("postgresql+psycopg2://u:secret@h/db", "Unsupported PostgreSQL driver"),
    ],
)
def test_bad_urls_raise_clear_errors(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        SqlStore(url)
    assert "secret" not in str(info.value)


def test_postgres_urls_use_psycopg() -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"):
        assert backend_for(url).url.drivername == "postgresql+psycopg"


def test_sqlite_file_settings_and_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "x.db"
    store = SqlStore(f"sqlite:///{path}")
    store.read_flows()
    assert path.exists()
    with store.engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
    store.close()


def test_busy_timeout_comes_from_settings(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MAINSPRING_SQLITE_BUSY_TIMEOUT", "2.5")
    from mainspring.settings import reset_settings

    reset_settings()
    store = SqlStore(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
    store.close()


def test_in_memory_sqlite_is_shared_by_threads() -> None:
    store = SqlStore("sqlite://")
    run = make_flow_run()
    store.write(Batch(flow_runs={run.id: run}))

    def write(n: int) -> None:
        t = make_task_run(run.id, f"t-{n}")
        store.write(Batch(task_runs={t.id: t}))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.read_task_runs(run.id)) == 8
    store.close()


def test_default_store_is_sqlite_in_mainspring_home() -> None:
    from mainspring.settings import get_settings

    store = get_store()
    assert isinstance(store, SqlStore)
    store.read_flows()
    assert (get_settings().home / "mainspring.db").exists()


def test_a_store_used_after_fork_opens_its_own_connections(tmp_path: Path) -> None:
    import os

    store = SqlStore(f"sqlite:///{tmp_path / 'x.db'}")
    run = make_flow_run()
    store.write(Batch(flow_runs={run.id: run}))
    pid = os.fork()
    if pid == 0:  # child: write through the inherited store, twice (engine made once)
        code = 1
        try:
            child = make_flow_run()
            store.write(Batch(flow_runs={child.id: child}))
            engine = store.engine()
            store.write(Batch(flow_runs={child.id: child}))
            code = 0 if store.engine() is engine else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.count_flow_runs() == 2
    store.close()
