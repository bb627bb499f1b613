"""Alembic environment: runs on the connection the store hands over (already in a transaction).

Without one (a developer running `alembic.command.revision(..., autogenerate=True)` with a
`sqlalchemy.url` option), it opens its own engine.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from mainspring.store.sql.schema import POSTGRES_ONLY_INDEXES, SQLITE_ONLY_TABLES, metadata


def _kept(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    """What autogenerate compares: not the tables and indexes only one dialect has, made by
    hand in their migrations (0015, 0017)."""
    return not (
        (kind == "index" and name in POSTGRES_ONLY_INDEXES)
        or (kind == "table" and name in SQLITE_ONLY_TABLES)
    )


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=_kept,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("Pass a connection in config.attributes or set sqlalchemy.url")
    engine = sa.create_engine(url, hide_parameters=True)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


run_migrations()
