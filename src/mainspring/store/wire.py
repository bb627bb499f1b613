"""Records <-> JSON as the REST API carries them: the one mapping the client and server share.

The `*_json` functions turn model records into the documented body shapes (`POST
/api/batches`, and the server's answers); the `*_from_json` functions turn the server's answers
back into the very records `SqlStore` returns. The server's answers show times as ISO-8601 in
UTC (`iso`); a batch carries them as epoch seconds (`seconds`), which the schema also takes as
ISO text. Either way the resolution is the microsecond: a time written through the API reads
back as the same float.

This module sits in the store layer and imports neither SQLAlchemy nor the server, so a process
that records into a server loads neither. It is on the recorder's write path (one batch every
few tens of milliseconds), so encoding is plain dicts handed to orjson, and the slow care
(NUL characters, lone surrogates, values JSON has no type for) runs only when a batch needs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
from mainspring.store.base import Batch
from mainspring.store.results import ResultRef, stored_result

#: Longest text the API stores in one field (a log message, a state message).
MAX_TEXT = 1_000_000
#: Longest name (flow, run, task, key, tag, logger).
MAX_NAME = 255
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


def seconds(ts: float | None) -> float | None:
    """Epoch seconds as a batch carries them: rounded to the microsecond, the API's resolution
    (the float `iso` and back would give), so a time written reads back as the same float.
    Numbers rather than ISO text because formatting and parsing times was the largest part of
    encoding and decoding a batch, and a number is the very float the store keeps."""
    return None if ts is None else round(ts, 6)


def epoch(text: str | None) -> float | None:
    """An ISO-8601 time from the API as epoch seconds."""
    return None if text is None else _fromiso(text).timestamp()


def json_default(value: Any) -> Any:
    """Values JSON has no type for, converted as pydantic would (a Path or an Enum becomes its
    value, a dataclass or model a dict); what even that cannot convert becomes its repr: a
    parameter the engine could not make JSON-safe must not cost a whole batch."""
    from pydantic_core import to_jsonable_python

    try:
        return to_jsonable_python(value)
    except Exception:
        return repr(value)


# -- records -> JSON -------------------------------------------------------------------------
#: How a record encoder writes times: `iso` for the server's answers, `seconds` in a batch.
TimeFormat = Callable[[float | None], Any]


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


def flow_json(f: FlowRecord, time: TimeFormat = iso) -> dict[str, Any]:
    """A flow as `FlowIn` takes it: no id (the server gives a new flow its own)."""
    return {
        "name": f.name,
        "description": f.description,
        "created": time(f.created),
    }


def flow_run_json(r: FlowRun, time: TimeFormat = iso) -> dict[str, Any]:
    """A flow run as `FlowRunIn` takes it (the state's result address beside the state)."""
    s = r.state
    return {
        "id": r.id,
        "name": r.name,
        "flow_name": r.flow_name,
        "state": {"type": _VALUES[s.type], "name": s.name, "message": s.message,
                  "timestamp": time(s.ts)},
        "parameters": r.parameters,
        "tags": r.tags,
        "flow_version": r.flow_version,
        "parent_flow_run_id": r.parent_flow_run_id,
        "parent_task_run_id": r.parent_task_run_id,
        "subflow_key": r.subflow_key,
        "deployment_id": r.deployment_id,
        "created": time(r.created),
        "start_time": time(r.start_time),
        "end_time": time(r.end_time),
        "run_count": r.run_count,
        "heartbeat": time(r.heartbeat),
        "state_result": result_json(s.data),
    }  # fmt: skip


def task_run_json(t: TaskRun, time: TimeFormat = iso) -> dict[str, Any]:
    s = t.state
    return {
        "id": t.id,
        "name": t.name,
        "task_name": t.task_name,
        "task_key": t.task_key,
        "state": {"type": _VALUES[s.type], "name": s.name, "message": s.message,
                  "timestamp": time(s.ts)},
        "flow_run_id": t.flow_run_id,
        "dynamic_key": t.dynamic_key,
        "tags": t.tags,
        "cache_key": t.cache_key,
        "created": time(t.created),
        "start_time": time(t.start_time),
        "end_time": time(t.end_time),
        "run_count": t.run_count,
        "state_result": result_json(s.data),
    }  # fmt: skip


def state_record_json(s: StateRecord, time: TimeFormat = iso) -> dict[str, Any]:
    """One timeline row as `StateRecordIn` takes it."""
    return {
        "run_id": s.run_id,
        "is_task": s.is_task,
        "state": {"type": _VALUES[s.type], "name": s.name, "message": s.message,
                  "timestamp": time(s.ts)},
        "result": result_json(s.result),
    }  # fmt: skip


def log_json(r: LogRecord, time: TimeFormat = iso) -> dict[str, Any]:
    message = r.message
    if len(message) > MAX_TEXT:  # rare: a whole data set logged; keep the start, say so
        message = message[: MAX_TEXT - 100] + f"... [{len(message) - MAX_TEXT + 100} more chars]"
    return {
        "flow_run_id": r.flow_run_id,
        "task_run_id": r.task_run_id,
        "level": r.level,
        "logger": r.logger,
        "message": message,
        "timestamp": time(r.ts),
    }


def edge_json(e: TaskRunEdge) -> dict[str, Any]:
    return {
        "flow_run_id": e.flow_run_id,
        "task_run_id": e.task_run_id,
        "upstream_id": e.upstream_id,
        "kind": e.kind,
    }


def batch_body(batch: Batch) -> dict[str, Any]:
    """The body of `POST /api/batches` for `batch` (its `id` included when it has one)."""
    body: dict[str, Any] = {}
    if batch.id is not None:
        body["id"] = batch.id
    if batch.flows:
        body["flows"] = [flow_json(f, seconds) for f in batch.flows.values()]
    if batch.flow_runs:
        body["flow_runs"] = [flow_run_json(r, seconds) for r in batch.flow_runs.values()]
    if batch.task_runs:
        body["task_runs"] = [task_run_json(t, seconds) for t in batch.task_runs.values()]
    if batch.states:
        body["states"] = [state_record_json(s, seconds) for s in batch.states]
    if batch.logs:
        body["logs"] = [log_json(r, seconds) for r in batch.logs]
    if batch.edges:
        body["edges"] = [edge_json(e) for e in batch.edges]
    return body


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
    """Text both databases store: NUL and lone surrogates replaced."""
    value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
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
        parameters=d["parameters"],
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
