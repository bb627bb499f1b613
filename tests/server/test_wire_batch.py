"""The fast batch decoder (store/http/wire_batch.py) against the schema it stands in for: whatever
it accepts the schema accepts, with the same records; the rest is left to the schema."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mainspring.model import (
    FlowRecord,
    FlowRun,
    LogRecord,
    State,
    StateRecord,
    StateType,
    TaskRun,
    TaskRunEdge,
    new_id,
)
from mainspring.server.schemas import BatchIn
from mainspring.store.base import Batch
from mainspring.store.http import wire
from mainspring.store.http.wire import MAX_TIME, MIN_TIME
from mainspring.store.http.wire_batch import decode_batch, encode_batch
from mainspring.store.results.storage import ResultRef

T0 = 1_700_000_000.123456


def canonical(body: dict[str, Any]) -> Batch | None:
    """What the server stores for `body` when the fast path declines it: the schema reads
    the JSON the server receives (where orjson wrote an infinite float as null), not `body`."""
    received = BatchIn.model_validate_json(orjson.dumps(body))
    return decode_batch(wire.dumps(received.model_dump(mode="json")))


def fields(batch: Batch) -> dict[str, Any]:
    def plain(r: Any) -> Any:
        if isinstance(r, FlowRun | TaskRun):
            values = {k: getattr(r, k) for k in r.__dataclass_fields__}
            values["state"] = (
                r.state.type,
                r.state.name,
                r.state.message,
                r.state.ts,
                ref(r.state),
            )
            return values
        if isinstance(r, StateRecord):
            return r._replace(result=ref(r))
        if isinstance(r, FlowRecord):
            return (r.name, r.description, r.created)  # the id is the server's to give
        return r

    def ref(holder: Any) -> Any:
        value = getattr(holder, "data", getattr(holder, "result", None))
        return value.to_json() if isinstance(value, ResultRef) else value

    return {
        "flows": {k: plain(v) for k, v in batch.flows.items()},
        "flow_runs": {k: plain(v) for k, v in batch.flow_runs.items()},
        "task_runs": {k: plain(v) for k, v in batch.task_runs.items()},
        "states": [plain(s) for s in batch.states],
        "logs": batch.logs,
        "edges": batch.edges,
        "id": batch.id,
    }


def test_what_clients_send_decodes_to_the_records_sent() -> None:
    run = FlowRun(
        new_id(),
        "brave-otter",
        "etl",
        State(StateType.FAILED, "TimedOut", "late", ts=T0),
        parameters={"p": [1, {"x": None}]},
        tags=["a"],
        created=T0,
        start_time=T0,
        heartbeat=T0 + 1,
        subflow_key="etl-3",
        host="host-a",
        pid=4242,
        process_start=T0 - 5,
        entrypoint="/home/me/flows/etl.py:etl",
    )
    ref = ResultRef("/home/me/.mainspring/results", "flow-runs/r/tasks/t-0", "cloudpickle")
    task = TaskRun(new_id(), "t-0", "t", "t-0", State(StateType.COMPLETED, data=ref, ts=T0), run.id)
    batch = Batch(
        flows={"etl": FlowRecord("etl", description="d", created=T0)},
        flow_runs={run.id: run},
        task_runs={task.id: task},
        states=[
            StateRecord(task.id, True, StateType.RUNNING, "Running", None, T0),
            StateRecord(task.id, True, StateType.COMPLETED, "Completed", None, T0, None, ref),
        ],
        logs=[LogRecord(run.id, task.id, 20, "l", "hello", T0)],
        edges=[TaskRunEdge(run.id, task.id, new_id(), "wait")],
        id="a" * 32 + ":1",
    )
    body = encode_batch(batch)
    decoded = decode_batch(body)
    assert decoded is not None
    assert fields(decoded) == fields(batch)  # T0 has whole microseconds: exact
    assert fields(decoded) == fields(canonical(orjson.loads(body)))  # type: ignore[arg-type]


LOG = {"level": 20, "logger": "l", "message": "m", "timestamp": 1714564800.0}


@pytest.mark.parametrize(
    "log",
    [
        {**LOG, "level": 20.0},  # lax numbers
        {**LOG, "timestamp": 1714564800},  # an integer time
        {**LOG, "timestamp": "2024-05-01T12:00:00Z"},  # ISO text, as older clients send
        {**LOG, "timestamp": "2024-05-01T12:00:00.000000Z"},
        {**LOG, "timestamp": "2024-05-01 12:00:00"},  # a space, no zone: UTC
        {**LOG, "timestamp": "2024-05-01T14:00:00+02:00"},
        {**LOG, "timestamp": "2024-05-01T12:00:00.5Z"},
    ],
)
def test_valid_but_not_canonical_bodies_go_through_the_schema(log: dict[str, Any]) -> None:
    body = {"logs": [log]}
    decoded = decode_batch(orjson.dumps(body))
    via_schema = canonical(body)
    assert via_schema is not None
    if decoded is not None:  # taken by the fast path: then with the same records
        assert fields(decoded) == fields(via_schema)
    assert via_schema.logs[0].ts in (1714564800.0, 1714564800.5)


@pytest.mark.parametrize(
    "body",
    [
        b"\x80",
        b"[]",
        b'{"extra": 1}',
        b'{"id": "no spaces"}',
        orjson.dumps({"logs": [{**LOG, "level": 101}]}),
        orjson.dumps({"logs": [{**LOG, "message": "nul\x00"}]}),
        orjson.dumps({"logs": [{**LOG, "logger": ""}]}),
        orjson.dumps({"logs": [{**LOG, "timestamp": "2024-05-01"}]}),
        orjson.dumps({"logs": [{**LOG, "timestamp": "1714564800"}]}),  # a number in text
        orjson.dumps({"logs": [{**LOG, "timestamp": True}]}),
        orjson.dumps({"logs": [{**LOG, "timestamp": None}]}),
        orjson.dumps({"logs": [{**LOG, "timestamp": MAX_TIME + 0.5}]}),
        orjson.dumps({"logs": [{**LOG, "timestamp": MIN_TIME - 1}]}),
        orjson.dumps({"logs": [{**LOG, "timestamp": 1e300}]}),
        # in range as text, past the last time the API can show once converted
        orjson.dumps({"logs": [{**LOG, "timestamp": "9999-12-31T23:59:59.5Z"}]}),
        # canonical lengths that fromisoformat takes but the schema does not: a week date, a
        # time without its colons
        orjson.dumps({"logs": [{**LOG, "timestamp": "2024-W18-3T12:00:00.000000Z"}]}),
        orjson.dumps({"logs": [{**LOG, "timestamp": "2024-W18-3T12:00:00Z"}]}),
        orjson.dumps({"logs": [{**LOG, "timestamp": "2024-05-01T120000.5Z"}]}),
        orjson.dumps({"logs": [{**LOG, "flow_run_id": "x" * 37}]}),
        orjson.dumps({"edges": [{"task_run_id": "a", "upstream_id": "b", "kind": "other"}]}),
        orjson.dumps({"states": [{"run_id": "a", "is_task": "?", "state": {"type": "PENDING"}}]}),
        orjson.dumps(
            {
                "states": [
                    {"run_id": "a", "is_task": True, "state": {"type": "RUNNING", "name": "Cached"}}
                ]
            }
        ),
    ],
)
def test_invalid_bodies_are_left_to_the_schema(body: bytes) -> None:
    assert decode_batch(body) is None
    with pytest.raises(ValidationError):
        BatchIn.model_validate_json(body)


texts = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", "a", "x" * 36, "x" * 37, "a\nb", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123456Z"]
)
times = st.floats(MIN_TIME - 10, MAX_TIME + 10) | st.sampled_from(
    [MIN_TIME, MAX_TIME, MAX_TIME + 0.25, 0, -0.0, 2**53, "9999-12-31T23:59:59Z"]
)
values = (
    texts | st.integers(-5, 200) | st.none() | st.booleans() | st.floats(allow_nan=False) | times
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "flow_run_id": values,
            "task_run_id": values,
            "level": values,
            "logger": values,
            "message": values,
            "timestamp": values,
        },
    ),
    st.fixed_dictionaries({}, optional={"run_id": values, "is_task": values, "kind": values}),
)
def test_whatever_the_fast_path_takes_the_schema_takes_alike(log: dict, other: dict) -> None:
    edge = {"task_run_id": other.get("run_id"), "upstream_id": "u", "kind": other.get("kind")}
    state = {"run_id": other.get("run_id"), "is_task": other.get("is_task"), "state": log}
    for body in ({"logs": [log]}, {"edges": [edge]}, {"states": [state]}):
        decoded = decode_batch(orjson.dumps(body))
        if decoded is None:
            continue
        if body.get("states"):  # a state without a timestamp is stamped on arrival
            continue
        assert fields(decoded) == fields(canonical(body))  # type: ignore[arg-type]


keys = texts | st.sampled_from(
    ["a/b", "..", "../a", "a/../b", "a/..", ".x", "..x", ".", "a/./b", "a/", "/a", "a//b", "a\\b"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {}, optional={"storage": texts | st.none(), "key": keys, "serializer": values}
    )
)
def test_result_addresses_are_taken_alike_or_left_to_the_schema(result: dict) -> None:
    state = {"type": "COMPLETED", "timestamp": "2024-05-01T12:00:00Z"}
    run = {"id": "r", "name": "n", "task_name": "t", "task_key": "t-0", "state": state}
    record = {"run_id": "r", "is_task": True, "state": state}
    for body in (
        {"task_runs": [{**run, "state_result": result}]},
        {"states": [{**record, "result": result}]},
    ):
        decoded = decode_batch(orjson.dumps(body))
        if decoded is None:
            continue
        assert fields(decoded) == fields(canonical(body))  # type: ignore[arg-type]
        (ref,) = [t.state.data for t in decoded.task_runs.values()] or [
            s.result for s in decoded.states
        ]
        assert ".." not in ref.key.split("/") and "" not in ref.key.split("/")


@pytest.mark.parametrize(
    "result",
    [
        {"storage": "/r", "key": "../escape"},
        {"storage": "/r", "key": "a/../../escape"},
        {"storage": "/r", "key": "/absolute"},
        {"storage": "/r", "key": ""},
        {"storage": "", "key": "k"},
        {"storage": "/r\x00", "key": "k"},
        {"storage": "/r", "key": "k", "extra": 1},
        {"key": "k"},
    ],
)
def test_a_result_address_outside_its_storage_is_refused(result: dict) -> None:
    body = orjson.dumps(
        {
            "states": [
                {"run_id": "a", "is_task": True, "state": {"type": "COMPLETED"}, "result": result}
            ]
        }
    )
    assert decode_batch(body) is None
    with pytest.raises(ValidationError):
        BatchIn.model_validate_json(body)


@pytest.mark.parametrize("ts", [MIN_TIME, MAX_TIME, 0, -1.5, 1714564800, 1714564800.123456])
def test_times_in_range_are_taken_as_the_numbers_sent(ts: float) -> None:
    body = {"logs": [{**LOG, "timestamp": ts}]}
    decoded = decode_batch(orjson.dumps(body))
    assert decoded is not None and decoded.logs[0].ts == ts
    assert fields(decoded) == fields(canonical(body))  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            key: values
            for key in (
                "flow_run_id",
                "dynamic_key",
                "tags",
                "cache_key",
                "created",
                "start_time",
                "end_time",
                "run_count",
            )
        },
    ),
    st.fixed_dictionaries({}, optional={"message": values, "timestamp": values, "name": values}),
)
def test_task_runs_are_taken_alike_or_left_to_the_schema(optional: dict, state: dict) -> None:
    run = {"id": "r", "name": "n", "task_name": "t", "task_key": "t-0", **optional}
    body = {"task_runs": [{**run, "state": {"type": "RUNNING", **state}}]}
    sent = orjson.dumps(body)
    decoded = decode_batch(sent)
    # none, as the server receives it (orjson sends inf and nan as null): stamped on arrival,
    # by each side at its own moment
    if decoded is None or orjson.loads(sent)["task_runs"][0]["state"].get("timestamp") is None:
        return
    assert fields(decoded) == fields(canonical(body))  # type: ignore[arg-type]


def stored(body: bytes) -> Batch:
    """What the server stores for `body`: the fast path, else the schema's canonical form."""
    decoded = decode_batch(body)
    if decoded is None:
        decoded = decode_batch(
            wire.dumps(BatchIn.model_validate_json(body).model_dump(mode="json"))
        )
    assert decoded is not None
    return decoded


def test_what_msgspec_cannot_encode_goes_the_careful_way() -> None:
    when = datetime(2024, 5, 1, tzinfo=UTC)
    params = {"out": Path("/data"), "blob": object(), "big": 2**70, "when": when, 3: "int key"}
    run = FlowRun(new_id(), "r", "f", State(StateType.RUNNING, ts=T0), parameters=params)
    lines = ["nul\x00 here", "lone \ud800 surrogate", "plain"]
    logs = [LogRecord(run.id, None, 20, "l", m, T0) for m in lines]
    for batch in (Batch(flow_runs={run.id: run}), Batch(logs=logs[:1]), Batch(logs=logs)):
        got = stored(encode_batch(batch))
        if batch.flow_runs:
            parameters = got.flow_runs[run.id].parameters
            assert parameters["out"] == "/data" and parameters["big"] == 2**70
            assert parameters["blob"].startswith("<object object at")
            assert parameters["when"] == "2024-05-01T00:00:00Z" and parameters["3"] == "int key"
        else:
            expected = ["nul\ufffd here", "lone \ufffd surrogate", "plain"][: len(batch.logs)]
            assert [r.message for r in got.logs] == expected


@settings(max_examples=500, deadline=None)
@given(st.floats(MIN_TIME, MAX_TIME) | st.floats(1.6e9, 2.0e9))
def test_times_are_sent_at_the_microsecond_and_read_back_unchanged(ts: float) -> None:
    sent = decode_batch(encode_batch(Batch(logs=[LogRecord(None, None, 20, "l", "m", ts)])))
    assert sent is not None
    (line,) = sent.logs
    assert abs(line.ts - ts) <= 0.5e-6 + abs(ts) * 2**-52  # the nearest microsecond, or next
    shown = datetime.fromtimestamp(line.ts, UTC)  # how the server's answers show it
    assert shown.timestamp() == line.ts
