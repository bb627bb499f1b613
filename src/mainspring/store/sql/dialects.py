"""Which dialect backend serves a database URL.

Apart from `dialect.py` so the base class does not import its subclasses (`sqlite.py` and
`postgres.py` import the base): the store's modules form no import cycle.
"""

from __future__ import annotations

import sqlalchemy as sa

from mainspring.settings import redact_url
from mainspring.store.sql.dialect import SqlBackend

__all__ = ["backend_for"]


def backend_for(url: str) -> SqlBackend:
    """The backend for a database URL; an unsupported or malformed URL raises ValueError."""
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is no number
        raise ValueError(f"Invalid database URL {redact_url(url)!r}: {exc}") from exc
    name = parsed.get_backend_name()
    # imported here, not above: a process loads only its own database's dialect module
    if name == "sqlite":
        from mainspring.store.sql.sqlite import SqliteBackend

        return SqliteBackend(parsed)
    if name in ("postgresql", "postgres"):
        from mainspring.store.sql.postgres import PostgresBackend

        return PostgresBackend(parsed)
    raise ValueError(
        f"Unsupported database URL {redact_url(url)!r}: Mainspring stores runs in SQLite "
        "(sqlite:///path/to/file.db) or PostgreSQL (postgresql://user:password@host/db)."
    )
