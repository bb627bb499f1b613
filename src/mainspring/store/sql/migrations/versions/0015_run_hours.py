"""Flow runs counted by hour, flow and state type (`flow_run_hour`), task runs by hour and
state type (`task_run_hour`), for the web UI's long windows: a 30-day dashboard reads ~720
hours of counts instead of every run of the month.

Kept by triggers, not by the store's code: flow runs are written by a dozen paths (batches,
claims, set_state, retries, crash detection, deletes), and a trigger sees all of them, in the
transaction that changes the run, so the counts are exact by construction.
- SQLite (one writer at a time): row triggers, each an upsert of one or two counts.
- PostgreSQL: statement triggers over the transition tables, one upsert per statement with its
  keys in order, so concurrent writers lock the counts they share in the same order (no
  deadlock) and a bulk write of 5,000 runs costs one statement, not 5,000.
The hour is floor(sort_time / 3600) (task runs: of `created`). Backfilled from the runs
already there.

Task runs are written by the thousand per flow, and a row trigger on each costs ~2.3 us per
written row on SQLite (+20% of the store's task-run write CPU). So on SQLite `task_run_hour`
holds only the hours before `task_run_seal.sealed_until` (an hour boundary, an hour or two
ago, moved forward by the reader: store/sql/hour_counts.py), and its triggers act only on
rows created before it, which a task run being run is not; they hold the seal as a constant
(store/sql/task_hour_triggers.py). The hours since are counted from the runs (a few hours).
On PostgreSQL the statement triggers cost one statement per bulk write, so they count every
task run and the seal is NULL (nothing left to count from the runs).

On PostgreSQL it also indexes the runs list's tag filter and name search (GIN, trigram).

Note for later migrations: SQLite's batch_alter_table on `flow_run` recreates the table and
drops its triggers; such a migration must create them again (`create_triggers`).

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

from mainspring.store.sql.task_hour_triggers import sqlite_task_triggers

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: (runs table, its counts, the time counted by, the columns counted by besides the hour)
COUNTED = [
    ("flow_run", "flow_run_hour", "sort_time", ("state_type", "flow_name")),
    ("task_run", "task_run_hour", "created", ("state_type",)),
]


def _sqlite_triggers(runs: str, counts: str, time: str, keys: tuple[str, ...]) -> list[str]:
    def hour(row: str) -> str:
        return f"CAST({row}.{time} / 3600 AS INTEGER)"

    columns = ", ".join(("hour", *keys))
    add = (
        f"INSERT INTO {counts} ({columns}, runs) "
        f"VALUES ({', '.join((hour('new'), *(f'new.{k}' for k in keys)))}, 1) "
        f"ON CONFLICT ({columns}) DO UPDATE SET runs = runs + 1;"
    )
    matches = " AND ".join((f"hour = {hour('old')}", *(f"{k} = old.{k}" for k in keys)))
    remove = f"UPDATE {counts} SET runs = runs - 1 WHERE {matches};"
    moved = " OR ".join(
        (f"{hour('old')} <> {hour('new')}", *(f"old.{k} IS NOT new.{k}" for k in keys))
    )
    return [
        f"CREATE TRIGGER {counts}_insert AFTER INSERT ON {runs} BEGIN {add} END",
        f"CREATE TRIGGER {counts}_update AFTER UPDATE OF {', '.join((time, *keys))} ON {runs} "
        f"WHEN {moved} BEGIN {remove} {add} END",
        f"CREATE TRIGGER {counts}_delete AFTER DELETE ON {runs} BEGIN {remove} END",
    ]


def _postgres_triggers(runs: str, counts: str, time: str, keys: tuple[str, ...]) -> list[str]:
    columns = ", ".join(("hour", *keys))
    hour = f"floor(r.{time} / 3600)::bigint"
    picked = ", ".join((f"{hour} AS hour", *(f"r.{k}" for k in keys)))
    rows = "SELECT {picked}, {n} AS n FROM {table} AS r"
    moved = (
        "SELECT {picked}, {n} AS n FROM {table} AS r JOIN {other} AS o ON o.id = r.id "
        f"WHERE ({', '.join((f'floor(r.{time} / 3600)', *(f'r.{k}' for k in keys)))}) "
        f"IS DISTINCT FROM ({', '.join((f'floor(o.{time} / 3600)', *(f'o.{k}' for k in keys)))})"
    )
    changes = {
        "insert": ("NEW TABLE AS new_rows", rows.format(picked=picked, n=1, table="new_rows")),
        "delete": ("OLD TABLE AS old_rows", rows.format(picked=picked, n=-1, table="old_rows")),
        "update": (
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            moved.format(picked=picked, n=1, table="new_rows", other="old_rows")
            + " UNION ALL "
            + moved.format(picked=picked, n=-1, table="old_rows", other="new_rows"),
        ),
    }
    statements = []
    for event, (tables, change) in changes.items():
        statements.append(
            f"CREATE FUNCTION {counts}_{event}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO {counts} ({columns}, runs) "
            f"SELECT {columns}, sum(n) FROM ({change}) AS change GROUP BY {columns} "
            f"HAVING sum(n) <> 0 ORDER BY {columns} "
            f"ON CONFLICT ({columns}) DO UPDATE SET runs = {counts}.runs + excluded.runs; "
            "RETURN NULL; END $$"
        )
        statements.append(
            f"CREATE TRIGGER {counts}_{event} AFTER {event.upper()} ON {runs} "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {counts}_{event}()"
        )
    return statements


def create_triggers(seal: float | None) -> None:
    """The triggers that keep both tables of counts (for a later migration that has to
    recreate them: see the module's docstring; `seal`: task_run_seal's)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for counted in COUNTED:
        if postgres:
            statements = _postgres_triggers(*counted)
        elif counted[0] == "task_run":
            assert seal is not None
            statements = sqlite_task_triggers(seal)
        else:
            statements = _sqlite_triggers(*counted)
        for statement in statements:
            op.execute(statement)


def _counts_table(name: str, keys: list[sa.Column[str]]) -> None:
    op.create_table(
        name,
        sa.Column("hour", sa.BigInteger(), nullable=False),
        *keys,
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", *(k.name for k in keys), name=f"pk_{name}"),
        sqlite_with_rowid=False,
    )


def _postgres_search_indexes() -> None:
    """PostgreSQL: the runs list's tag filter (`tags @> ...`) and name search (`ILIKE
    '%...%'`) by index instead of reading every run: GIN over the tags, and a trigram GIN
    over the name where the pg_trgm extension may be created (trusted since PostgreSQL 13; a
    database whose owner may not create it searches by a scan, as before)."""
    op.create_index(
        "ix_flow_run_tags_gin",
        "flow_run",
        ["tags"],
        postgresql_using="gin",
        postgresql_ops={"tags": "jsonb_path_ops"},
    )
    try:
        with op.get_bind().begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        return
    op.execute("CREATE INDEX ix_flow_run_name_trgm ON flow_run USING gin (name gin_trgm_ops)")


def upgrade() -> None:
    def state_type() -> sa.Column[str]:
        return sa.Column("state_type", sa.String(16), nullable=False)

    flow_name = sa.Column("flow_name", sa.String(255), nullable=False)
    _counts_table("flow_run_hour", [state_type(), flow_name])
    _counts_table("task_run_hour", [state_type()])
    op.create_table("task_run_seal", sa.Column("sealed_until", sa.Double(), nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    # SQLite: the hours before the last whole one are counted now, the rest by the reader
    seal = None if postgres else (time.time() // 3600 - 1) * 3600
    op.execute(
        sa.text("INSERT INTO task_run_seal (sealed_until) VALUES (:seal)").bindparams(seal=seal)
    )
    # Triggers first, then the backfill, in one transaction: on PostgreSQL CREATE TRIGGER
    # holds a lock that keeps writers of the runs out until this commits, so no run is
    # counted twice or missed.
    create_triggers(seal)
    if postgres:
        _postgres_search_indexes()
    for runs, counts, column, keys in COUNTED:
        hour = f"CAST({'floor' if postgres else ''}({column} / 3600) AS BIGINT)"
        columns = ", ".join(keys)
        sealed = f" WHERE {column} < {seal!r}" if runs == "task_run" and seal is not None else ""
        op.execute(
            f"INSERT INTO {counts} (hour, {columns}, runs) SELECT {hour}, {columns}, count(*) "
            f"FROM {runs}{sealed} GROUP BY {hour}, {columns}"
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP INDEX IF EXISTS ix_flow_run_name_trgm")
        op.drop_index("ix_flow_run_tags_gin", table_name="flow_run")
    for runs, counts, *_ in COUNTED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {counts}_{event}" + (f" ON {runs}" if postgres else ""))
            if postgres:
                op.execute(f"DROP FUNCTION {counts}_{event}()")
        op.drop_table(counts)
    op.drop_table("task_run_seal")
