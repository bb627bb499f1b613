"""The dialect layer under SqlStore: one `SqlBackend` base, a subclass per SQL database.

Each method states what a dialect must provide; `store/sql/sqlite.py` and `store/sql/postgres.py`
implement them, with comments that say why a pragma or an isolation level is there.
`dialects.backend_for(url)` picks the subclass from a database URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

import sqlalchemy as sa

from mainspring.store.json_values import dumps as json_dumps
from mainspring.store.json_values import loads as json_loads
from mainspring.store.sql.run_search import RunIdSets

# JSON columns (parameters, tags, a result's address) are written and read by `json_values`:
# values JSON cannot carry (10**400, NaN) read back as they were, and no stored row fails a read.
__all__ = [
    "ChangeWatch",
    "Condition",
    "RunIdSets",
    "SqlBackend",
    "json_dumps",
    "json_loads",
    "like_escaped",
]

Condition = sa.ColumnElement[bool]


def like_escaped(text: str) -> str:
    """`text` for a LIKE pattern with `escape="\\"`: its wildcards (and backslashes) literal."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ChangeWatch(Protocol):
    """Tells cheaply whether another connection (of any process) committed since the last
    look: a waiting claim looks every few milliseconds and queries only when it did."""

    def changed(self) -> bool: ...

    def close(self) -> None: ...


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

    def insert_new_rows(
        self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], unique: list[str]
    ) -> set[Any]:
        """Insert `rows` (dicts with the same keys), skipping each whose `unique` columns (a
        unique index) match a stored row, in one statement or a few; return the `id`s of the
        rows inserted. By default the driver's executemany batched by SQLAlchemy into
        multi-row VALUES with RETURNING ("insertmanyvalues")."""
        if not rows:
            return set()
        insert = (
            self.insert(table).on_conflict_do_nothing(index_elements=unique).returning(table.c.id)
        )
        return {row_id for (row_id,) in conn.execute(insert, rows)}

    def update_rows(self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Set each row's columns (dicts with the same keys, `id` among them) on the row with
        its `id`, for rows the caller has locked and checked. By default one UPDATE executed
        per row (the driver's executemany: a C loop in sqlite3). No JSON columns."""
        if not rows:
            return
        columns = [c for c in rows[0] if c != "id"]
        update = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("u_id"))
            .values({c: sa.bindparam(f"u_{c}") for c in columns})
        )
        conn.execute(update, [{f"u_{k}": v for k, v in row.items()} for row in rows])

    def watch_changes(self, engine: sa.Engine) -> ChangeWatch | None:
        """A `ChangeWatch` on the database, or None when the database offers no cheap one
        (the waiting claim then re-checks on a short interval)."""
        return None

    def has_all_tags(self, column: sa.ColumnElement[Any], tags: list[str]) -> Condition:
        """A condition true when the JSON list in `column` contains every tag."""
        raise NotImplementedError

    def learn_schema(self, engine: sa.Engine) -> None:
        """Look once at what the migrated database offers (an index a dialect may lack)."""

    def run_id_sets(self, tags: list[str], name_contains: str | None) -> RunIdSets | None:
        """The flow runs' ids carrying each tag and whose name contains `name_contains` (any
        case), from tables the dialect keeps beside `flow_run`; None where the conditions on
        `flow_run` itself are best (PostgreSQL: they are indexed)."""
        return None

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
