"""Why a write failed, as the recorder must act on it: try again later, set aside, or stop.

Retrying is right only when the failure lies outside the records: a database locked by another
writer, a server restarting, a connection refused. A record the database refuses (a constraint,
a value it cannot hold) is refused again on every retry, and retrying it held back everything
recorded after it; so is a full disk, which does not clear by itself within seconds. The kinds
come from the database's own error codes (SQLite's result codes, PostgreSQL's SQLSTATE), so
the decision does not depend on the wording of messages. An error without a code is transient,
as before.
"""

from __future__ import annotations

import errno
import sqlite3
from enum import Enum

from mainspring.exceptions import StoreFull

#: SQLite's primary result codes that say the records are at fault (a constraint, a value too
#: big or of the wrong type, a statement the schema does not fit) or the file is unusable.
_SQLITE_PERMANENT = {
    1,  # SQLITE_ERROR: SQL error or missing table/column (the schema does not fit)
    11,  # SQLITE_CORRUPT
    18,  # SQLITE_TOOBIG
    19,  # SQLITE_CONSTRAINT
    20,  # SQLITE_MISMATCH
    25,  # SQLITE_RANGE
    26,  # SQLITE_NOTADB
}
_SQLITE_FULL = 13
#: SQLSTATE classes whose errors are about the data or the statement: data exception,
#: integrity constraint, syntax or access rule, program limit (e.g. an index row too big).
_PG_PERMANENT_CLASSES = {"22", "23", "42", "54"}
_PG_DISK_FULL = "53100"
#: DB-API exception classes (PEP 249) that blame the data or the statement, not the moment.
_DBAPI_PERMANENT = {"DataError", "IntegrityError", "ProgrammingError", "NotSupportedError"}


class Failure(Enum):
    TRANSIENT = "transient"  # retry the same batch later
    REFUSED = "refused"  # the records are at fault: isolate them and set them aside
    DISK_FULL = "disk full"  # nothing can be written now: set aside, do not wait


def classify(exc: BaseException) -> Failure:
    """What a failed write means; `exc` as raised (SQLAlchemy's wrapper, or the driver's)."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, OSError) and orig.errno in (errno.ENOSPC, errno.EDQUOT):
        return Failure.DISK_FULL
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is None:  # the driver's own: binding a value of a type SQLite lacks
            binding = isinstance(orig, sqlite3.ProgrammingError | sqlite3.InterfaceError)
            return Failure.REFUSED if binding else Failure.TRANSIENT
        primary = code & 0xFF
        if primary == _SQLITE_FULL:
            return Failure.DISK_FULL
        return Failure.REFUSED if primary in _SQLITE_PERMANENT else Failure.TRANSIENT
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        if sqlstate == _PG_DISK_FULL:
            return Failure.DISK_FULL
        return Failure.REFUSED if sqlstate[:2] in _PG_PERMANENT_CLASSES else Failure.TRANSIENT
    if any(cls.__name__ in _DBAPI_PERMANENT for cls in type(orig).__mro__):
        # a driver's own refusal of a value, before the server saw it (psycopg: "text fields
        # cannot contain NUL"): DB-API's classes, whatever the driver's module
        return Failure.REFUSED
    if isinstance(orig, ValueError | TypeError | OverflowError):
        # raised while a value was bound (a surrogate, an int beyond 64 bits): the same batch
        # fails the same way every time (UnicodeEncodeError is a ValueError)
        return Failure.REFUSED
    return Failure.TRANSIENT


def reason(exc: BaseException) -> str:
    """One line saying why, without the statement or its parameters (SQLAlchemy's message
    carries both: for a batch, every value written)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    line = f"{type(orig).__name__}: {text}" if text else type(orig).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def disk_full(where: str, exc: BaseException) -> StoreFull:
    """The error that says so, for the store at `where` (a URL without its password)."""
    return StoreFull(f"the disk holding {where} is full ({reason(exc)})")
