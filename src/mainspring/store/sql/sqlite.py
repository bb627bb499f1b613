"""SQLite specifics: WAL, immediate write transactions, and a shared in-memory mode.

Several processes (four `python flow.py` at once) write to one file. What makes that work:
- WAL journal: readers never block the writer nor the writer readers; one writer at a time.
- Writes start with BEGIN IMMEDIATE, taking the write lock up front. A deferred transaction that
  reads and then writes must upgrade its lock, and in WAL mode SQLite cannot wait for that
  upgrade: it fails at once with SQLITE_BUSY ("database is locked") if another process wrote
  meanwhile. An immediate BEGIN instead waits up to the busy timeout for its turn.
- pysqlite's own transaction handling is switched off (`isolation_level = None`) so that the
  BEGIN we emit is the one that counts (SQLAlchemy's documented pysqlite recipe).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.pool import StaticPool

from mainspring.settings import get_settings
from mainspring.store.private_files import create_private_file, private_folder
from mainspring.store.sql import run_search
from mainspring.store.sql.dialect import (
    ChangeWatch,
    Condition,
    RunIdSets,
    SqlBackend,
    json_dumps,
    json_loads,
)

_IMMEDIATE = "mainspring_begin_immediate"


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; we emit BEGIN (see _on_begin)
    cursor = dbapi_conn.cursor()
    try:
        # WAL: concurrent readers plus one writer, across processes. Persistent in the file;
        # repeating it on an already-WAL database is a no-op.
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is safe with WAL (no corruption on power loss, at worst the last commits are
        # lost) and saves an fsync per transaction compared with FULL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A 64 MiB page cache (default 2 MiB): a big flow's batch inserts tens of thousands of
        # rows into several indexes keyed by random ids; with the index pages cached the
        # inserts stay in memory instead of re-reading pages. Memory is only used as it fills.
        cursor.execute("PRAGMA cache_size=-65536")
        # Foreign keys stay off (SQLite's default): history rows arrive in bulk and an orphan
        # log line is better than a rejected batch. The schema declares only flow_run->flow.
    finally:
        cursor.close()


def _on_begin(conn: sa.Connection) -> None:
    if conn.get_execution_options().get(_IMMEDIATE):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


class SqliteBackend(SqlBackend):
    """A SQLite file (default `~/.mainspring/mainspring.db`) or an in-memory database."""

    def __init__(self, url: sa.URL) -> None:
        super().__init__(url)
        database = url.database or ""
        self.memory = database in ("", ":memory:") or "mode=memory" in database
        # An in-memory database lives in one connection, shared by every thread: serialize.
        self._lock: threading.RLock | None = threading.RLock() if self.memory else None
        # the tag table and the trigram table of names (migration 0017), once looked at
        self._tag_index = self._name_index = False

    def create_engine(self) -> sa.Engine:
        # sqlite3's `timeout` is SQLite's busy timeout (it calls sqlite3_busy_timeout with the
        # seconds converted to ms): how long a writer waits for another process's lock.
        connect_args: dict[str, Any] = {
            "timeout": get_settings().sqlite_busy_timeout,
            "check_same_thread": False,  # pooled connections move between threads
        }
        options: dict[str, Any] = {}
        if self.memory:
            options["poolclass"] = StaticPool
        else:
            self._create_private_file()
        engine = sa.create_engine(
            self.url,
            connect_args=connect_args,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
            hide_parameters=True,  # errors are shown and logged: never quote values in them
            **options,
        )
        sa.event.listen(engine, "connect", _on_connect)
        sa.event.listen(engine, "begin", _on_begin)
        return engine

    def _create_private_file(self) -> None:
        """Create the database file 0600 in a 0700 folder (MAINSPRING_HOME by default) before
        SQLite does: it would create it by the umask (0644), and it gives its -wal and -shm
        files the database file's mode."""
        database = self.url.database or ""
        if database.startswith("file:"):  # a URI filename: SQLite opens it as it says
            return
        path = Path(database).expanduser()
        private_folder(path.parent)
        create_private_file(path)

    def insert(self, table: sa.Table) -> Any:
        return sqlite_insert(table)

    def bulk_dialect(self) -> sa.Dialect:
        return SQLiteDialect_pysqlite()  # qmark: positional already

    def has_all_tags(self, column: sa.ColumnElement[Any], tags: list[str]) -> Condition:
        conditions = []
        for tag in tags:
            each = sa.func.json_each(column).table_valued("value")
            conditions.append(sa.exists(sa.select(1).select_from(each).where(each.c.value == tag)))
        return sa.and_(*conditions)

    def learn_schema(self, engine: sa.Engine) -> None:
        with self.serialized(), engine.connect() as conn:
            self._tag_index, self._name_index = run_search.indexed_search(conn)

    def run_id_sets(self, tags: list[str], name_contains: str | None) -> RunIdSets | None:
        sets = RunIdSets(tags=tags if self._tag_index else [])
        if self._name_index and name_contains and len(name_contains) >= run_search.MIN_INDEXED:
            sets.name = name_contains
        return sets if sets.tags or sets.name is not None else None

    @contextmanager
    def write_transaction(self, engine: sa.Engine) -> Iterator[sa.Connection]:
        with engine.connect() as conn:
            conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                yield conn

    def lock_schema(self, conn: sa.Connection) -> None:
        """Nothing to do: the BEGIN IMMEDIATE of `write_transaction` already holds the lock."""

    def serialized(self) -> AbstractContextManager[Any]:
        return self._lock if self._lock is not None else nullcontext()

    def watch_changes(self, engine: sa.Engine) -> ChangeWatch | None:
        if self.memory:  # one connection, one process: nothing else can commit unseen
            return None
        return DataVersionWatch(engine)


class DataVersionWatch:
    """`PRAGMA data_version` on a connection of its own: SQLite changes the number it returns
    when another connection, in this process or another, commits to the file, and reading it
    is a few microseconds (no disk access: the WAL index in shared memory). Polled every
    ~10 ms by a waiting claim, it hears of a new run within that, where re-running the claim
    query every 0.1 s cost a write transaction each time and heard of it up to 0.1 s late."""

    def __init__(self, engine: sa.Engine) -> None:
        self._connection = engine.raw_connection()  # autocommit (see _on_connect)
        self._version = self._read()

    def _read(self) -> int:
        cursor = self._connection.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            (version,) = cursor.fetchone() or (0,)
            return int(version)
        finally:
            cursor.close()

    def changed(self) -> bool:
        version = self._read()
        if version == self._version:
            return False
        self._version = version
        return True

    def close(self) -> None:
        self._connection.close()  # back to the pool
