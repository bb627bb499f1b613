"""`SqlAlchemyConnector` (and its async form) on real SQLite and PostgreSQL, saved and loaded
by name as the seed snippet does (`SqlAlchemyConnector.load("mi-db")`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from mainspring import flow, task
from mainspring.integrations.sqlalchemy import (
    AsyncSqlAlchemyConnector,
    ConnectionComponents,
    SqlAlchemyConnector,
    SyncDriver,
)
from mainspring.settings import get_settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'customers.db'}"
    return request.getfixturevalue("postgres_database")


def test_execute_and_fetch_in_pages_from_a_saved_connector(database_url: str):
    SqlAlchemyConnector(connection_info=database_url, fetch_size=2).save("mi-db")

    @task
    def setup() -> None:
        with SqlAlchemyConnector.load("mi-db") as database:
            database.execute("DROP TABLE IF EXISTS customers")
            database.execute("CREATE TABLE customers (name VARCHAR(50), address VARCHAR(50))")
            database.execute_many(
                "INSERT INTO customers (name, address) VALUES (:name, :address)",
                [{"name": f"n{i}", "address": f"street {i}"} for i in range(5)],
            )
            database.execute(
                "INSERT INTO customers (name, address) VALUES (:name, :address)",
                {"name": "Robert'); DROP TABLE customers;--", "address": "x"},
            )

    @task
    def read() -> list[list[tuple]]:
        pages = []
        with SqlAlchemyConnector.load("mi-db") as database:
            query = "SELECT name FROM customers ORDER BY name"
            while page := database.fetch_many(query):
                pages.append(page)
            first = database.fetch_one("SELECT COUNT(*) FROM customers")
            rest = database.fetch_all("SELECT address FROM customers WHERE name = :n", {"n": "n3"})
        return [*pages, [first], rest]

    @flow(name="customers")
    def customers() -> list[list[tuple]]:
        setup()
        return read()

    *pages, (count,), rest = customers()
    assert [len(p) for p in pages] == [2, 2, 2]  # fetch_size=2, continuing where it stopped
    assert [name for page in pages for (name,) in page][:1] == ["Robert'); DROP TABLE customers;--"]
    assert count == (6,)
    assert rest == [("street 3",)]


def test_a_password_given_by_components_is_secret(postgres_database: str):
    url = sa.make_url(postgres_database)
    components = ConnectionComponents(
        driver=SyncDriver.POSTGRESQL_PSYCOPG,
        username=url.username,
        password="s3cret-Pw-123",  # the throwaway cluster trusts local users: any password
        host=url.host,
        port=url.port,
        database=url.database,
        query=dict(url.query) or None,
    )
    SqlAlchemyConnector(connection_info=components).save("pg")
    loaded = SqlAlchemyConnector.load("pg")
    assert "s3cret-Pw-123" not in repr(loaded)
    assert loaded.connection_info.password.get_secret_value() == "s3cret-Pw-123"
    with loaded:
        assert loaded.fetch_one("SELECT 1 + 1") == (2,)
    raw = b"".join(p.read_bytes() for p in get_settings().home.glob("mainspring.db*"))
    assert b"s3cret-Pw-123" not in raw


def test_the_async_connector(tmp_path: Path):
    pytest.importorskip("aiosqlite")
    url = f"sqlite+aiosqlite:///{tmp_path / 'async.db'}"
    AsyncSqlAlchemyConnector(connection_info=url, fetch_size=3).save("mi-db-async")

    async def main() -> tuple[list[tuple], list[tuple]]:
        async with AsyncSqlAlchemyConnector.load("mi-db-async") as database:
            await database.execute("CREATE TABLE t (n INTEGER)")
            await database.execute_many("INSERT INTO t VALUES (:n)", [{"n": i} for i in range(5)])
            first = await database.fetch_many("SELECT n FROM t ORDER BY n")
            second = await database.fetch_many("SELECT n FROM t ORDER BY n")
            return first, second

    first, second = asyncio.run(main())
    assert first == [(0,), (1,), (2,)] and second == [(3,), (4,)]


def test_a_url_that_is_not_one_is_a_clear_error():
    with pytest.raises(ValueError, match="not a SQLAlchemy URL"):
        SqlAlchemyConnector(connection_info="definitely not a url").execute("SELECT 1")
