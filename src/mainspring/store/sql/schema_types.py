"""The one MetaData of the SQL schema, and the column types every table shares.

Kept apart from schema.py so that the tables of each feature (schema_*.py) can sit in a module
of their own on the same metadata, which schema.py gathers.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class _Json(sa.types.TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL (indexable, `@>`).

    A decorator choosing its type per dialect, rather than `sa.JSON().with_variant(JSONB())`,
    so that PostgreSQL's dialect module (~25 ms) is imported only by a store that uses it: the
    CLI's SQLite commands pay for every import (issue 12's 0.5 s `deployment run`).
    """

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


def is_json(type_: sa.types.TypeEngine[Any]) -> bool:
    """Whether a column of this type holds JSON (the plain type or the decorated one)."""
    return isinstance(getattr(type_, "impl_instance", type_), sa.JSON)


Json = _Json()
Id = sa.String(36)
#: appended rows: an integer key SQLite can alias to its rowid (it needs INTEGER, not BIGINT)
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time: sa.Double[float] = sa.Double()
