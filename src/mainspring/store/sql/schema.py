"""The SQL schema of the run history, shared by SQLite and PostgreSQL (SQLAlchemy Core).

The run history's tables are here; the tables of each feature (deployments, blocks, events,
artifacts, concurrency) are in schema_<feature>.py on the same metadata (schema_types.py), and
this module imports them all, so its names are the whole schema.

Design notes (the "why"):
- Ids are UUID text (`String(36)`): the engine mints them in-process (`new_id()`), so rows can be
  written in bulk without a round trip to learn a generated key. They are time-ordered
  (version 7), so each batch's keys go to the end of the indexes rather than all over them.
- Times are epoch seconds (UTC) in double-precision columns, as the engine holds them. Writing
  a datetime costs a conversion per column per row (~2 us on SQLite, where SQLAlchemy formats
  text), and a 10,000-task flow writes ~70,000 rows from the user's process; epoch numbers sort,
  index and compare the same on both dialects. Readers convert at the edge (API, CLI).
- `flow_run.sort_time` is `COALESCE(start_time, created)`, maintained by the store on every write.
  Sorting "by start time" puts runs that have not started among the others by creation time; a
  plain column keeps that indexable on both dialects (an expression index would be too, but
  alembic cannot compare expression indexes reliably, and the column keeps queries simple).
- Appended rows (states, logs) have an autoincrement integer id, which is also the order one
  process recorded them in: several states of one task (Pending, Running, Completed) often
  share a timestamp, so a timeline is ordered by `(timestamp, id)`. An integer key is also far
  cheaper to insert than a random text one. `task_run.seq` plays that part for task runs.
- No foreign keys between history tables: logs, states and edges arrive in bulk from the
  recorder, and an orphan row is better than a rejected batch. `flow_run.flow_id` does reference
  `flow.id` because the store always writes the flow first.
- `tags` is JSON (JSONB on PostgreSQL, where `@>` answers "has all these tags").
- A state whose result was persisted keeps its address (`state_result` on the run rows, `result`
  in state_history: storage URL, key, serializer as a small JSON object), so a state read back
  loads its result lazily; NULL for the (default) runs that keep results in memory, which then
  cost nothing more to write.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

# The tables of each feature, on the same metadata: imported here so that `metadata` holds every
# table once this module is imported (migrations/env.py compares it with the database).
from mainspring.store.sql import run_search
from mainspring.store.sql.schema_artifacts import artifact
from mainspring.store.sql.schema_blocks import block_document, block_type, variable
from mainspring.store.sql.schema_concurrency import concurrency_lease, concurrency_limit
from mainspring.store.sql.schema_deployments import deployment, work_pool, work_queue, worker
from mainspring.store.sql.schema_events import (
    automation,
    automation_action,
    automation_check,
    automation_firing,
    event,
    event_cursor,
)
from mainspring.store.sql.schema_types import Id, Json, RowId, Time, metadata

#: The alembic revision the code expects; checked cheaply at start-up (see migrations/).
SCHEMA_HEAD = "0017"
#: Indexes only PostgreSQL has (GIN over `flow_run.tags`, a trigram index over its name:
#: migration 0015), outside this module's portable metadata.
POSTGRES_ONLY_INDEXES = frozenset({"ix_flow_run_tags_gin", "ix_flow_run_name_trgm"})
#: Tables only SQLite has (its tag table and trigram table of names, kept by triggers:
#: migration 0017), outside the portable metadata too.
SQLITE_ONLY_TABLES = run_search.SQLITE_ONLY_TABLES

__all__ = [
    "SCHEMA_HEAD",
    "Id",
    "Json",
    "RowId",
    "Time",
    "api_key",
    "applied_batch",
    "artifact",
    "automation",
    "automation_action",
    "automation_check",
    "automation_firing",
    "block_document",
    "block_type",
    "concurrency_lease",
    "concurrency_limit",
    "deployment",
    "event",
    "event_cursor",
    "flow",
    "flow_run",
    "log",
    "metadata",
    "state_history",
    "task_run",
    "task_run_edge",
    "variable",
    "work_pool",
    "work_queue",
    "worker",
]


def _state_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("state_type", sa.String(16), nullable=False),
        sa.Column("state_name", sa.String(32), nullable=False),
        sa.Column("state_message", sa.Text),
        sa.Column("state_timestamp", Time, nullable=False),
        sa.Column("state_result", Json),
    ]


flow = sa.Table(
    "flow",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("created", Time, nullable=False),
)

flow_run = sa.Table(
    "flow_run",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("flow_id", Id, sa.ForeignKey("flow.id"), nullable=False),
    sa.Column("flow_name", sa.String(255), nullable=False),
    sa.Column("flow_version", sa.String(255)),
    sa.Column("parameters", Json, nullable=False),
    sa.Column("tags", Json, nullable=False),
    sa.Column("parent_flow_run_id", Id),
    sa.Column("parent_task_run_id", Id),
    sa.Column("subflow_key", sa.String(255)),
    sa.Column("deployment_id", Id),
    *_state_columns(),
    sa.Column("created", Time, nullable=False),
    sa.Column("start_time", Time),
    sa.Column("end_time", Time),
    sa.Column("sort_time", Time, nullable=False),
    sa.Column("run_count", sa.Integer, nullable=False),
    sa.Column("heartbeat", Time),
    sa.Column("expected_start_time", Time),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("process_start", Time),
    sa.Column("entrypoint", sa.Text),
    # deployment runs (store/sql/deployments.py): the pool and queue a worker claims it from,
    # and the claim; `expected_start_time` is the instant its schedule named
    sa.Column("work_pool_name", sa.String(255)),
    sa.Column("work_queue_name", sa.String(255)),
    sa.Column("claimed_by", sa.String(255)),
    sa.Column("claimed_at", Time),
    # made by a scheduler (true) or asked for by hand (false); NULL: made before 0014.
    # Pausing a deployment deletes the waiting runs its schedules made, not those asked for.
    sa.Column("auto_scheduled", sa.Boolean),
    sa.Index(None, "flow_name", "sort_time"),
    sa.Index(None, "sort_time", "id"),
    sa.Index(None, "sort_time", "state_type", "flow_name"),  # the UI's counts, index-only (0012)
    sa.Index(None, "state_type"),
    # the scheduler's overdue read visits only the waiting runs already due (0016)
    sa.Index(None, "state_name", "expected_start_time"),
    sa.Index(None, "start_time"),
    sa.Index(None, "created"),
    sa.Index(None, "parent_flow_run_id"),
    # A (deployment, scheduled time) becomes at most one run, whoever schedules it and however
    # often: two schedulers, a restart, a slow tick. NULLs are distinct in both dialects, so
    # runs outside deployments (and runs of a deployment asked for by hand) are unaffected.
    sa.Index(None, "deployment_id", "expected_start_time", unique=True),
    sa.Index(None, "work_pool_name", "state_type", "expected_start_time"),
)

task_run = sa.Table(
    "task_run",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("task_name", sa.String(255), nullable=False),
    sa.Column("task_key", sa.String(255), nullable=False),
    sa.Column("dynamic_key", sa.String(255)),
    sa.Column("flow_run_id", Id),
    sa.Column("tags", Json, nullable=False),
    sa.Column("cache_key", sa.String(255)),
    *_state_columns(),
    sa.Column("created", Time, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("start_time", Time),
    sa.Column("end_time", Time),
    sa.Column("run_count", sa.Integer, nullable=False),
    sa.Index(None, "flow_run_id", "created"),
    sa.Index(None, "created", "state_type"),  # the UI's counts by state, index-only (0012)
)

#: Flow runs counted by the hour of their `sort_time`, flow and state type: what the web UI's
#: long windows read instead of the runs (migration 0015). Kept exact by triggers on `flow_run`
#: in the same transaction as every insert, state change and delete, whatever path writes it;
#: a count may fall to 0 (the row stays). See store/sql/hour_counts.py.
flow_run_hour = sa.Table(
    "flow_run_hour",
    metadata,
    sa.Column("hour", sa.BigInteger, primary_key=True),  # floor(sort_time / 3600)
    sa.Column("state_type", sa.String(16), primary_key=True),
    sa.Column("flow_name", sa.String(255), primary_key=True),
    sa.Column("runs", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,  # the key is the table: a range of hours reads no second b-tree
)

#: Task runs counted by the hour of their `created` and state type, kept the same way
#: (migration 0015): the dashboard's task runs by state over a long window.
task_run_hour = sa.Table(
    "task_run_hour",
    metadata,
    sa.Column("hour", sa.BigInteger, primary_key=True),  # floor(created / 3600)
    sa.Column("state_type", sa.String(16), primary_key=True),
    sa.Column("runs", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

#: One row: on SQLite, `task_run_hour` counts the task runs created before `sealed_until` (an
#: hour boundary the reader moves forward), the later ones are counted from the runs; NULL
#: (PostgreSQL) when it counts them all. Why: the migration 0015's docstring.
task_run_seal = sa.Table(
    "task_run_seal",
    metadata,
    sa.Column("sealed_until", Time),
)

state_history = sa.Table(
    "state_history",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("run_id", Id, nullable=False),
    sa.Column("is_task", sa.Boolean, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("timestamp", Time, nullable=False),
    sa.Column("result", Json),
    sa.Index(None, "run_id", "timestamp"),
)

log = sa.Table(
    "log",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("flow_run_id", Id),
    sa.Column("task_run_id", Id),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("logger", sa.String(255), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("timestamp", Time, nullable=False),
    sa.Index(None, "flow_run_id", "timestamp"),
)

task_run_edge = sa.Table(
    "task_run_edge",
    metadata,
    sa.Column("flow_run_id", Id),
    # The primary key is the unique (task_run_id, upstream_id, kind) that deduplicates edges.
    sa.Column("task_run_id", Id, primary_key=True),
    sa.Column("upstream_id", Id, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Index(None, "flow_run_id"),
)


#: API keys of the server (`mainspring api-key create`). Only a salted hash of each key is kept;
#: the key itself is shown once, when it is created (see mainspring.server.auth).
api_key = sa.Table(
    "api_key",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("key_hash", sa.String(128), nullable=False),
    sa.Column("read_only", sa.Boolean, nullable=False),
    sa.Column("created", Time, nullable=False),
    sa.Column("last_used", Time),
    sa.Column("expires", Time),  # NULL: never
    sa.Column("revoked", Time),  # when `mainspring api-key revoke` was run; NULL: in force
)


#: Ids of the batches applied (`Batch.id`, an idempotency key): a remote writer whose answer
#: was lost retries the batch, and finding its id here the store skips it instead of appending
#: its states and logs twice. Kept `APPLIED_BATCH_RETENTION` seconds (see SqlStore._prune):
#: a writer retries within seconds of reaching the store again.
applied_batch = sa.Table(
    "applied_batch",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("applied", Time, nullable=False),
    sa.Index(None, "applied"),
)
