"""The one MetaData of the SQL schema, and the column types every table shares.

Kept apart from schema.py so that the tables of each feature (schema_*.py) can sit in a module
of their own on the same metadata, which schema.py gathers.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.String(36)
#: appended rows: an integer key SQLite can alias to its rowid (it needs INTEGER, not BIGINT)
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time: sa.Double[float] = sa.Double()
