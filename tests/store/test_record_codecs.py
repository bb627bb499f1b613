"""Every codec of a run record carries every field of it (issue 11 item 6).

A record's fields (model/runs.py: FlowRun, TaskRun, StateRecord, LogRecord) are spelled out
again by each codec: the database tables (store/sql/schema.py) and row builders (rows.py), the batch
shapes and their encoder and decoder (store/http/wire_shapes.py, wire_batch.py), the JSON the
API answers with and its client-side decoder (store/http/wire.py), and the server's pydantic
schemas (server/schemas/). A field added to the model and forgotten by one of them used to
vanish silently on that path. Two checks, both reading the fields from the model at run time
(so a new field is checked without touching this file):

- declarations: each codec declares a place for each field (a column, a struct field, a
  schema field), apart from the deliberate differences listed, with their reasons, below;
- round trips: a record with every field set to a value of its own comes back equal through
  SqlStore (SQLite and PostgreSQL), the batch codec (also through the pydantic `BatchIn` the
  server falls back to), and the API's JSON.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from mainspring.model import FlowRun, LogRecord, State, StateRecord, StateType, TaskRun, new_id
from mainspring.server import schemas
from mainspring.store.base import Batch
from mainspring.store.http import wire, wire_shapes
from mainspring.store.http.wire import dumps
from mainspring.store.http.wire_batch import decode_batch, encode_batch
from mainspring.store.results.storage import ResultRef
from mainspring.store.sql import SqlStore, rows, schema

T0 = 1_700_000_000.0

RECORDS: list[type] = [FlowRun, TaskRun, StateRecord, LogRecord]


def model_fields(record: type) -> dict[str, str]:
    """The record's fields and their annotations (text: model/runs.py postpones them)."""
    if dataclasses.is_dataclass(record):
        return {f.name: str(f.type) for f in dataclasses.fields(record)}
    hints = record.__annotations__  # a NamedTuple's: ForwardRef("...") objects
    return {
        name: getattr(hints[name], "__forward_arg__", str(hints[name])) for name in record._fields
    }


# -- declarations ------------------------------------------------------------------------------
_STATE_COLUMNS = ("state_type", "state_name", "state_message", "state_timestamp", "state_result")


def _names(codec: str, record: type) -> set[str]:
    """The field names codec `codec` declares for `record`."""
    table = {FlowRun: schema.flow_run, TaskRun: schema.task_run}.get(
        record, {StateRecord: schema.state_history, LogRecord: schema.log}.get(record)
    )
    columns = {
        FlowRun: rows.FLOW_RUN_COLUMNS,
        TaskRun: rows.TASK_RUN_COLUMNS,
        StateRecord: rows.STATE_COLUMNS,
        LogRecord: rows.LOG_COLUMNS,
    }
    shapes = {
        FlowRun: wire_shapes.FlowRunWire,
        TaskRun: wire_shapes.TaskRunWire,
        StateRecord: wire_shapes.StateRecordWire,
        LogRecord: wire_shapes.LogWire,
    }
    inputs = {
        FlowRun: schemas.FlowRunIn,
        TaskRun: schemas.TaskRunIn,
        StateRecord: schemas.StateRecordIn,
        LogRecord: schemas.LogIn,
    }
    outputs = {
        FlowRun: schemas.FlowRunOut,
        TaskRun: schemas.TaskRunOut,
        StateRecord: schemas.TimelineEntry,
        LogRecord: schemas.LogOut,
    }
    assert table is not None
    found: dict[str, Any] = {
        "table": set(table.c.keys()),
        "row builder": set(columns[record]),
        "batch shape": set(shapes[record].__struct_fields__),
        "batch schema": set(inputs[record].model_fields),
        "API schema": set(outputs[record].model_fields),
    }
    return found[codec]


CODECS = ["table", "row builder", "batch shape", "batch schema", "API schema"]

#: How a model field is named by a codec where the name differs: the run's `state` is five
#: columns in a table, and a state and its result's address in a batch; the records' `ts` is
#: `timestamp` everywhere outside the engine; a state row's type/name/message/ts travel in a
#: batch as one nested `state`.
_RUN_STATE = {"table": _STATE_COLUMNS, "row builder": _STATE_COLUMNS}
RENAMED: dict[tuple[type, str], dict[str, tuple[str, ...]]] = {
    (FlowRun, "state"): {**_RUN_STATE, "batch shape": ("state", "state_result"),
                         "batch schema": ("state", "state_result")},
    (TaskRun, "state"): {**_RUN_STATE, "batch shape": ("state", "state_result"),
                         "batch schema": ("state", "state_result")},
    **{(StateRecord, f): {"batch shape": ("state",), "batch schema": ("state",)}
       for f in ("type", "name", "message", "ts")},
    (StateRecord, "ts"): {c: ("timestamp",) for c in CODECS} | {
        "batch shape": ("state",), "batch schema": ("state",)},
    (LogRecord, "ts"): {c: ("timestamp",) for c in CODECS},
}  # fmt: skip

#: Model fields a codec leaves out on purpose.
MISSING_ON_PURPOSE: dict[tuple[type, str], set[str]] = {
    # appended rows get their integer id from the database: a writer has none to send, and
    # the row builders leave it to the autoincrement column
    (StateRecord, "row builder"): {"id"},
    (StateRecord, "batch shape"): {"id"},
    (StateRecord, "batch schema"): {"id"},
    (LogRecord, "row builder"): {"id"},
    (LogRecord, "batch shape"): {"id"},
    (LogRecord, "batch schema"): {"id"},
}

#: Codec fields with no model field of that name, on purpose.
EXTRA_ON_PURPOSE: dict[tuple[type, str], set[str]] = {
    # the flow's row id (the model names the flow), the sort key kept as COALESCE(start_time,
    # created) (see schema.py), and the columns of deployments' scheduled runs, which the
    # store reads and writes as a DeploymentRun (store/sql/deployment_rows.py), never a snapshot
    (FlowRun, "table"): {
        "flow_id",
        "sort_time",
        "expected_start_time",
        "work_pool_name",
        "work_queue_name",
        "claimed_by",
        "claimed_at",
        "auto_scheduled",  # made by a schedule, not by hand: what pausing deletes (0014)
    },
    (FlowRun, "row builder"): {"flow_id", "sort_time"},
    (FlowRun, "API schema"): {"total_run_time"},  # derived, for the API's readers
    (TaskRun, "table"): {"seq"},  # the order task runs were recorded in (see schema.py)
    (TaskRun, "row builder"): {"seq"},
}


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.__name__)
def test_each_codec_declares_each_field(record: type, codec: str) -> None:
    declared = _names(codec, record)
    expected: set[str] = set()
    for name in model_fields(record):
        if name in MISSING_ON_PURPOSE.get((record, codec), set()):
            continue
        expected.update(RENAMED.get((record, name), {}).get(codec, (name,)))
    missing = expected - declared
    assert not missing, f"{codec} of {record.__name__} lacks {sorted(missing)}"
    extra = declared - expected - EXTRA_ON_PURPOSE.get((record, codec), set())
    assert not extra, f"{codec} of {record.__name__} has {sorted(extra)}, not in the model"


# -- round trips -------------------------------------------------------------------------------
_RESULT = ResultRef("file:///tmp/results", "a-result-key", "json")


def sample(record: type, **fixed: Any) -> Any:
    """A `record` with every field set to a value of its own (none left at its default)."""
    values: dict[str, Any] = {}
    for i, (name, annotation) in enumerate(model_fields(record).items(), start=1):
        values[name] = fixed[name] if name in fixed else _value(name, annotation, i)
    return record(**values)


def _value(name: str, annotation: str, i: int) -> Any:
    kind = annotation.removesuffix(" | None")
    if name == "state":
        return State(StateType.COMPLETED, "Cached", "a message", _RESULT, ts=T0 + 0.25)
    if name == "id" or name.endswith("_id"):
        return new_id()
    if kind == "str":
        return f"{name}-{i}"
    if kind == "float":
        return T0 + i + 0.5
    if kind == "int":
        return i + 1
    if kind == "bool":
        return True
    if kind == "dict[str, Any]":
        return {name: [i, "x"]}
    if kind == "list[str]":
        return [f"{name}-{i}", "second"]
    if kind == "StateType":
        return StateType.COMPLETED
    if kind == "Any" and name == "result":
        return _RESULT
    raise AssertionError(f"add a sample value for {name}: {annotation} here")


def assert_same(back: Any, sent: Any, skip: tuple[str, ...] = ()) -> None:
    for name in model_fields(type(sent)):
        if name in skip:
            continue
        got, want = getattr(back, name), getattr(sent, name)
        if isinstance(want, State):
            assert (got.type, got.name, got.message) == (want.type, want.name, want.message)
            assert got.ts == pytest.approx(want.ts, abs=1e-6), name
            _assert_same_result(got.data, want.data)
        elif isinstance(want, ResultRef):
            _assert_same_result(got, want)
        elif isinstance(want, float):
            assert got == pytest.approx(want, abs=1e-6), name
        else:
            assert got == want, name


def _assert_same_result(got: Any, want: Any) -> None:
    assert isinstance(got, ResultRef), "the state's result address was lost"
    assert got.to_json() == want.to_json()


def _records() -> tuple[FlowRun, TaskRun, StateRecord, LogRecord]:
    flow_run = sample(FlowRun)
    task_run = sample(TaskRun, flow_run_id=flow_run.id)
    state = sample(StateRecord, run_id=task_run.id, is_task=True, name="Cached", id=None)
    log = sample(LogRecord, flow_run_id=flow_run.id, task_run_id=task_run.id, level=20, id=None)
    return flow_run, task_run, state, log


def _batch(flow_run: FlowRun, task_run: TaskRun, state: StateRecord, log: LogRecord) -> Batch:
    return Batch(
        flow_runs={flow_run.id: flow_run},
        task_runs={task_run.id: task_run},
        states=[state],
        logs=[log],
    )


def test_round_trip_through_the_database(store_url: str) -> None:
    flow_run, task_run, state, log = _records()
    store = SqlStore(store_url)
    try:
        store.write(_batch(flow_run, task_run, state, log))
        assert_same(store.read_flow_run(flow_run.id), flow_run)
        assert_same(store.read_task_run(task_run.id), task_run)
        assert_same(store.read_states(task_run.id)[-1], state, skip=("id",))
        assert_same(store.read_logs(flow_run.id)[-1], log, skip=("id",))
    finally:
        store.close()


@pytest.mark.parametrize("through_schema", [False, True], ids=["msgspec", "pydantic"])
def test_round_trip_through_a_batch(through_schema: bool) -> None:
    flow_run, task_run, state, log = _records()
    body = encode_batch(_batch(flow_run, task_run, state, log))
    if through_schema:  # the server's fallback: validate with BatchIn, then decode its dump
        body = dumps(schemas.BatchIn.model_validate_json(body).model_dump(mode="json"))
    batch = decode_batch(body)
    assert batch is not None
    assert_same(batch.flow_runs[flow_run.id], flow_run)
    assert_same(batch.task_runs[task_run.id], task_run)
    assert_same(batch.states[0], state, skip=("id",))  # the store numbers appended rows
    assert_same(batch.logs[0], log, skip=("id",))


def test_round_trip_through_the_api_json() -> None:
    flow_run, task_run, state, log = _records()
    state, log = state._replace(id=7), log._replace(id=8)

    def over_http(model: Any) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(model.model_dump_json())
        return decoded

    assert_same(wire.flow_run_from_json(over_http(schemas.FlowRunOut.of(flow_run))), flow_run)
    assert_same(wire.task_run_from_json(over_http(schemas.TaskRunOut.of(task_run))), task_run)
    assert_same(wire.timeline_entry_from_json(over_http(schemas.TimelineEntry.of(state))), state)
    assert_same(wire.log_from_json(over_http(schemas.LogOut.of(log))), log)
