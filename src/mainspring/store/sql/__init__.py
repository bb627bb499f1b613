"""The SQL store: SqlStore on SQLite or PostgreSQL, its dialects, schema and migrations.

`SqlStore` is loaded on first use (PEP 562), so importing one of this package's modules does
not by itself load SQLAlchemy's engine machinery and every dialect helper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mainspring.store.sql.store import SqlStore

__all__ = ["SqlStore"]


def __getattr__(name: str) -> Any:
    if name == "SqlStore":
        from mainspring.store.sql.store import SqlStore

        return SqlStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
