"""PostgreSQL specifics: the psycopg 3 driver, a connection pool, READ COMMITTED upserts.

READ COMMITTED (PostgreSQL's default, set explicitly so a server default cannot change it) is
enough because every write is an INSERT ... ON CONFLICT: concurrent writers of the same row
wait for each other's commit and then update or skip it, without serialization failures that
stricter levels would force us to retry.

A batch is written set-based, not row by row (psycopg's executemany costs ~35 us a row, mostly in
Python): runs and edges are upserted by one INSERT ... SELECT FROM unnest(arrays) per chunk of
rows (`bulk_insert`), states and logs appended with COPY (`append_rows`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from mainspring.store.sql.dialect import Condition, SqlBackend, json_dumps, json_loads
from mainspring.store.sql.schema_types import is_json

#: Key of the advisory lock held while migrating ("MSPRSCHM" as a 64-bit integer).
SCHEMA_LOCK_KEY = int.from_bytes(b"MSPRSCHM", "big") - 2**63
_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}

#: Rows per upsert statement. Chunks of 500 to 20,000 rows upserted 20,000 task runs equally fast
#: (within the noise); 5,000 bounds what one statement holds (the unnest's rows are materialized:
#: ~1.5 MB of task runs, within the default 4 MB work_mem).
BULK_ROWS = 5_000
#: Characters of unbounded text (Text and JSON columns) per upsert statement: its arrays travel in
#: one Bind message, which PostgreSQL caps at 1 GB; 2**26 characters are at most 256 MB of UTF-8.
BULK_CHARS = 2**26


class PostgresBackend(SqlBackend):
    def __init__(self, url: sa.URL) -> None:
        if url.drivername not in _DRIVERS:
            raise ValueError(
                f"Unsupported PostgreSQL driver {url.drivername!r}: Mainspring uses psycopg 3; "
                "write the URL as postgresql://... or postgresql+psycopg://..."
            )
        super().__init__(url.set(drivername="postgresql+psycopg"))
        self._preparer = self.bulk_dialect().identifier_preparer
        #: statements of `insert_new_rows` and `update_rows`, compiled once per shape
        self._new_rows_sql: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}

    def create_engine(self) -> sa.Engine:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                "PostgreSQL needs psycopg: pip install 'mainspring[postgres]'"
            ) from exc
        return sa.create_engine(
            self.url,
            isolation_level="READ COMMITTED",
            # A server process serves many requests and the recorder writes in the background:
            # a few connections kept open, more on bursts.
            pool_size=5,
            max_overflow=10,
            # Servers and proxies drop idle connections; test one before handing it out.
            pool_pre_ping=True,
            pool_recycle=1800,
            json_serializer=json_dumps,
            json_deserializer=json_loads,
            # Errors are shown and logged; the values they would quote may be secrets (a
            # flow's password parameter, a key's hash).
            hide_parameters=True,
        )

    def insert(self, table: sa.Table) -> Any:
        return pg_insert(table)

    def bulk_dialect(self) -> sa.Dialect:
        # psycopg takes %s placeholders with tuples (compile_bulk makes them %b).
        return PGDialect_psycopg(paramstyle="format")  # type: ignore[no-untyped-call]

    def bulk_insert(self, table: sa.Table, columns: tuple[str, ...]) -> Any:
        """INSERT INTO t (columns) SELECT ... FROM unnest(%b, %b, ...) WITH ORDINALITY ORDER BY
        ordinality: one array parameter per column, so a chunk of rows is one statement.

        psycopg's executemany spends ~35 us a row, most of it in Python (its pipeline, dumping
        and preparing each row). Here each column is dumped as one binary array and PostgreSQL
        upserts the rows as a set, under the same ON CONFLICT clause: see `write_rows` for the
        figures. Arrays also keep clear of the 65,535 parameters a statement may have.
        Multi-row VALUES measured slower than executemany (~70-100 us a record in chunks of
        1,000 rows: one parameter per value to dump, thousands of placeholders to parse).
        Rows go in ordinality order (PostgreSQL knows it is sorted: no sort step), the order of
        the batch, as they went row by row (concurrent writers lock rows in that order).
        Strings travel as text[], not varchar(n)[]: an explicit cast to varchar(n) would
        truncate silently, whereas assigning text to the column refuses an overlong value as
        a row insert does. JSON travels as text, cast per element to jsonb.
        """
        arrays = [sa.bindparam(c, type_=ARRAY(_element_type(table.c[c].type))) for c in columns]
        rows = (
            sa.func.unnest(*arrays)
            .table_valued(*columns, with_ordinality="ordinality")
            .render_derived(name="batch")
        )
        values = [
            sa.cast(rows.c[c], table.c[c].type) if is_json(table.c[c].type) else rows.c[c]
            for c in columns
        ]
        select = sa.select(*values).order_by(rows.c.ordinality)
        return pg_insert(table).from_select(list(columns), select)

    def compile_bulk(self, statement: Any, columns: tuple[str, ...]) -> str:
        # %b: psycopg dumps a list bound to %s as a text array literal (a regex search and
        # quoting per element, then parsing on the server): the batch took twice as long.
        sql = super().compile_bulk(statement, columns)
        return _PLACEHOLDER.sub(lambda m: "%b" if m.group() == "%s" else m.group(), sql)

    def write_rows(
        self,
        conn: sa.Connection,
        sql: str,
        table: sa.Table,
        columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """Each chunk of BULK_ROWS rows in one statement of `bulk_insert`, its columns as lists.

        The 1,000 task runs of a 1,000-task flow's batch upsert at ~20-35 us a row against
        ~45-65 one by one (shared 2-CPU machine). About half of that is PostgreSQL inserting
        the rows and their index entries (EXPLAIN ANALYZE), most of the rest psycopg dumping
        the column arrays; ON CONFLICT costs nothing measurable for new rows (a plain INSERT
        of the same rows took as long).
        """
        unbounded = [i for i, c in enumerate(columns) if _unbounded(table.c[c].type)]
        for start in range(0, len(rows), BULK_ROWS):
            _write_chunk(conn, sql, rows[start : start + BULK_ROWS], unbounded)

    def insert_new_rows(
        self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], unique: list[str]
    ) -> set[Any]:
        """From arrays (`bulk_insert`), ON CONFLICT (unique) DO NOTHING RETURNING id: a
        multi-row VALUES of 1,000 scheduled runs cost ~0.2 s in psycopg alone, parsing its
        21,000 placeholders (such statements are too long for its query cache)."""
        if not rows:
            return set()
        columns = tuple(rows[0])
        key = (table.name, columns, tuple(unique))
        sql = self._new_rows_sql.get(key)
        if sql is None:
            statement = (
                self.bulk_insert(table, columns)
                .on_conflict_do_nothing(index_elements=unique)
                .returning(table.c.id)
            )
            sql = self._new_rows_sql[key] = self.compile_bulk(statement, columns)
        arrays = []
        for name in columns:
            values = [row[name] for row in rows]
            if is_json(table.c[name].type):
                values = [None if v is None else json_dumps(v) for v in values]
            arrays.append(values)
        new: set[Any] = set()
        for start in range(0, len(rows), BULK_ROWS):
            chunk = tuple(a[start : start + BULK_ROWS] for a in arrays)
            new.update(row_id for (row_id,) in conn.exec_driver_sql(sql, chunk))
        return new

    def update_rows(self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """UPDATE ... FROM unnest(arrays) WHERE id = batch.id: one statement, where psycopg's
        executemany spent ~0.25 s on 1,000 rows (a catch-up marking missed runs Skipped)."""
        if not rows:
            return
        columns = tuple(rows[0])
        key = (table.name, columns, ("update",))
        sql = self._new_rows_sql.get(key)
        if sql is None:
            arrays = [  # named apart from the columns: an UPDATE reserves their names
                sa.bindparam(f"u_{c}", type_=ARRAY(_element_type(table.c[c].type))) for c in columns
            ]
            batch = sa.func.unnest(*arrays).table_valued(*columns).render_derived(name="batch")
            statement = (
                sa.update(table)
                .where(table.c.id == batch.c.id)
                .values({c: batch.c[c] for c in columns if c != "id"})
            )
            compiled = statement.compile(dialect=self.bulk_dialect())  # no column_keys: an
            # UPDATE would take them for its SET clause
            if list(compiled.positiontup or ()) != [f"u_{c}" for c in columns]:
                raise RuntimeError(f"Unexpected bind order: {compiled.positiontup}")
            sql = _PLACEHOLDER.sub(
                lambda m: "%b" if m.group() == "%s" else m.group(), compiled.string
            )
            self._new_rows_sql[key] = sql
        for start in range(0, len(rows), BULK_ROWS):
            chunk = rows[start : start + BULK_ROWS]
            conn.exec_driver_sql(sql, tuple([row[c] for row in chunk] for c in columns))

    def append_rows(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
        compiled: Callable[[], str],
    ) -> None:
        """COPY ... FROM STDIN: PostgreSQL's bulk load, for the tables only ever appended to.

        Measured on the 3,003 states and 2,002 logs of a 1,000-task flow's batch: ~11 us a
        row, against ~20 for an INSERT from arrays like the runs' (~15 without its ON CONFLICT
        DO NOTHING) and ~35 one by one; with the runs upserted from arrays, the whole batch
        takes 18 us a record instead of 26 (39 row by row). The server inserts the rows a
        page at a time and psycopg formats them in C. Nothing is lost against the INSERT: ids
        come from the sequence, in the order of the rows, so no row can conflict (COPY has no
        ON CONFLICT). Text format, not binary: as fast, and each value is read by its
        column's input function (jsonb from JSON text, a varchar length checked) like the
        literal of an INSERT. The statement is not a Core construct (SQLAlchemy has none for
        COPY); it names only the schema's table and columns, quoted by the dialect, and the
        values travel as data, never as SQL.
        """
        import psycopg

        sql = self._copy_sql(table, columns)
        cursor = conn.connection.cursor()
        try:
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:  # raised by the driver, not through SQLAlchemy
            raise sa.exc.DBAPIError.instance(sql, None, exc, psycopg.Error) from exc
        finally:
            cursor.close()

    def _copy_sql(self, table: sa.Table, columns: tuple[str, ...]) -> str:
        names = ", ".join(map(self._preparer.quote, columns))
        return f"COPY {self._preparer.format_table(table)} ({names}) FROM STDIN"

    def has_all_tags(self, column: sa.ColumnElement[Any], tags: list[str]) -> Condition:
        return sa.type_coerce(column, JSONB).contains(tags)  # tags @> '["a", "b"]'

    def lock_schema(self, conn: sa.Connection) -> None:
        """Wait for the migration lock; released when the migration transaction ends."""
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))


#: psycopg's placeholders and its escaped percent sign, which must stay as they are
_PLACEHOLDER = re.compile(r"%[%sbt]")


def _unbounded(type_: sa.types.TypeEngine[Any]) -> bool:
    return is_json(type_) or (isinstance(type_, sa.String) and type_.length is None)


def _element_type(type_: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    return sa.Text() if is_json(type_) or isinstance(type_, sa.String) else type_


def _write_chunk(
    conn: sa.Connection, sql: str, rows: list[tuple[Any, ...]], unbounded: list[int]
) -> None:
    """One statement for `rows`, as columns; halved while its text exceeds BULK_CHARS."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    if len(rows) > 1:
        chars = sum(sum(map(len, filter(None, columns[i]))) for i in unbounded)
        if chars > BULK_CHARS:
            half = len(rows) // 2  # the first half first, as row by row
            _write_chunk(conn, sql, rows[:half], unbounded)
            _write_chunk(conn, sql, rows[half:], unbounded)
            return
    conn.exec_driver_sql(sql, tuple(columns))
