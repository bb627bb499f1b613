"""A `POST /api/batches` body back into a `Batch`: the server's fast path, strict by design.

The recorder of every client process sends a batch every few tens of milliseconds, thousands
of records each, so the server's cost per record decides how much a flow that records into a
server pays per task. Generic validation (pydantic, with a Python validator per text and time
field) costs ~40 us a record; this decoder ~2-3 us: msgspec parses the JSON straight into the
typed shapes below (types, lengths, ranges and unknown keys checked in C), and one pass adds
what msgspec cannot say (no NUL in text, ids of id characters, a state's name belonging to its
type, a result key staying inside its storage) while it builds the records.

It accepts only the canonical form of the documented schema (`BatchIn`), exactly what
`wire.batch_body` writes and what `BatchIn.model_dump(mode="json")` gives: known keys, JSON
types as declared (no "1" for 1), times as epoch seconds, names and ids within their limits.
Anything else, valid or not, returns None, and the server validates the body with the schema
instead, which either answers 422 naming the field or gives the canonical form to decode.
Whatever this decoder accepts the schema accepts too; that is what keeps the two in step
(tests/server/test_wire_batch.py checks it with generated bodies).
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

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
    MAX_TIME,
    MIN_TIME,
    clean_json,
)

# fullmatch with the pattern's body: `$` would also match before a final newline
_BATCH_ID = re.compile(BATCH_ID_PATTERN.strip("^$")).fullmatch
#: The characters of ID_PATTERN: `not id.strip(_ID_CHARS)` is its test, several times cheaper
#: than the regular expression.
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"
assert ID_PATTERN == r"^[A-Za-z0-9_.:-]{1,36}$", "update _ID_CHARS and _Id with it"
_TYPES = {t.value: t for t in StateType}
_NAMES = {t: {None, *(n for n, nt in STATE_NAMES.items() if nt is t)} for t in StateType}
_DEFAULT_NAMES = {t: t.value.capitalize() for t in StateType}
#: builds a StateRecord or LogRecord without its Python-level __new__, from all its fields in order
_new_tuple = tuple.__new__
assert StateRecord._fields == ("run_id", "is_task", "type", "name", "message", "ts", "id",
                               "result"), "update _state_record with StateRecord"  # fmt: skip
assert LogRecord._fields == ("flow_run_id", "task_run_id", "level", "logger", "message", "ts",
                             "id"), "update _log with LogRecord"  # fmt: skip

# -- the shapes msgspec checks -----------------------------------------------------------------
# Lengths and ranges as the schema's (server/schemas/common.py); a NUL in text and the
# characters of an id are checked while building the records.
_Id = Annotated[str, Meta(min_length=1, max_length=36)]
_Name = Annotated[str, Meta(min_length=1, max_length=MAX_NAME)]
_Text = Annotated[str, Meta(max_length=MAX_TEXT)]
_Time = Annotated[float, Meta(ge=MIN_TIME, le=MAX_TIME)]
_Count = Annotated[int, Meta(ge=0, le=INT32)]
_Tags = Annotated[list[_Name], Meta(max_length=MAX_TAGS)]


class _Shape(Struct, forbid_unknown_fields=True):
    pass


class _StateIn(_Shape):
    type: str
    name: str | None = None
    message: _Text | None = None
    timestamp: _Time | None = None


class _ResultIn(_Shape):
    storage: Annotated[str, Meta(min_length=1, max_length=MAX_STORAGE)]
    key: Annotated[str, Meta(min_length=1, max_length=MAX_KEY)]
    serializer: _Name | None = None


class _FlowIn(_Shape):
    name: _Name
    description: _Text | None = None
    created: _Time | None = None


class _RunIn(_Shape, kw_only=True):
    id: _Id
    name: _Name
    state: _StateIn
    tags: _Tags = []
    created: _Time | None = None
    start_time: _Time | None = None
    end_time: _Time | None = None
    run_count: _Count = 0
    state_result: _ResultIn | None = None


class _FlowRunIn(_RunIn, kw_only=True):
    flow_name: _Name
    parameters: dict[str, Any] = {}
    flow_version: _Name | None = None
    parent_flow_run_id: _Id | None = None
    parent_task_run_id: _Id | None = None
    subflow_key: _Name | None = None
    deployment_id: _Id | None = None
    heartbeat: _Time | None = None


class _TaskRunIn(_RunIn, kw_only=True):
    task_name: _Name
    task_key: _Name
    flow_run_id: _Id | None = None
    dynamic_key: _Name | None = None
    cache_key: _Name | None = None


class _StateRecordIn(_Shape):
    run_id: _Id
    is_task: bool
    state: _StateIn
    result: _ResultIn | None = None


class _LogIn(_Shape):
    level: Annotated[int, Meta(ge=0, le=100)]
    logger: _Name
    message: _Text
    timestamp: _Time
    flow_run_id: _Id | None = None
    task_run_id: _Id | None = None


class _EdgeIn(_Shape):
    task_run_id: _Id
    upstream_id: _Id
    flow_run_id: _Id | None = None
    kind: str = "data"


def _items(shape: type) -> Any:
    return Annotated[list[shape], Meta(max_length=MAX_ITEMS)]  # type: ignore[valid-type]


class _BatchIn(_Shape):
    id: str | None = None
    flows: _items(_FlowIn) = []  # type: ignore[valid-type]
    flow_runs: _items(_FlowRunIn) = []  # type: ignore[valid-type]
    task_runs: _items(_TaskRunIn) = []  # type: ignore[valid-type]
    states: _items(_StateRecordIn) = []  # type: ignore[valid-type]
    logs: _items(_LogIn) = []  # type: ignore[valid-type]
    edges: _items(_EdgeIn) = []  # type: ignore[valid-type]


_decoder = msgspec.json.Decoder(_BatchIn)


class _Refused(Exception):
    """The body is not in canonical form: leave it to the schema."""


def decode_batch(body: bytes) -> Batch | None:
    """The batch in `body`, or None when the body must go through full validation."""
    try:
        data = _decoder.decode(body)
        if data.id is not None and not _BATCH_ID(data.id):
            return None
        batch = Batch(id=data.id)
        for f in data.flows:
            batch.flows[f.name] = FlowRecord(
                name=_name(f.name), description=_text(f.description), created=f.created
            )
        for r in data.flow_runs:
            batch.flow_runs[r.id] = _flow_run(r)
        task_runs = batch.task_runs
        for t in data.task_runs:
            task_runs[t.id] = _task_run(t)
        batch.states = [_state_record(s) for s in data.states]
        batch.logs = [_log(r) for r in data.logs]
        batch.edges = [_edge(e) for e in data.edges]
        return batch
    except (_Refused, msgspec.DecodeError, KeyError):  # ValidationError is a DecodeError
        return None


# -- what msgspec cannot check -----------------------------------------------------------------
def _id(value: str) -> str:
    if value.strip(_ID_CHARS):
        raise _Refused
    return value


def _name(value: str) -> str:
    if "\x00" in value:
        raise _Refused
    return value


def _text(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise _Refused
    return value


def _result(r: _ResultIn | None) -> ResultRef | None:
    """A persisted result's address (`ResultRefIn`): its key stays inside its storage."""
    if r is None:
        return None
    storage, key, serializer = r.storage, r.key, r.serializer
    if "\x00" in storage or "\\" in key or "\x00" in key:
        raise _Refused
    segments = key.split("/")  # RESULT_KEY's test, at half its cost: no segment empty or ".."
    if "" in segments or ".." in segments:
        raise _Refused
    return ResultRef(storage, key, None if serializer is None else _name(serializer))


def _type_and_name(s: _StateIn) -> tuple[StateType, str | None]:
    """A state's type and name (None: the type's default), the name one of that type's."""
    type_ = _TYPES[s.type]
    name = s.name
    if name not in _NAMES[type_]:
        raise _Refused
    return type_, name


def _run_state(s: _StateIn, result: _ResultIn | None) -> State:
    """A run's `state`, holding the address of its result (`state_result`) as its data."""
    type_, name = _type_and_name(s)
    return State(type_, name, _text(s.message), _result(result), s.timestamp)


def _opt_id(value: str | None) -> str | None:
    return None if value is None else _id(value)


def _opt_name(value: str | None) -> str | None:
    return None if value is None else _name(value)


def _tags(tags: list[str]) -> list[str]:
    for tag in tags:
        _name(tag)
    return tags


# -- records -----------------------------------------------------------------------------------
def _flow_run(r: _FlowRunIn) -> FlowRun:
    return FlowRun(
        id=_id(r.id),
        name=_name(r.name),
        flow_name=_name(r.flow_name),
        state=_run_state(r.state, r.state_result),
        parameters=clean_json(r.parameters),
        tags=_tags(r.tags),
        flow_version=_opt_name(r.flow_version),
        parent_flow_run_id=_opt_id(r.parent_flow_run_id),
        parent_task_run_id=_opt_id(r.parent_task_run_id),
        subflow_key=_opt_name(r.subflow_key),
        deployment_id=_opt_id(r.deployment_id),
        created=r.created,
        start_time=r.start_time,
        end_time=r.end_time,
        run_count=r.run_count,
        heartbeat=r.heartbeat,
    )


def _task_run(t: _TaskRunIn) -> TaskRun:
    # the hottest run record (one per task call): optional checks inline
    flow_run_id, dynamic_key, cache_key, tags = t.flow_run_id, t.dynamic_key, t.cache_key, t.tags
    return TaskRun(  # positional (order checked below): a third of the keyword call's cost
        _id(t.id),
        _name(t.name),
        _name(t.task_name),
        _name(t.task_key),
        _run_state(t.state, t.state_result),
        None if flow_run_id is None else _id(flow_run_id),
        None if dynamic_key is None else _name(dynamic_key),
        _tags(tags) if tags else tags,
        None if cache_key is None else _name(cache_key),
        t.created,
        t.start_time,
        t.end_time,
        t.run_count,
    )


assert tuple(TaskRun.__dataclass_fields__) == (
    "id", "name", "task_name", "task_key", "state", "flow_run_id", "dynamic_key", "tags",
    "cache_key", "created", "start_time", "end_time", "run_count",
), "update _task_run with TaskRun"  # fmt: skip


def _state_record(r: _StateRecordIn) -> StateRecord:
    # the hottest record (three per task call)
    s, run_id = r.state, r.run_id
    if run_id.strip(_ID_CHARS):
        raise _Refused
    type_, name = _type_and_name(s)
    message, ts, result = s.message, s.timestamp, r.result
    return _new_tuple(
        StateRecord,
        (
            run_id,
            r.is_task,
            type_,
            name or _DEFAULT_NAMES[type_],  # as State names it
            None if message is None else _text(message),
            time.time() if ts is None else ts,  # as State stamps it
            None,
            None if result is None else _result(result),
        ),
    )


def _log(r: _LogIn) -> LogRecord:
    flow_run_id, task_run_id, logger, message = r.flow_run_id, r.task_run_id, r.logger, r.message
    if "\x00" in logger or "\x00" in message:
        raise _Refused
    return _new_tuple(
        LogRecord,
        (
            None if flow_run_id is None else _id(flow_run_id),
            None if task_run_id is None else _id(task_run_id),
            r.level,
            logger,
            message,
            r.timestamp,
            None,
        ),
    )


def _edge(e: _EdgeIn) -> TaskRunEdge:
    kind = e.kind
    if kind != "data" and kind != "wait":
        raise _Refused
    return TaskRunEdge(_opt_id(e.flow_run_id), _id(e.task_run_id), _id(e.upstream_id), kind)
