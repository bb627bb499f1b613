"""Direct SQL the server needs beyond the Store protocol (orchestration, API keys).

Writes go through the dialect's own write transaction: on SQLite it starts with BEGIN
IMMEDIATE, so a transaction that reads and then writes waits for the write lock instead of
failing with "database is locked" when another process wrote in between.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from mainspring.store.sql import SqlStore


@contextmanager
def write_transaction(store: SqlStore) -> Iterator[sa.Connection]:
    """A connection in a write transaction of `store`'s database; commits on success."""
    backend = store._backend  # SqlStore's dialect helper; the server is its only other user
    with backend.serialized(), backend.write_transaction(store.engine()) as conn:
        yield conn


@contextmanager
def read_connection(store: SqlStore) -> Iterator[sa.Connection]:
    with store._backend.serialized(), store.engine().connect() as conn:
        yield conn
