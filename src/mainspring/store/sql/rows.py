"""Records <-> rows: the run history's model records as the driver-ready tuples the bulk writes
send, and rows read back as records. Apart from the tables (schema.py): those say what is
stored, these how one record becomes one row and back, on the write path of every batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

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
