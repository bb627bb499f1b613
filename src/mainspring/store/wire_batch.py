"""A `POST /api/batches` body back into a `Batch`: the server's fast path, strict by design.

The recorder of every client process sends a batch every few tens of milliseconds, thousands
of records each, so the server's cost per record decides how much a flow that records into a
server pays per task. Generic validation (pydantic, with a Python validator per text and time
field) costs ~40 us a record; this decoder ~4 us: orjson, then one pass that checks each
field and builds the record at once.

It accepts only the canonical form of the documented schema (`BatchIn`), exactly what
`wire.batch_body` writes and what `BatchIn.model_dump(mode="json")` gives: known keys, JSON
types as declared (no "1" for 1), ISO-8601 times with seconds, names and ids within their
limits. Anything else, valid or not, returns None, and the server validates the body with the
schema instead, which either answers 422 naming the field or gives the canonical form to decode.
Whatever this decoder accepts the schema accepts too; that is what keeps the two in step.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from mainspring.model import (
    STATE_NAMES,
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
from mainspring.store.results import ResultRef
from mainspring.store.wire import (
    BATCH_ID_PATTERN,
    ID_PATTERN,
    INT32,
    MAX_ITEMS,
    MAX_KEY,
    MAX_NAME,
    MAX_STORAGE,
    MAX_TAGS,
    MAX_TEXT,
    RESULT_KEY,
    clean_json,
)

# fullmatch with the patterns' body: `$` would also match before a final newline
_BATCH_ID = re.compile(BATCH_ID_PATTERN.strip("^$")).fullmatch
_RESULT_KEY = re.compile(RESULT_KEY.strip("^$")).fullmatch
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)?").fullmatch
#: The characters of ID_PATTERN: `not id.strip(_ID_CHARS)` is its test, several times cheaper
#: than the regular expression.
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"
assert ID_PATTERN == r"^[A-Za-z0-9_.:-]{1,36}$", "update _ID_CHARS and MAX_ID with it"
MAX_ID = 36
_TYPES = {t.value: t for t in StateType}
_NAMES = {t: {None, *(n for n, nt in STATE_NAMES.items() if nt is t)} for t in StateType}
_fromiso = datetime.fromisoformat


class _Refused(Exception):
    """The body is not in canonical form: leave it to the schema."""


def decode_batch(body: bytes) -> Batch | None:
    """The batch in `body`, or None when the body must go through full validation."""
    try:
        data = orjson.loads(body)
        if type(data) is not dict or not data.keys() <= _BATCH_KEYS:
            return None
        batch_id = data.get("id")
        if batch_id is not None and (type(batch_id) is not str or not _BATCH_ID(batch_id)):
            return None
        batch = Batch(id=batch_id)
        for f in _items(data, "flows"):
            flow = _flow(f)
            batch.flows[flow.name] = flow
        for r in _items(data, "flow_runs"):
            run = _flow_run(r)
            batch.flow_runs[run.id] = run
        for t in _items(data, "task_runs"):
            task = _task_run(t)
            batch.task_runs[task.id] = task
        batch.states = [_state_record(s) for s in _items(data, "states")]
        batch.logs = [_log(r) for r in _items(data, "logs")]
        batch.edges = [_edge(e) for e in _items(data, "edges")]
        return batch
    except (_Refused, orjson.JSONDecodeError, KeyError, ValueError, OverflowError, TypeError):
        return None


_BATCH_KEYS = {"id", "flows", "flow_runs", "task_runs", "states", "logs", "edges"}


def _items(data: dict[str, Any], key: str) -> list[Any]:
    items = data.get(key, ())
    if type(items) is not list and items != ():
        raise _Refused
    if len(items) > MAX_ITEMS:
        raise _Refused
    return items  # type: ignore[return-value]


# -- fields ------------------------------------------------------------------------------------
def _keys(d: Any, allowed: frozenset[str]) -> None:
    """`d` is an object with no key but `allowed` ones (a missing required key is a KeyError
    where it is read)."""
    if type(d) is not dict or not d.keys() <= allowed:
        raise _Refused


def _id(value: Any) -> str:
    if type(value) is not str or not 0 < len(value) <= MAX_ID or value.strip(_ID_CHARS):
        raise _Refused
    return value


def _opt_id(value: Any) -> str | None:
    return None if value is None else _id(value)


def _name(value: Any) -> str:
    if type(value) is not str or not 0 < len(value) <= MAX_NAME or "\x00" in value:
        raise _Refused
    return value


def _opt_name(value: Any) -> str | None:
    return None if value is None else _name(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is not str or len(value) > MAX_TEXT or "\x00" in value:
        raise _Refused
    return value


def _time(value: Any) -> float:
    if type(value) is not str:
        raise _Refused
    n = len(value)
    if ((n == 27 and value[19] == ".") or n == 20) and value[-1] == "Z" and value[10] == "T":
        return _fromiso(value).timestamp()  # the canonical form: UTC, what clients send
    if not _TIME(value):
        raise _Refused
    moment = _fromiso(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC).timestamp()
    if moment.utcoffset() and not 1 < moment.year < 9999:  # converting to UTC may overflow,
        raise _Refused  # which the schema refuses; its canonical form is always UTC
    return moment.timestamp()


def _opt_time(value: Any) -> float | None:
    return None if value is None else _time(value)


def _count(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= INT32:
        raise _Refused
    return value


def _tags(value: Any) -> list[str]:
    if type(value) is not list or len(value) > MAX_TAGS:
        raise _Refused
    for tag in value:
        _name(tag)
    return value


def _state(d: Any) -> State:
    _keys(d, _STATE_KEYS)
    type_ = _TYPES[d["type"]]
    name = d.get("name")
    if name not in _NAMES[type_]:
        raise _Refused
    ts = _opt_time(d.get("timestamp"))
    return State(type_, name, _text(d.get("message")), ts=ts)


_STATE_KEYS = frozenset({"type", "name", "message", "timestamp"})
_RESULT_KEYS = frozenset({"storage", "key", "serializer"})


def _result(d: Any) -> ResultRef | None:
    """A persisted result's address (`ResultRefIn`)."""
    if d is None:
        return None
    _keys(d, _RESULT_KEYS)
    storage, key = d["storage"], d["key"]
    if type(storage) is not str or not 0 < len(storage) <= MAX_STORAGE or "\x00" in storage:
        raise _Refused
    if type(key) is not str or len(key) > MAX_KEY or not _RESULT_KEY(key):
        raise _Refused
    return ResultRef(storage, key, _opt_name(d.get("serializer")))


def _run_state(d: dict[str, Any]) -> State:
    """A run's `state`, holding the address of its result (`state_result`) as its data."""
    state = _state(d["state"])
    state.data = _result(d.get("state_result"))
    return state


# -- records -----------------------------------------------------------------------------------
_FLOW_KEYS = frozenset({"name", "description", "created"})


def _flow(d: Any) -> FlowRecord:
    _keys(d, _FLOW_KEYS)
    return FlowRecord(
        name=_name(d["name"]),
        description=_text(d.get("description")),
        created=_opt_time(d.get("created")),
    )


_RUN_KEYS = frozenset({"id", "name", "state", "tags", "created", "start_time", "end_time",
                       "run_count", "state_result"})  # fmt: skip
_FLOW_RUN_KEYS = _RUN_KEYS | {"flow_name", "parameters", "flow_version", "parent_flow_run_id",
                              "parent_task_run_id", "subflow_key", "deployment_id",
                              "heartbeat"}  # fmt: skip


def _flow_run(d: Any) -> FlowRun:
    _keys(d, _FLOW_RUN_KEYS)
    parameters = d.get("parameters", {})
    if type(parameters) is not dict:
        raise _Refused
    return FlowRun(
        id=_id(d["id"]),
        name=_name(d["name"]),
        flow_name=_name(d["flow_name"]),
        state=_run_state(d),
        parameters=clean_json(parameters),
        tags=_tags(d.get("tags", [])),
        flow_version=_opt_name(d.get("flow_version")),
        parent_flow_run_id=_opt_id(d.get("parent_flow_run_id")),
        parent_task_run_id=_opt_id(d.get("parent_task_run_id")),
        subflow_key=_opt_name(d.get("subflow_key")),
        deployment_id=_opt_id(d.get("deployment_id")),
        created=_opt_time(d.get("created")),
        start_time=_opt_time(d.get("start_time")),
        end_time=_opt_time(d.get("end_time")),
        run_count=_count(d.get("run_count", 0)),
        heartbeat=_opt_time(d.get("heartbeat")),
    )


_TASK_RUN_KEYS = _RUN_KEYS | {"task_name", "task_key", "flow_run_id", "dynamic_key", "cache_key"}


def _task_run(d: Any) -> TaskRun:
    _keys(d, _TASK_RUN_KEYS)
    return TaskRun(
        id=_id(d["id"]),
        name=_name(d["name"]),
        task_name=_name(d["task_name"]),
        task_key=_name(d["task_key"]),
        state=_run_state(d),
        flow_run_id=_opt_id(d.get("flow_run_id")),
        dynamic_key=_opt_name(d.get("dynamic_key")),
        tags=_tags(d.get("tags", [])),
        cache_key=_opt_name(d.get("cache_key")),
        created=_opt_time(d.get("created")),
        start_time=_opt_time(d.get("start_time")),
        end_time=_opt_time(d.get("end_time")),
        run_count=_count(d.get("run_count", 0)),
    )


_STATE_RECORD_KEYS = frozenset({"run_id", "is_task", "state", "result"})


def _state_record(d: Any) -> StateRecord:
    _keys(d, _STATE_RECORD_KEYS)
    is_task, s = d["is_task"], d["state"]
    if type(is_task) is not bool:
        raise _Refused
    _keys(s, _STATE_KEYS)
    type_ = _TYPES[s["type"]]
    name = s.get("name")
    if name not in _NAMES[type_]:
        raise _Refused
    ts = s.get("timestamp")
    return StateRecord(
        _id(d["run_id"]),
        is_task,
        type_,
        name or type_.value.capitalize(),  # as State names it
        _text(s.get("message")),
        time.time() if ts is None else _time(ts),  # as State stamps it
        None,
        _result(d.get("result")),
    )


_LOG_KEYS = frozenset({"level", "logger", "message", "timestamp", "flow_run_id", "task_run_id"})


def _log(d: Any) -> LogRecord:
    _keys(d, _LOG_KEYS)
    level = d["level"]
    if type(level) is not int or not 0 <= level <= 100:
        raise _Refused
    message = d["message"]
    if type(message) is not str:
        raise _Refused
    return LogRecord(
        _opt_id(d.get("flow_run_id")),
        _opt_id(d.get("task_run_id")),
        level,
        _name(d["logger"]),
        _text(message),  # type: ignore[arg-type]  # a str, checked above
        _time(d["timestamp"]),
    )


_EDGE_KEYS = frozenset({"task_run_id", "upstream_id", "flow_run_id", "kind"})


def _edge(d: Any) -> TaskRunEdge:
    _keys(d, _EDGE_KEYS)
    kind = d.get("kind", "data")
    if kind != "data" and kind != "wait":
        raise _Refused
    return TaskRunEdge(
        _opt_id(d.get("flow_run_id")), _id(d["task_run_id"]), _id(d["upstream_id"]), kind
    )
