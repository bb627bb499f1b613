"""The upserts SqlStore writes a batch with, built from SQLAlchemy Core and compiled once.

Kept apart from sql.py because it is one decision with its own reasons: which stored row a
snapshot from a process may overwrite (`snapshot_may_replace`, the SQL form of the rule of
the same name in model/orchestration.py), and how tens of thousands of
rows reach the driver without SQLAlchemy's per-row parameter processing (`Upserts.bulk`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from mainspring.model import StateType
from mainspring.model.orchestration import (
    ENDED_FROM_OUTSIDE,
    RETRY_TYPES,
    SET_FROM_OUTSIDE,
    TERMINAL_TYPES,
)
from mainspring.store.sql.dialect import SqlBackend


class Upserts:
    """One dialect's write statements; `bulk` compiles each table's upsert once per store."""

    def __init__(self, backend: SqlBackend) -> None:
        self._backend = backend
        self._compiled: dict[str, str] = {}  # table name -> compiled bulk upsert

    def upsert(
        self, table: sa.Table, key: str | None, mutable: tuple[str, ...], insert: Any = None
    ) -> Any:
        """INSERT ... ON CONFLICT (key) DO UPDATE of `mutable` (DO NOTHING when none).

        Runs are updated only when `snapshot_may_replace` allows it (see there), and a flow
        run snapshot without a heartbeat keeps the one stored (heartbeats are written by
        `heartbeat()`, not by the process's snapshots). `insert` is the INSERT to extend (the
        dialect's plain one by default).
        """
        ins = self._backend.insert(table) if insert is None else insert
        if not mutable:
            return ins.on_conflict_do_nothing()
        set_: dict[str, Any] = {c: ins.excluded[c] for c in mutable}
        if "heartbeat" in set_:
            set_["heartbeat"] = sa.func.coalesce(ins.excluded.heartbeat, table.c.heartbeat)
        where = snapshot_may_replace(table, ins.excluded) if "state_type" in set_ else None
        return ins.on_conflict_do_update(index_elements=[key], set_=set_, where=where)

    def bulk(
        self,
        table: sa.Table,
        columns: tuple[str, ...],
        key: str | None = None,
        mutable: tuple[str, ...] = (),
    ) -> str:
        """The upsert of a batch's rows into `columns`, compiled once to SQL for `write`.

        Batches carry tens of thousands of rows and are written from a thread of the user's
        process. Executing a Core statement costs ~15 us per row in SQLAlchemy's parameter
        processing alone; compiling once and handing driver-ready values to the driver
        (through `exec_driver_sql`) removes that. The SQL still comes from the Core construct
        and every value is a bound parameter. How rows become parameters is the dialect's
        (`SqlBackend.bulk_insert`): one execution per row on SQLite, arrays on PostgreSQL.
        """
        sql = self._compiled.get(table.name)
        if sql is None:
            insert = self._backend.bulk_insert(table, columns)
            statement = self.upsert(table, key, mutable, insert)
            sql = self._compiled[table.name] = self._backend.compile_bulk(statement, columns)
        return sql

    def write(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
        key: str | None = None,
        mutable: tuple[str, ...] = (),
    ) -> None:
        """Upsert `rows` (tuples in `columns` order, see `schema.*_values`) in list order."""
        sql = self.bulk(table, columns, key, mutable)
        self._backend.write_rows(conn, sql, table, columns, rows)

    def append(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """Append `rows` to states or logs: their ids, assigned by the database, follow the list."""
        self._backend.append_rows(conn, table, columns, rows, lambda: self.bulk(table, columns))


def _literals(types: Iterable[StateType]) -> list[sa.ColumnElement[Any]]:
    # inlined, not bound: the bulk upserts are compiled once with one placeholder per column
    return [sa.literal_column(f"'{t.value}'") for t in sorted(types)]


def snapshot_may_replace(table: sa.Table, new: Any) -> sa.ColumnElement[bool]:
    """When a run snapshot from a process may overwrite the stored row (the upsert's WHERE):
    `model.orchestration.snapshot_may_replace` (see there for why), in SQL built from the same
    sets, so the rule applies to every row of a bulk upsert inside the database."""
    old = table.c.state_type
    completed: sa.ColumnElement[Any] = sa.literal_column(f"'{StateType.COMPLETED.value}'")
    return sa.and_(
        sa.or_(old != completed, new.state_type.not_in(_literals(RETRY_TYPES))),
        sa.or_(
            old.not_in(_literals(SET_FROM_OUTSIDE)),
            new.state_type.in_(_literals(TERMINAL_TYPES)),
            sa.and_(
                old.in_(_literals(ENDED_FROM_OUTSIDE)),
                new.state_type.in_(_literals(RETRY_TYPES)),
                new.state_timestamp > table.c.state_timestamp,  # `newer`
            ),
        ),
    )
