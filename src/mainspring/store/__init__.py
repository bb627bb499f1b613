"""Persistence: the Store protocol, its SQL backend, and the process-wide default store."""

from __future__ import annotations

import os
import threading

from mainspring.store.base import Batch, Store

__all__ = [
    "Batch",
    "Store",
    "get_store",
    "leave_dead_runs_to_parent",
    "open_store",
    "reset_store",
]

_lock = threading.Lock()
_store: Store | None = None
_store_pid: int | None = None
#: The pid of a process whose `get_store` leaves the dead-run scan out (see below).
_scan_left_to_parent: int | None = None


def leave_dead_runs_to_parent() -> None:
    """This process's shared store does not end this host's dead runs when it opens
    (store/sql/dead_runs.py): a run's child forked by a runner's fork server, whose runner
    (a worker, serve()) did it when it opened its own store and ends its children's runs
    itself when they exit. A scan per child repeated that work for every run (~3 ms of CPU
    between claimed and Running); any other process opening the store still scans. Not
    inherited by a process this one forks."""
    global _scan_left_to_parent
    _scan_left_to_parent = os.getpid()


def open_store(database_url: str | None = None, *, end_dead_runs: bool = True) -> Store:
    """A new store for `database_url`, or for the current settings when it is None.

    `MAINSPRING_API_URL` selects the server (ApiStore); otherwise SqlStore on
    `MAINSPRING_DATABASE_URL` or the embedded SQLite file in `MAINSPRING_HOME`. A SqlStore
    ends this host's dead runs when it opens unless `end_dead_runs` is False (see
    `Store.end_dead_flow_runs`).
    """
    from mainspring.settings import get_settings

    settings = get_settings()
    if database_url is None and settings.api_url:
        from mainspring.store.http.store import ApiStore

        return ApiStore(settings.api_url)
    from mainspring.store.sql import SqlStore

    return SqlStore(database_url or settings.effective_database_url, end_dead_runs=end_dead_runs)


def get_store() -> Store:
    """The process's shared store, opened on first use (and again in a forked child)."""
    global _store, _store_pid
    with _lock:
        if _store is None or _store_pid != os.getpid():
            _store = open_store(end_dead_runs=_scan_left_to_parent != os.getpid())
            _store_pid = os.getpid()
        return _store


def reset_store() -> None:
    """Close and forget the shared store (after settings change, e.g. in tests)."""
    global _store, _store_pid
    with _lock:
        if _store is not None and _store_pid == os.getpid():
            _store.close()
        _store, _store_pid = None, None
