"""The dialect layer under SqlStore: one `SqlBackend` base, a subclass per SQL database.

Each method states what a dialect must provide; `store/sql/sqlite.py` and `store/sql/postgres.py`
implement them, with comments that say why a pragma or an isolation level is there.
`dialects.backend_for(url)` picks the subclass from a database URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import sqlalchemy as sa

from mainspring.store.json_values import dumps as json_dumps
from mainspring.store.json_values import loads as json_loads

# JSON columns (parameters, tags, a result's address) are written and read by `json_values`:
# values JSON cannot carry (10**400, NaN) read back as they were, and no stored row fails a read.
__all__ = ["Condition", "SqlBackend", "json_dumps", "json_loads"]

Condition = sa.ColumnElement[bool]


class SqlBackend:
    """What differs between SQL databases; one subclass per dialect."""

    def __init__(self, url: sa.URL) -> None:
        self.url = url

    def create_engine(self) -> sa.Engine:
        raise NotImplementedError

    def insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT construct (it has `on_conflict_do_update/nothing`)."""
        raise NotImplementedError

    def bulk_dialect(self) -> sa.Dialect:
        """The dialect, with a positional paramstyle, that bulk statements are compiled for."""
        raise NotImplementedError

    def bulk_insert(self, table: sa.Table, columns: tuple[str, ...]) -> Any:
        """The INSERT (before its ON CONFLICT clause) that `write_rows` feeds a batch's rows to.

        By default one bound parameter per column, in `columns` order, executed once per row
        (the driver's executemany).
        """
        return self.insert(table)

    def compile_bulk(self, statement: Any, columns: tuple[str, ...]) -> str:
        """`statement` (built on `bulk_insert`) as SQL whose placeholders follow `columns`."""
        compiled = statement.compile(dialect=self.bulk_dialect(), column_keys=list(columns))
        if list(compiled.positiontup or ()) != list(columns):  # the order values are sent in
            raise RuntimeError(f"Unexpected bind order: {compiled.positiontup}")
        return str(compiled.string)

    def write_rows(
        self,
        conn: sa.Connection,
        sql: str,
        table: sa.Table,
        columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """Execute `compile_bulk`'s `sql` for `rows`: tuples of driver-ready values in `columns`
        order (see `schema.*_values`), stored in list order."""
        conn.exec_driver_sql(sql, rows)

    def append_rows(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
        compiled: Callable[[], str],
    ) -> None:
        """Append `rows` to a table whose ids the database assigns (states, logs), increasing
        in list order. `compiled()` gives the table's `compile_bulk` SQL, for dialects that
        run it (by default, as `write_rows` does)."""
        self.write_rows(conn, compiled(), table, columns, rows)

    def has_all_tags(self, column: sa.ColumnElement[Any], tags: list[str]) -> Condition:
        """A condition true when the JSON list in `column` contains every tag."""
        raise NotImplementedError

    @contextmanager
    def write_transaction(self, engine: sa.Engine) -> Iterator[sa.Connection]:
        """A connection in a transaction suited to writing; commits on success."""
        with engine.begin() as conn:
            yield conn

    def lock_schema(self, conn: sa.Connection) -> None:
        """Serialize schema migrations across processes (first thing in the migration txn)."""

    def serialized(self) -> AbstractContextManager[Any]:
        """Held around each operation; only a backend sharing one connection needs it."""
        return nullcontext()
