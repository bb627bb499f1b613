"""PostgreSQL specifics: the psycopg 3 driver, a connection pool, READ COMMITTED upserts.

READ COMMITTED (PostgreSQL's default, set explicitly so a server default cannot change it) is
enough because every write is an INSERT ... ON CONFLICT: concurrent writers of the same row
wait for each other's commit and then update or skip it, without serialization failures that
stricter levels would force us to retry.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from mainspring.store.backend import Condition, SqlBackend, json_dumps

#: Key of the advisory lock held while migrating ("MSPRSCHM" as a 64-bit integer).
SCHEMA_LOCK_KEY = int.from_bytes(b"MSPRSCHM", "big") - 2**63
_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}


class PostgresBackend(SqlBackend):
    def __init__(self, url: sa.URL) -> None:
        if url.drivername not in _DRIVERS:
            raise ValueError(
                f"Unsupported PostgreSQL driver {url.drivername!r}: Mainspring uses psycopg 3; "
                "write the URL as postgresql://... or postgresql+psycopg://..."
            )
        super().__init__(url.set(drivername="postgresql+psycopg"))

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
            json_deserializer=orjson.loads,
        )

    def insert(self, table: sa.Table) -> Any:
        return pg_insert(table)

    def bulk_dialect(self) -> sa.Dialect:
        # psycopg takes %s placeholders with tuples. JSON goes in as text: psycopg sends str
        # with an unknown type, which PostgreSQL casts to the jsonb of the target column.
        return PGDialect_psycopg(paramstyle="format")

    def has_all_tags(self, column: sa.ColumnElement[Any], tags: list[str]) -> Condition:
        return sa.type_coerce(column, JSONB).contains(tags)  # tags @> '["a", "b"]'

    def lock_schema(self, conn: sa.Connection) -> None:
        """Wait for the migration lock; released when the migration transaction ends."""
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))
