"""Which write failures are retried: real errors from SQLite and PostgreSQL, classified by their
codes (store/sql/write_errors.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from mainspring.store.sql.write_errors import Failure, classify, reason
from mainspring.testing import free_port


def _raised(conn: sqlite3.Connection, sql: str, *params: object) -> BaseException:
    with pytest.raises(Exception) as caught:
        conn.execute(sql, params)
    return caught.value


def test_sqlite_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    conn.execute("CREATE TABLE t (name TEXT NOT NULL UNIQUE)")
    assert classify(_raised(conn, "INSERT INTO t VALUES (?)", None)) is Failure.REFUSED
    assert classify(_raised(conn, "INSERT INTO t VALUES (?)", "x\udcff")) is Failure.REFUSED
    assert classify(_raised(conn, "INSERT INTO t VALUES (?)", object())) is Failure.REFUSED
    assert classify(_raised(conn, "INSERT INTO nowhere VALUES (1)")) is Failure.REFUSED

    other = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    other.execute("BEGIN IMMEDIATE")
    locked = _raised(conn, "INSERT INTO t VALUES ('a')")
    assert classify(locked) is Failure.TRANSIENT and "locked" in reason(locked)
    other.execute("ROLLBACK")

    # SQLITE_FULL for real: the database may not grow past its current pages
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    full = _raised(conn, "INSERT INTO t VALUES (?)", "x" * 100_000)
    assert classify(full) is Failure.DISK_FULL
    assert reason(full) == "OperationalError: database or disk is full"
    conn.close()
    other.close()


def test_sqlalchemy_wrapped_errors_are_classified_by_the_driver_error(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'y.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (name TEXT NOT NULL)")
    with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (?)", (None,))
    assert classify(caught.value) is Failure.REFUSED
    assert "INSERT" not in reason(caught.value)  # the driver's line, not the statement
    engine.dispose()


@pytest.mark.postgres
def test_postgres_errors(postgres_database: str) -> None:
    engine = sa.create_engine(postgres_database, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (name VARCHAR(5) NOT NULL)")
    for sql, params in [
        ("INSERT INTO t VALUES (%s)", ("toolong",)),  # 22001
        ("INSERT INTO t VALUES (%s)", (None,)),  # 23502
        ("INSERT INTO t VALUES (%s)", ("a\x00",)),  # NUL: refused by the driver
        ("INSERT INTO nowhere VALUES (1)", ()),  # 42P01
    ]:
        with pytest.raises(Exception) as caught, engine.begin() as conn:
            conn.exec_driver_sql(sql, params)
        assert classify(caught.value) is Failure.REFUSED, reason(caught.value)
    engine.dispose()

    unreachable = sa.create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x", poolclass=sa.NullPool
    )
    with pytest.raises(sa.exc.OperationalError) as caught:
        unreachable.connect()
    assert classify(caught.value) is Failure.TRANSIENT
