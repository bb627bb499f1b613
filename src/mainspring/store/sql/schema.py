"""The SQL schema of the run history, shared by SQLite and PostgreSQL (SQLAlchemy Core).

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

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from mainspring.model import (
    FlowRecord,
    FlowRun,
    LogRecord,
    State,
    StateRecord,
    StateType,
    TaskRun,
)
from mainspring.store.results.storage import ResultRef, stored_result

#: The alembic revision the code expects; checked cheaply at start-up (see migrations/).
SCHEMA_HEAD = "0007"

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
    sa.Index(None, "flow_name", "sort_time"),
    sa.Index(None, "sort_time", "id"),
    sa.Index(None, "state_type"),
    sa.Index(None, "state_name"),
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


#: Deployments (model/deployments.py), keyed by id and unique by (flow name, name).
deployment = sa.Table(
    "deployment",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("flow_name", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("entrypoint", sa.Text),
    sa.Column("parameters", Json, nullable=False),
    sa.Column("parameter_openapi_schema", Json, nullable=False),
    sa.Column("tags", Json, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("version", sa.String(255)),
    sa.Column("schedules", Json, nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("catch_up", sa.String(16), nullable=False),
    sa.Column("max_lateness", Time),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("collision_strategy", sa.String(16), nullable=False),
    sa.Column("work_pool_name", sa.String(255)),
    sa.Column("work_queue_name", sa.String(255)),
    sa.Column("retries", sa.Integer, nullable=False),
    sa.Column("scheduled_until", Time),
    sa.Column("created", Time, nullable=False),
    sa.Column("updated", Time, nullable=False),
    sa.UniqueConstraint("flow_name", "name"),
)

work_pool = sa.Table(
    "work_pool",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("created", Time, nullable=False),
)

work_queue = sa.Table(
    "work_queue",
    metadata,
    sa.Column("pool_name", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("created", Time, nullable=False),
)

worker = sa.Table(
    "worker",
    metadata,
    sa.Column("pool_name", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("last_heartbeat", Time, nullable=False),
)


# -- records <-> rows ------------------------------------------------------------------------
# Writes bypass SQLAlchemy's per-row parameter processing (see store/sql/upserts.py): builders
# return driver-ready tuples in the order of the *_COLUMNS names. `ts` turns epoch seconds into the
# driver's timestamp value and `js` an object into JSON text; both come from the backend.
Ts = Callable[[float], Any]
Js = Callable[[Any], str]
_TYPE = {t: t.value for t in StateType}  # faster than the enum's `.value` descriptor

FLOW_RUN_COLUMNS = (
    "id", "name", "flow_id", "flow_name", "flow_version", "parameters", "tags",
    "parent_flow_run_id", "parent_task_run_id", "subflow_key", "deployment_id",
    "state_type", "state_name", "state_message", "state_timestamp", "state_result",
    "created", "start_time", "end_time", "sort_time", "run_count", "heartbeat",
    "host", "pid", "process_start", "entrypoint",
)  # fmt: skip
#: Columns an upsert overwrites with the snapshot; the rest are fixed when the row is created.
#: The process columns change when a retry runs the flow run again in another process.
FLOW_RUN_MUTABLE = (
    "name", "parameters", "tags", "state_type", "state_name", "state_message", "state_timestamp",
    "state_result", "start_time", "end_time", "sort_time", "run_count", "heartbeat",
    "host", "pid", "process_start", "entrypoint",
)  # fmt: skip
TASK_RUN_COLUMNS = (
    "id", "name", "task_name", "task_key", "dynamic_key", "flow_run_id", "tags", "cache_key",
    "state_type", "state_name", "state_message", "state_timestamp", "state_result",
    "created", "seq", "start_time", "end_time", "run_count",
)  # fmt: skip
TASK_RUN_MUTABLE = (
    "name", "tags", "cache_key", "state_type", "state_name", "state_message", "state_timestamp",
    "state_result", "start_time", "end_time", "run_count",
)  # fmt: skip
STATE_COLUMNS = ("run_id", "is_task", "type", "name", "message", "timestamp", "result")
LOG_COLUMNS = ("flow_run_id", "task_run_id", "level", "logger", "message", "timestamp")
EDGE_COLUMNS = ("flow_run_id", "task_run_id", "upstream_id", "kind")


def _result(data: Any, js: Js) -> str | None:
    """A state's `data` as the result column holds it: the address of a persisted result."""
    return js(data.to_json()) if type(data) is ResultRef else None


def flow_run_values(r: FlowRun, flow_id: str, ts: Ts, js: Js) -> tuple[Any, ...]:
    s = r.state
    created = r.created if r.created is not None else s.ts
    start = r.start_time
    return (
        r.id, r.name, flow_id, r.flow_name, r.flow_version, js(r.parameters), js(r.tags),
        r.parent_flow_run_id, r.parent_task_run_id, r.subflow_key, r.deployment_id,
        _TYPE[s.type], s.name, s.message, ts(s.ts), _result(s.data, js),
        ts(created), None if start is None else ts(start),
        None if r.end_time is None else ts(r.end_time),
        ts(created if start is None else start),  # sort_time
        r.run_count, None if r.heartbeat is None else ts(r.heartbeat),
        r.host, r.pid, None if r.process_start is None else ts(r.process_start), r.entrypoint,
    )  # fmt: skip


def task_run_values(t: TaskRun, seq: int, ts: Ts, js: Js) -> tuple[Any, ...]:
    s = t.state
    return (
        t.id, t.name, t.task_name, t.task_key, t.dynamic_key, t.flow_run_id, js(t.tags),
        t.cache_key, _TYPE[s.type], s.name, s.message, ts(s.ts), _result(s.data, js),
        ts(s.ts if t.created is None else t.created), seq,
        None if t.start_time is None else ts(t.start_time),
        None if t.end_time is None else ts(t.end_time),
        t.run_count,
    )  # fmt: skip


def state_values(s: StateRecord, js: Js) -> tuple[Any, ...]:
    return (s.run_id, s.is_task, _TYPE[s.type], s.name, s.message, s.ts, _result(s.result, js))


def log_values(r: LogRecord) -> tuple[Any, ...]:
    return (r.flow_run_id, r.task_run_id, r.level, r.logger, r.message, r.ts)


def flow_row(f: FlowRecord) -> dict[str, Any]:
    created = f.created if f.created is not None else time.time()
    return {
        "id": f.id,
        "name": f.name,
        "description": f.description,
        "created": created,
    }


def _ts(value: float | None) -> float | None:
    return None if value is None else float(value)


def flow_from_row(r: sa.Row[Any]) -> FlowRecord:
    return FlowRecord(name=r.name, id=r.id, description=r.description, created=_ts(r.created))


def _state(r: sa.Row[Any]) -> State:
    type_ = StateType(r.state_type)
    data = stored_result(type_ is StateType.COMPLETED, r.state_result)
    return State(type_, r.state_name, r.state_message, data, ts=_ts(r.state_timestamp))


def flow_run_from_row(r: sa.Row[Any]) -> FlowRun:
    return FlowRun(
        id=r.id,
        name=r.name,
        flow_name=r.flow_name,
        state=_state(r),
        parameters=r.parameters,
        tags=r.tags,
        flow_version=r.flow_version,
        parent_flow_run_id=r.parent_flow_run_id,
        parent_task_run_id=r.parent_task_run_id,
        subflow_key=r.subflow_key,
        deployment_id=r.deployment_id,
        created=_ts(r.created),
        start_time=_ts(r.start_time),
        end_time=_ts(r.end_time),
        run_count=r.run_count,
        heartbeat=_ts(r.heartbeat),
        host=r.host,
        pid=r.pid,
        process_start=_ts(r.process_start),
        entrypoint=r.entrypoint,
    )


def task_run_from_row(r: sa.Row[Any]) -> TaskRun:
    return TaskRun(
        id=r.id,
        name=r.name,
        task_name=r.task_name,
        task_key=r.task_key,
        state=_state(r),
        flow_run_id=r.flow_run_id,
        dynamic_key=r.dynamic_key,
        tags=r.tags,
        cache_key=r.cache_key,
        created=_ts(r.created),
        start_time=_ts(r.start_time),
        end_time=_ts(r.end_time),
        run_count=r.run_count,
    )


def state_from_row(r: sa.Row[Any]) -> StateRecord:
    ts: float = _ts(r.timestamp)  # type: ignore[assignment]  # NOT NULL column
    type_ = StateType(r.type)
    result = stored_result(type_ is StateType.COMPLETED, r.result)
    return StateRecord(r.run_id, r.is_task, type_, r.name, r.message, ts, r.id, result)


def log_from_row(r: sa.Row[Any]) -> LogRecord:
    ts: float = _ts(r.timestamp)  # type: ignore[assignment]  # NOT NULL column
    return LogRecord(r.flow_run_id, r.task_run_id, r.level, r.logger, r.message, ts, id=r.id)
