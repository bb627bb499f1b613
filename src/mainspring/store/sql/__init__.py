"""The SQL store: SqlStore on SQLite or PostgreSQL, its dialects, schema and migrations."""

from mainspring.store.sql.store import SqlStore

__all__ = ["SqlStore"]
