"""Schema migrations (alembic), applied automatically the first time a store is used.

The check on every start-up is one cheap query of `alembic_version` against `SCHEMA_HEAD`
(`at_head`);
alembic itself (about 400 ms to import) is loaded only when the database is behind. Processes
that start together on a fresh database serialize on a lock (the backend's `lock_schema`) and
re-read the version once they hold it, so exactly one of them migrates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from mainspring.store.sql.schema import SCHEMA_HEAD

if TYPE_CHECKING:
    from alembic.config import Config

    from mainspring.store.sql.dialect import SqlBackend

#: The scripts as alembic finds them: through this package, wherever it is installed (a file
#: path in an option would go through ConfigParser's "%" interpolation).
SCRIPT_LOCATION = "{}:{}".format(*__name__.rsplit(".", 1))
_version = sa.table("alembic_version", sa.column("version_num", sa.String))


def current_revision(conn: sa.Connection) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.select(_version.c.version_num)).scalar()


def alembic_config(conn: sa.Connection | None = None) -> Config:
    """An alembic Config for the packaged scripts (no alembic.ini needed), bound to `conn`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = conn
    return config


def at_head(conn: sa.Connection) -> bool:
    """Whether the database is at `SCHEMA_HEAD`, in one constant SELECT sent as it is: the
    check every store open makes (each forked run's child too), so neither `sa.inspect`'s
    table lookup nor a statement compiled for it (together ~2 ms of CPU in a fresh process,
    against ~0.1 ms). A database without the table (never migrated) is not at head;
    `ensure_schema` then looks properly, under its lock."""
    try:
        found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except sa.exc.DBAPIError:  # no such table (PostgreSQL: the failed transaction is rolled
        return False  # back when the connection closes)
    return bool(found == SCHEMA_HEAD)


def ensure_schema(engine: sa.Engine, backend: SqlBackend) -> None:
    """Bring the database to `SCHEMA_HEAD`, migrating under a cross-process lock if behind."""
    with engine.connect() as conn:
        if at_head(conn):
            return
    with backend.write_transaction(engine) as conn:
        backend.lock_schema(conn)
        revision = current_revision(conn)  # another process may have migrated while we waited
        if revision == SCHEMA_HEAD:
            return
        from alembic import command
        from alembic.util import CommandError

        try:
            command.upgrade(alembic_config(conn), "head")
        except CommandError as exc:
            raise RuntimeError(
                f"The database is at schema revision {revision!r}, which this version of "
                f"Mainspring does not know (it expects {SCHEMA_HEAD!r}); was it created by a "
                f"newer Mainspring? Upgrade Mainspring or use another database. ({exc})"
            ) from exc
