"""A batch on the wire (`POST /api/batches`): encoded by the client, decoded by the server.

The recorder of every client process sends a batch every few tens of milliseconds, thousands
of records each, so what each side pays per record decides how much a flow that records into
a server pays per task. Both sides go through the msgspec shapes of store/http/wire_shapes.py:

- `encode_batch` (client): the records as shapes, encoded in C, times as epoch seconds (no
  datetime formatting), fields at their defaults left out. A batch msgspec cannot encode as
  it is (a lone surrogate, a parameter of a type JSON lacks) goes the careful way instead
  (`wire.dumps`: cleaned text, values converted as pydantic would).
- `decode_batch` (server): msgspec parses the body into the shapes (types, lengths, ranges,
  unknown keys checked in C), then one pass checks what msgspec cannot (no NUL in text, ids of
  id characters, a state's name belonging to its type, a result key staying inside its
  storage) while it builds the records: ~2-3 us a record, where pydantic's validation of the
  same body costs ~40.

The decoder accepts only the canonical form of the documented schema (`BatchIn`): what
`encode_batch` writes and what `BatchIn.model_dump(mode="json")` gives, known keys, JSON types
as declared (no "1" for 1), times as epoch seconds, names and ids within their limits.
Anything else, valid or not, returns None, and the server validates the body with the schema
instead, which either answers 422 naming the field or gives the canonical form to decode.
Whatever this decoder accepts the schema accepts too; that is what keeps the two in step
(tests/server/test_wire_batch.py checks it with generated bodies).
"""

from __future__ import annotations

import re
import time
from typing import Any

import msgspec

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
from mainspring.store import json_values
from mainspring.store.base import Batch
from mainspring.store.http.wire import (
    BATCH_ID_PATTERN,
    ID_PATTERN,
    MAX_TEXT,
    clean_json,
    dumps,
)
from mainspring.store.http.wire_shapes import (
    BatchWire,
    EdgeWire,
    FlowRunWire,
    FlowWire,
    LogWire,
    ResultWire,
    StateRecordWire,
    StateWire,
    TaskRunWire,
)
from mainspring.store.json_values import json_default
from mainspring.store.results.storage import ResultRef

# fullmatch with the pattern's body: `$` would also match before a final newline
_BATCH_ID = re.compile(BATCH_ID_PATTERN.strip("^$")).fullmatch
#: The characters of ID_PATTERN: `not id.strip(_ID_CHARS)` is its test, several times cheaper
#: than the regular expression.
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"
assert ID_PATTERN == r"^[A-Za-z0-9_.:-]{1,36}$", "update _ID_CHARS and wire_shapes._Id with it"
_TYPES = {t.value: t for t in StateType}
_VALUES = {t: t.value for t in StateType}  # faster than the enum's `.value` descriptor
_NAMES = {t: {None, *(n for n, nt in STATE_NAMES.items() if nt is t)} for t in StateType}
_DEFAULT_NAMES = {t: t.value.capitalize() for t in StateType}
#: builds a StateRecord or LogRecord without its Python-level __new__, from all its fields in order
_new_tuple = tuple.__new__
assert StateRecord._fields == ("run_id", "is_task", "type", "name", "message", "ts", "id",
                               "result"), "update _state_record with StateRecord"  # fmt: skip
assert LogRecord._fields == ("flow_run_id", "task_run_id", "level", "logger", "message", "ts",
                             "id"), "update _log with LogRecord"  # fmt: skip


# -- encoding (client) -------------------------------------------------------------------------
_encoder = msgspec.json.Encoder()


def encode_batch(batch: Batch) -> bytes:
    """The body of `POST /api/batches` for `batch` (its `id` included when it has one)."""
    shape = BatchWire(
        id=batch.id,
        flows=[FlowWire(f.name, f.description, _s(f.created)) for f in batch.flows.values()],
        flow_runs=[_flow_run_wire(r) for r in batch.flow_runs.values()],
        task_runs=[_task_run_wire(t) for t in batch.task_runs.values()],
        states=[_state_record_wire(s) for s in batch.states],
        logs=[_log_wire(r) for r in batch.logs],
        edges=[EdgeWire(e.task_run_id, e.upstream_id, e.flow_run_id, e.kind) for e in batch.edges],
    )
    try:
        body = _encoder.encode(shape)
    except (TypeError, ValueError):  # a type JSON lacks, a lone surrogate (a ValueError)
        return dumps(msgspec.to_builtins(shape, enc_hook=json_default))
    if b"\\u0000" in body:  # may also be an escaped backslash before "u0000": then harmless
        return dumps(msgspec.to_builtins(shape))
    return body


def _s(ts: float | None) -> float | None:
    """Epoch seconds at the API's resolution, the microsecond (what the ISO text the server
    shows holds), so a time written reads back as the same float: the double nearest a whole
    number of microseconds. Not `round(ts, 6)`, whose exact decimal rounding costs ~10x more
    (it was most of encoding a batch) and would only pick another neighbour for a time within
    a quarter of a microsecond of a half."""
    return None if ts is None else round(ts * 1e6) / 1e6


def _state_wire(s: State) -> StateWire:
    return StateWire(_VALUES[s.type], s.name, s.message, round(s.ts * 1e6) / 1e6)


def _result_wire(data: object) -> ResultWire | None:
    """A persisted result's address (a state's data that is a ResultRef), else None."""
    if type(data) is not ResultRef:
        return None
    return ResultWire(data.storage_url, data.key, data.serializer)


def _flow_run_wire(r: FlowRun) -> FlowRunWire:
    return FlowRunWire(
        id=r.id,
        name=r.name,
        state=_state_wire(r.state),
        tags=r.tags,
        created=_s(r.created),
        start_time=_s(r.start_time),
        end_time=_s(r.end_time),
        run_count=r.run_count,
        state_result=_result_wire(r.state.data),
        flow_name=r.flow_name,
        parameters=json_values.encode(r.parameters),  # converted once per flow run
        flow_version=r.flow_version,
        parent_flow_run_id=r.parent_flow_run_id,
        parent_task_run_id=r.parent_task_run_id,
        subflow_key=r.subflow_key,
        deployment_id=r.deployment_id,
        heartbeat=_s(r.heartbeat),
        host=r.host,
        pid=r.pid,
        process_start=_s(r.process_start),
        entrypoint=r.entrypoint,
    )


def _task_run_wire(t: TaskRun) -> TaskRunWire:
    # the hottest run record (one per task call): the optional times inline
    s, created, start, end = t.state, t.created, t.start_time, t.end_time
    return TaskRunWire(
        id=t.id,
        name=t.name,
        state=StateWire(_VALUES[s.type], s.name, s.message, round(s.ts * 1e6) / 1e6),
        tags=t.tags,
        created=None if created is None else round(created * 1e6) / 1e6,
        start_time=None if start is None else round(start * 1e6) / 1e6,
        end_time=None if end is None else round(end * 1e6) / 1e6,
        run_count=t.run_count,
        state_result=None if type(s.data) is not ResultRef else _result_wire(s.data),
        task_name=t.task_name,
        task_key=t.task_key,
        flow_run_id=t.flow_run_id,
        dynamic_key=t.dynamic_key,
        cache_key=t.cache_key,
    )


def _state_record_wire(s: StateRecord) -> StateRecordWire:
    result = s.result
    return StateRecordWire(
        s.run_id,
        s.is_task,
        StateWire(_VALUES[s.type], s.name, s.message, round(s.ts * 1e6) / 1e6),
        None if result is None else _result_wire(result),
    )


def _log_wire(r: LogRecord) -> LogWire:
    message = r.message
    if len(message) > MAX_TEXT:  # rare: a whole data set logged; keep the start, say so
        message = message[: MAX_TEXT - 100] + f"... [{len(message) - MAX_TEXT + 100} more chars]"
    return LogWire(
        r.level, r.logger, message, round(r.ts * 1e6) / 1e6, r.flow_run_id, r.task_run_id
    )


# -- decoding (server) -------------------------------------------------------------------------
_decoder = msgspec.json.Decoder(BatchWire)


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
    except (_Refused, msgspec.DecodeError, KeyError, RecursionError):
        return None  # (a ValidationError is a DecodeError; msgspec recurses ~1000 levels deep)


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


def _result(r: ResultWire | None) -> ResultRef | None:
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


def _type_and_name(s: StateWire) -> tuple[StateType, str | None]:
    """A state's type and name (None: the type's default), the name one of that type's."""
    type_ = _TYPES[s.type]
    name = s.name
    if name not in _NAMES[type_]:
        raise _Refused
    return type_, name


def _run_state(s: StateWire, result: ResultWire | None) -> State:
    """A run's `state`, holding the address of its result (`state_result`) as its data."""
    type_, name = _type_and_name(s)
    return State(type_, name, _text(s.message), _result(result), s.timestamp)


def _opt_id(value: str | None) -> str | None:
    return None if value is None else _id(value)


def _opt_name(value: str | None) -> str | None:
    return None if value is None else _name(value)


def _parameters(value: dict[str, Any]) -> dict[str, Any]:
    """The values of a run's parameters (store/json_values.py's tagged form decoded); a bad tag,
    a NaN or nesting too deep goes to the schema, which says what is wrong."""
    try:
        return clean_json(json_values.decode(value, strict=True))  # type: ignore[no-any-return]
    except ValueError:
        raise _Refused from None


def _tags(tags: list[str]) -> list[str]:
    for tag in tags:
        _name(tag)
    return tags


# -- records -----------------------------------------------------------------------------------
def _flow_run(r: FlowRunWire) -> FlowRun:
    return FlowRun(
        id=_id(r.id),
        name=_name(r.name),
        flow_name=_name(r.flow_name),
        state=_run_state(r.state, r.state_result),
        parameters=_parameters(r.parameters),
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
        host=_opt_name(r.host),
        pid=r.pid,
        process_start=r.process_start,
        entrypoint=None if r.entrypoint is None else _text(r.entrypoint),
    )


def _task_run(t: TaskRunWire) -> TaskRun:
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


def _state_record(r: StateRecordWire) -> StateRecord:
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


def _log(r: LogWire) -> LogRecord:
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


def _edge(e: EdgeWire) -> TaskRunEdge:
    kind = e.kind
    if kind != "data" and kind != "wait":
        raise _Refused
    return TaskRunEdge(_opt_id(e.flow_run_id), _id(e.task_run_id), _id(e.upstream_id), kind)
