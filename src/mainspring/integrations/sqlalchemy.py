"""`SqlAlchemyConnector`: a saved database connection, as `prefect_sqlalchemy` has it
(`from mainspring.integrations.sqlalchemy import SqlAlchemyConnector`, extra `mainspring[sql]`).

    with SqlAlchemyConnector.load("mi-db") as database:
        database.execute("CREATE TABLE IF NOT EXISTS customers (name TEXT, address TEXT)")
        database.execute_many("INSERT INTO customers VALUES (:name, :address)", rows)
        while batch := database.fetch_many("SELECT * FROM customers", size=100): ...

The connection is a URL (`connection_info="postgresql+psycopg://user:pw@host/db"`, kept secret
because URLs carry passwords) or `ConnectionComponents` with a secret password. Statements are
text with bound parameters (`:name`), never formatted into the SQL. `fetch_many` and
`fetch_one` continue where the previous call with the same statement and parameters stopped,
as Prefect's do (its open result is kept until `reset_connections()` or `close()`).
`AsyncSqlAlchemyConnector` is the same with awaitable methods, on an async driver
(`postgresql+psycopg`, `sqlite+aiosqlite`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import Enum, StrEnum
from types import TracebackType
from typing import Any, Self

from pydantic import Field, PrivateAttr, SecretStr

from mainspring.blocks.core import Block

__all__ = [
    "AsyncDriver",
    "AsyncSqlAlchemyConnector",
    "ConnectionComponents",
    "SqlAlchemyConnector",
    "SyncDriver",
]


class SyncDriver(StrEnum):
    """Common synchronous drivers (any SQLAlchemy `dialect+driver` text works too)."""

    POSTGRESQL_PSYCOPG = "postgresql+psycopg"
    POSTGRESQL_PSYCOPG2 = "postgresql+psycopg2"
    SQLITE_PYSQLITE = "sqlite+pysqlite"
    MYSQL_PYMYSQL = "mysql+pymysql"
    MSSQL_PYODBC = "mssql+pyodbc"


class AsyncDriver(StrEnum):
    POSTGRESQL_PSYCOPG = "postgresql+psycopg"
    POSTGRESQL_ASYNCPG = "postgresql+asyncpg"
    SQLITE_AIOSQLITE = "sqlite+aiosqlite"


class ConnectionComponents(Block):
    """A connection given by parts; the password is secret (encrypted at rest, masked).
    A block only so that it nests in one with its secret kept (it is not a type of its own)."""

    _block_type_abstract = True

    driver: SyncDriver | AsyncDriver | str = Field(description="dialect+driver")
    database: str = Field(description="The database name (a file path for SQLite).")
    username: str | None = None
    password: SecretStr | None = None
    host: str | None = None
    port: int | None = None
    query: dict[str, str] | None = Field(None, description="Driver options in the URL.")

    def url(self) -> Any:
        import sqlalchemy as sa

        driver = self.driver.value if isinstance(self.driver, Enum) else self.driver
        return sa.URL.create(
            drivername=driver,
            username=self.username,
            password=None if self.password is None else self.password.get_secret_value(),
            host=self.host,
            port=self.port,
            database=self.database,
            query=self.query or {},
        )


class _Connector(Block):
    """What both connectors share: the connection settings and the URL they make."""

    _block_type_abstract = True

    connection_info: ConnectionComponents | SecretStr = Field(
        description="A SQLAlchemy URL (secret: it may hold a password) or its components."
    )
    connect_args: dict[str, Any] | None = Field(None, description="Passed to the driver.")
    fetch_size: int = Field(1, ge=1, description="How many rows fetch_many returns by default.")

    def _url(self) -> Any:
        import sqlalchemy as sa

        info = self.connection_info
        if isinstance(info, ConnectionComponents):
            return info.url()
        try:
            return sa.make_url(info.get_secret_value())
        except sa.exc.ArgumentError:
            raise ValueError(
                "connection_info is not a SQLAlchemy URL (dialect+driver://user:pw@host/db)"
            ) from None

    @staticmethod
    def _key(operation: str, parameters: Any) -> str:
        return operation + "\0" + json.dumps(parameters, sort_keys=True, default=repr)


class SqlAlchemyConnector(_Connector):
    """A database connection saved as a block, for statements from flows and tasks."""

    _block_type_slug = "sqlalchemy-connector"

    _engine: Any = PrivateAttr(default=None)
    _connection: Any = PrivateAttr(default=None)
    _results: dict[str, Any] = PrivateAttr(default_factory=dict)

    def get_engine(self, **options: Any) -> Any:
        """The SQLAlchemy engine (made once; `options` go to `create_engine` the first time)."""
        if self._engine is None:
            import sqlalchemy as sa

            self._engine = sa.create_engine(
                self._url(), connect_args=self.connect_args or {}, **options
            )
        return self._engine

    def get_connection(self, begin: bool = True) -> Any:
        """A new connection (in a transaction, committed on leaving its `with`, when
        `begin`), for what the helpers below do not cover."""
        engine = self.get_engine()
        return engine.begin() if begin else engine.connect()

    def _fetch_connection(self) -> Any:
        if self._connection is None:
            self._connection = self.get_engine().connect()
        return self._connection

    def execute(self, operation: str, parameters: Mapping[str, Any] | None = None) -> Any:
        """Run one statement in its own transaction (committed); returns the CursorResult
        (its `rowcount` for writes)."""
        import sqlalchemy as sa

        with self.get_engine().begin() as conn:
            return conn.execute(sa.text(operation), dict(parameters or {}))

    def execute_many(self, operation: str, seq_of_parameters: Iterable[Mapping[str, Any]]) -> Any:
        """Run one statement for each set of parameters, in one transaction."""
        import sqlalchemy as sa

        rows = [dict(p) for p in seq_of_parameters]
        with self.get_engine().begin() as conn:
            return conn.execute(sa.text(operation), rows)

    def _result(self, operation: str, parameters: Mapping[str, Any] | None) -> Any:
        import sqlalchemy as sa

        key = self._key(operation, parameters)
        result = self._results.get(key)
        if result is None:
            conn = self._fetch_connection()
            result = conn.execute(sa.text(operation), dict(parameters or {}))
            self._results[key] = result
        return result

    def fetch_one(self, operation: str, parameters: Mapping[str, Any] | None = None) -> Any:
        """The next row of the statement's result (None when done)."""
        row = self._result(operation, parameters).fetchone()
        if row is None:
            self._drop(operation, parameters)
        return None if row is None else tuple(row)

    def fetch_many(
        self, operation: str, parameters: Mapping[str, Any] | None = None, size: int | None = None
    ) -> list[tuple[Any, ...]]:
        """The next `size` (default `fetch_size`) rows; [] when the result is done."""
        rows = self._result(operation, parameters).fetchmany(size or self.fetch_size)
        if not rows:
            self._drop(operation, parameters)
        return [tuple(r) for r in rows]

    def fetch_all(
        self, operation: str, parameters: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Every remaining row of the statement's result."""
        rows = self._result(operation, parameters).fetchall()
        self._drop(operation, parameters)
        return [tuple(r) for r in rows]

    def _drop(self, operation: str, parameters: Mapping[str, Any] | None) -> None:
        result = self._results.pop(self._key(operation, parameters), None)
        if result is not None:
            result.close()

    def reset_connections(self) -> None:
        """Forget the open results (a fetch starts over) and close the fetching connection."""
        for result in self._results.values():
            result.close()
        self._results.clear()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        """Close everything, the engine's pool included."""
        self.reset_connections()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncSqlAlchemyConnector(_Connector):
    """`SqlAlchemyConnector` with awaitable methods, on an async driver."""

    _block_type_slug = "async-sqlalchemy-connector"

    _engine: Any = PrivateAttr(default=None)
    _connection: Any = PrivateAttr(default=None)
    _results: dict[str, Any] = PrivateAttr(default_factory=dict)

    def get_engine(self, **options: Any) -> Any:
        if self._engine is None:
            from sqlalchemy.ext.asyncio import create_async_engine

            self._engine = create_async_engine(
                self._url(), connect_args=self.connect_args or {}, **options
            )
        return self._engine

    async def execute(self, operation: str, parameters: Mapping[str, Any] | None = None) -> Any:
        import sqlalchemy as sa

        async with self.get_engine().begin() as conn:
            return await conn.execute(sa.text(operation), dict(parameters or {}))

    async def execute_many(
        self, operation: str, seq_of_parameters: Iterable[Mapping[str, Any]]
    ) -> Any:
        import sqlalchemy as sa

        rows = [dict(p) for p in seq_of_parameters]
        async with self.get_engine().begin() as conn:
            return await conn.execute(sa.text(operation), rows)

    async def _result(self, operation: str, parameters: Mapping[str, Any] | None) -> Any:
        import sqlalchemy as sa

        key = self._key(operation, parameters)
        result = self._results.get(key)
        if result is None:
            if self._connection is None:
                self._connection = await self.get_engine().connect()
            result = await self._connection.stream(sa.text(operation), dict(parameters or {}))
            self._results[key] = result
        return result

    async def fetch_one(self, operation: str, parameters: Mapping[str, Any] | None = None) -> Any:
        row = await (await self._result(operation, parameters)).fetchone()
        if row is None:
            await self._drop(operation, parameters)
        return None if row is None else tuple(row)

    async def fetch_many(
        self, operation: str, parameters: Mapping[str, Any] | None = None, size: int | None = None
    ) -> list[tuple[Any, ...]]:
        result = await self._result(operation, parameters)
        rows = await result.fetchmany(size or self.fetch_size)
        if not rows:
            await self._drop(operation, parameters)
        return [tuple(r) for r in rows]

    async def fetch_all(
        self, operation: str, parameters: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        rows = await (await self._result(operation, parameters)).fetchall()
        await self._drop(operation, parameters)
        return [tuple(r) for r in rows]

    async def _drop(self, operation: str, parameters: Mapping[str, Any] | None) -> None:
        result = self._results.pop(self._key(operation, parameters), None)
        if result is not None:
            await result.close()

    async def reset_connections(self) -> None:
        for result in self._results.values():
            await result.close()
        self._results.clear()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def close(self) -> None:
        await self.reset_connections()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
