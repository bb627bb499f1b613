"""A `POST /api/batches` body back into a `Batch`: the server's fast path, strict by design.

The recorder of every client process sends a batch every few tens of milliseconds, thousands
of records each, so the server's cost per record decides how much a flow that records into a
server pays per task. Generic validation (pydantic, with a Python validator per text and time
field) costs ~40 us a record; this decoder ~5 us: orjson, then one pass that checks each
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
    clean_json,
)

# fullmatch with the patterns' body: `$` would also match before a final newline
_BATCH_ID = re.compile(BATCH_ID_PATTERN.strip("^$")).fullmatch
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)?").fullmatch
#: The characters of ID_PATTERN: `not id.strip(_ID_CHARS)` is its test, several times cheaper
#: than the regular expression.
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"
assert ID_PATTERN == r"^[A-Za-z0-9_.:-]{1,36}$", "update _ID_CHARS and MAX_ID with it"
MAX_ID = 36
_TYPES = {t.value: t for t in StateType}
_NAMES = {t: {None, *(n for n, nt in STATE_NAMES.items() if nt is t)} for t in StateType}
_DEFAULT_NAMES = {t: t.value.capitalize() for t in StateType}
_fromiso = datetime.fromisoformat
#: builds a StateRecord or LogRecord without its Python-level __new__, from all its fields in order
_new_tuple = tuple.__new__
assert StateRecord._fields == ("run_id", "is_task", "type", "name", "message", "ts", "id",
                               "result"), "update _state_record with StateRecord"  # fmt: skip
assert LogRecord._fields == ("flow_run_id", "task_run_id", "level", "logger", "message", "ts",
                             "id"), "update _log with LogRecord"  # fmt: skip


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
    shape = value[4:20:3]  # the separators of "YYYY-MM-DDTHH:MM:SS", and what follows
    if (n == 27 and shape == "--T::." and value[26] == "Z") or (n == 20 and shape == "--T::Z"):
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
    if type(key) is not str or len(key) > MAX_KEY or "\\" in key or "\x00" in key:
        raise _Refused
    segments = key.split("/")  # RESULT_KEY's test, at half its cost: no segment empty or ".."
    if "" in segments or ".." in segments:
        raise _Refused
    return ResultRef(storage, key, _opt_name(d.get("serializer")))


def _type_and_name(s: dict[str, Any]) -> tuple[StateType, str | None]:
    """A state's type and name (None: the type's default), the name one of that type's."""
    type_ = _TYPES[s["type"]]
    name = s.get("name")
    if name not in _NAMES[type_]:
        raise _Refused
    return type_, name


def _run_state(d: dict[str, Any]) -> State:
    """A run's `state`, holding the address of its result (`state_result`) as its data."""
    s = d["state"]
    _keys(s, _STATE_KEYS)
    type_, name = _type_and_name(s)
    message, ts, result = s.get("message"), s.get("timestamp"), d.get("state_result")
    return State(
        type_,
        name,
        None if message is None else _text(message),
        None if result is None else _result(result),
        None if ts is None else _time(ts),
    )


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
    get = d.get  # the optional fields, checked only when present (the `_opt_*` inline)
    flow_run_id, dynamic_key, cache_key = get("flow_run_id"), get("dynamic_key"), get("cache_key")
    created, start_time, end_time = get("created"), get("start_time"), get("end_time")
    return TaskRun(  # positional (order checked below): a third of the keyword call's cost
        _id(d["id"]),
        _name(d["name"]),
        _name(d["task_name"]),
        _name(d["task_key"]),
        _run_state(d),
        None if flow_run_id is None else _id(flow_run_id),
        None if dynamic_key is None else _name(dynamic_key),
        _tags(get("tags", [])),
        None if cache_key is None else _name(cache_key),
        None if created is None else _time(created),
        None if start_time is None else _time(start_time),
        None if end_time is None else _time(end_time),
        _count(get("run_count", 0)),
    )


assert tuple(TaskRun.__dataclass_fields__) == (
    "id", "name", "task_name", "task_key", "state", "flow_run_id", "dynamic_key", "tags",
    "cache_key", "created", "start_time", "end_time", "run_count",
), "update _task_run with TaskRun"  # fmt: skip


_STATE_RECORD_KEYS = frozenset({"run_id", "is_task", "state", "result"})


def _state_record(d: Any) -> StateRecord:
    # the hottest record (three per task call): the checks of _keys, _id and _state inline
    if type(d) is not dict or not d.keys() <= _STATE_RECORD_KEYS:
        raise _Refused
    run_id, is_task, s = d["run_id"], d["is_task"], d["state"]
    if (
        type(run_id) is not str
        or not 0 < len(run_id) <= MAX_ID
        or run_id.strip(_ID_CHARS)
        or type(is_task) is not bool
        or type(s) is not dict
        or not s.keys() <= _STATE_KEYS
    ):
        raise _Refused
    type_, name = _type_and_name(s)
    message, ts, result = s.get("message"), s.get("timestamp"), d.get("result")
    return _new_tuple(
        StateRecord,
        (
            run_id,
            is_task,
            type_,
            name or _DEFAULT_NAMES[type_],  # as State names it
            None if message is None else _text(message),
            time.time() if ts is None else _time(ts),  # as State stamps it
            None,
            None if result is None else _result(result),
        ),
    )


_LOG_KEYS = frozenset({"level", "logger", "message", "timestamp", "flow_run_id", "task_run_id"})


def _log(d: Any) -> LogRecord:
    if type(d) is not dict or not d.keys() <= _LOG_KEYS:
        raise _Refused
    level, logger, message = d["level"], d["logger"], d["message"]
    flow_run_id, task_run_id = d.get("flow_run_id"), d.get("task_run_id")
    if (
        type(level) is not int
        or not 0 <= level <= 100
        or type(logger) is not str
        or not 0 < len(logger) <= MAX_NAME
        or "\x00" in logger
        or type(message) is not str
        or len(message) > MAX_TEXT
        or "\x00" in message
    ):
        raise _Refused
    return _new_tuple(
        LogRecord,
        (
            None if flow_run_id is None else _id(flow_run_id),
            None if task_run_id is None else _id(task_run_id),
            level,
            logger,
            message,
            _time(d["timestamp"]),
            None,
        ),
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
