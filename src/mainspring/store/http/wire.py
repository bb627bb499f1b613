"""Records <-> JSON as the REST API carries them: the mapping the client and server share.

The `*_json` functions turn model records into the shapes of the server's answers (times as
ISO-8601 in UTC, `iso`); the `*_from_json` functions turn those answers back into the very
records `SqlStore` returns. Batches, the write path, have their own faster encoding
(store/http/wire_batch.py, times as epoch seconds). Either way the resolution is the microsecond:
a time written through the API reads back as the same float. Here too: the API's limits, shared
by the schema and the batch decoder, and `dumps`, JSON for anything (text cleaned of what no
database stores, values JSON has no type for converted), whose slow care runs only when a body
needs it.

This module sits in the store layer and imports neither SQLAlchemy nor the server, so a process
that records into a server loads neither.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson

from mainspring.model import (
    FlowRecord,
    FlowRun,
    LogRecord,
    State,
    StateRecord,
    StateType,
    TaskRun,
    TaskRunEdge,
)
from mainspring.model.text import MAX_NAME as MAX_NAME  # the API's limits are every store's
from mainspring.model.text import MAX_TEXT as MAX_TEXT
from mainspring.store import json_values
from mainspring.store.json_values import json_default
from mainspring.store.results.storage import ResultRef, stored_result

#: Most tags on a run; most records of one kind in one batch; largest count (int32).
MAX_TAGS = 1000
MAX_ITEMS = 100_000
INT32 = 2**31 - 1
#: What an id may look like (the engine mints UUIDs; anything longer cannot be stored), and a
#: batch id (idempotency key).
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,36}$"
BATCH_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
#: A persisted result's key: relative path segments, none of them `..` (nor empty), so a key
#: stays inside its storage. Written without look-arounds: pydantic's regex engine takes it too.
_SEGMENT = r"(?:[^/\\\x00.][^/\\\x00]*|\.(?:[^/\\\x00.][^/\\\x00]*)?|\.\.[^/\\\x00]+)"
RESULT_KEY = rf"^{_SEGMENT}(?:/{_SEGMENT})*$"
#: Earliest and latest time the API takes, in epoch seconds: 0001-01-01 and 9999-12-31T23:59:59
#: UTC, the range of Python's datetime, in which every stored time can be shown.
MIN_TIME = -62_135_596_800.0
MAX_TIME = 253_402_300_799.0
#: Longest result storage URL and result key.
MAX_STORAGE = 4096
MAX_KEY = 1024

_fromts = datetime.fromtimestamp
_fromiso = datetime.fromisoformat
_TYPES = {t.value: t for t in StateType}
_VALUES = {t: t.value for t in StateType}  # faster than the enum's `.value` descriptor
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def iso(ts: float | None) -> datetime | None:
    """Epoch seconds as an aware UTC datetime, which orjson writes as ISO-8601 with "Z" and
    microseconds ("2024-05-01T12:00:00.250000Z", or without a fraction when it is zero): how
    the server's answers show times."""
    return None if ts is None else _fromts(ts, UTC)


def epoch(text: str | None) -> float | None:
    """An ISO-8601 time from the API as epoch seconds."""
    return None if text is None else _fromiso(text).timestamp()


# -- records -> JSON -------------------------------------------------------------------------
def result_json(data: Any) -> dict[str, Any] | None:
    """Where a state's persisted result lives (its `data` is a ResultRef), else None."""
    return data.to_json() if type(data) is ResultRef else None


def state_json(s: State) -> dict[str, Any]:
    """A state as the API shows it (`StateOut`), its result's address included."""
    return {
        "type": _VALUES[s.type],
        "name": s.name,
        "message": s.message,
        "timestamp": _fromts(s.ts, UTC),
        "result": result_json(s.data),
    }


def flow_json(f: FlowRecord) -> dict[str, Any]:
    """A flow as `FlowOut` shows it, but its id."""
    return {
        "name": f.name,
        "description": f.description,
        "created": iso(f.created),
    }


def flow_run_json(r: FlowRun) -> dict[str, Any]:
    """A flow run as `FlowRunOut` shows it (the state's result address beside the state)."""
    s = r.state
    return {
        "id": r.id,
        "name": r.name,
        "flow_name": r.flow_name,
        "state": {"type": _VALUES[s.type], "name": s.name, "message": s.message,
                  "timestamp": iso(s.ts)},
        "parameters": json_values.encode(r.parameters),  # 10**400 and NaN as tagged values
        "tags": r.tags,
        "flow_version": r.flow_version,
        "parent_flow_run_id": r.parent_flow_run_id,
        "parent_task_run_id": r.parent_task_run_id,
        "subflow_key": r.subflow_key,
        "deployment_id": r.deployment_id,
        "created": iso(r.created),
        "start_time": iso(r.start_time),
        "end_time": iso(r.end_time),
        "run_count": r.run_count,
        "heartbeat": iso(r.heartbeat),
        "host": r.host,
        "pid": r.pid,
        "process_start": iso(r.process_start),
        "entrypoint": r.entrypoint,
        "state_result": result_json(s.data),
    }  # fmt: skip


def task_run_json(t: TaskRun) -> dict[str, Any]:
    """A task run as `TaskRunOut` shows it (the state's result address beside the state)."""
    s = t.state
    return {
        "id": t.id,
        "name": t.name,
        "task_name": t.task_name,
        "task_key": t.task_key,
        "state": {"type": _VALUES[s.type], "name": s.name, "message": s.message,
                  "timestamp": iso(s.ts)},
        "flow_run_id": t.flow_run_id,
        "dynamic_key": t.dynamic_key,
        "tags": t.tags,
        "cache_key": t.cache_key,
        "created": iso(t.created),
        "start_time": iso(t.start_time),
        "end_time": iso(t.end_time),
        "run_count": t.run_count,
        "state_result": result_json(s.data),
    }  # fmt: skip


def dumps(body: Any) -> bytes:
    """`body` as JSON the server accepts: text with a NUL character or a lone surrogate (which no
    database stores) gets U+FFFD instead, and values JSON has no type for are converted.

    The fast path is one orjson call; the cleaning pass runs only when orjson refuses the body
    (a lone surrogate, an integer beyond 64 bits) or its output holds an escaped NUL.
    """
    try:
        data = orjson.dumps(body, default=json_default, option=_OPTIONS)
    except TypeError:
        return _dumps_cleaned(body)
    if b"\\u0000" in data:  # may also be an escaped backslash before "u0000": cleaning is a no-op
        return _dumps_cleaned(body)
    return data


def _dumps_cleaned(body: Any) -> bytes:
    cleaned = clean_json(body)
    try:
        return orjson.dumps(cleaned, default=json_default, option=_OPTIONS)
    except TypeError:  # e.g. an int beyond 64 bits, which orjson refuses and json writes
        return json.dumps(cleaned, default=_stdlib_default).encode()


def _stdlib_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return json_default(value)


def clean_text(value: str) -> str:
    """Text both databases store: NUL and lone surrogates replaced by U+FFFD."""
    value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # (the codec's own "replace" would write "?")
        value = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
    return value


def clean_json(value: Any) -> Any:
    """`value` with every text in it (keys too) made storable by `clean_text`."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


# -- JSON -> records -------------------------------------------------------------------------
def state_from_json(d: dict[str, Any]) -> State:
    """A `StateOut` as the State `SqlStore` would return: its `data` a persisted result's
    address, or NOT_PERSISTED for a completed state without one."""
    type_ = _TYPES[d["type"]]
    data = stored_result(type_ is StateType.COMPLETED, d.get("result"))
    return State(type_, d["name"], d["message"], data, _fromiso(d["timestamp"]).timestamp())


def flow_from_json(d: dict[str, Any]) -> FlowRecord:
    return FlowRecord(
        name=d["name"], id=d["id"], description=d["description"], created=epoch(d["created"])
    )


def flow_run_from_json(d: dict[str, Any]) -> FlowRun:
    return FlowRun(
        id=d["id"],
        name=d["name"],
        flow_name=d["flow_name"],
        state=state_from_json(d["state"]),
        parameters=json_values.decode(d["parameters"]),
        tags=d["tags"],
        flow_version=d["flow_version"],
        parent_flow_run_id=d["parent_flow_run_id"],
        parent_task_run_id=d["parent_task_run_id"],
        subflow_key=d.get("subflow_key"),
        deployment_id=d["deployment_id"],
        created=epoch(d["created"]),
        start_time=epoch(d["start_time"]),
        end_time=epoch(d["end_time"]),
        run_count=d["run_count"],
        heartbeat=epoch(d["heartbeat"]),
        host=d.get("host"),
        pid=d.get("pid"),
        process_start=epoch(d.get("process_start")),
        entrypoint=d.get("entrypoint"),
    )


def task_run_from_json(d: dict[str, Any]) -> TaskRun:
    return TaskRun(
        id=d["id"],
        name=d["name"],
        task_name=d["task_name"],
        task_key=d["task_key"],
        state=state_from_json(d["state"]),
        flow_run_id=d["flow_run_id"],
        dynamic_key=d["dynamic_key"],
        tags=d["tags"],
        cache_key=d["cache_key"],
        created=epoch(d["created"]),
        start_time=epoch(d["start_time"]),
        end_time=epoch(d["end_time"]),
        run_count=d["run_count"],
    )


def timeline_entry_from_json(d: dict[str, Any]) -> StateRecord:
    """One row of `GET .../states` (a `TimelineEntry`)."""
    ts = _fromiso(d["timestamp"]).timestamp()
    type_ = _TYPES[d["type"]]
    result = stored_result(type_ is StateType.COMPLETED, d.get("result"))
    return StateRecord(
        d["run_id"], d["is_task"], type_, d["name"], d["message"], ts, d["id"], result
    )


def log_from_json(d: dict[str, Any]) -> LogRecord:
    ts = _fromiso(d["timestamp"]).timestamp()
    return LogRecord(
        d["flow_run_id"], d["task_run_id"], d["level"], d["logger"], d["message"], ts, id=d["id"]
    )


def edge_from_graph_json(flow_run_id: str, d: dict[str, Any]) -> TaskRunEdge:
    """An edge of `GET /flow_runs/{id}/graph` (source = upstream, target = consumer)."""
    return TaskRunEdge(flow_run_id, d["target"], d["source"], d["kind"])
