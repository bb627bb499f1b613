"""Text no database keeps (NUL, lone surrogates) is stored with U+FFFD in its place, on SQLite
and PostgreSQL alike; names are held to the same limits on both (issue 10, defect 1)."""

from __future__ import annotations

import os

from mainspring.model import FlowRecord, LogRecord, State, StateRecord, StateType
from mainspring.model.text import (
    MAX_NAME,
    MAX_STATE_NAME,
    has_unstorable,
    storable_json,
    storable_text,
)
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore
from mainspring.store.sql.schema import flow, flow_run, log, state_history, task_run

from .conftest import T0, make_flow_run, make_task_run

SURROGATE = os.fsdecode(b"x\xff")  # what a file name that is not UTF-8 decodes to: "x\udcff"
R = "\ufffd"


def test_storable_text_replaces_nul_and_surrogates_only() -> None:
    assert SURROGATE == "x\udcff" and has_unstorable(SURROGATE) and has_unstorable("a\x00")
    assert storable_text(f"a\x00b {SURROGATE} é 😀") == f"a{R}b x{R} é 😀"
    assert not has_unstorable("é 😀 \\u0000")  # a backslash-u text is not a NUL
    assert storable_json({"k\x00": ["\udcff", 1, None, {"x": "ok"}]}) == {
        f"k{R}": [R, 1, None, {"x": "ok"}]
    }


def test_text_with_nul_and_lone_surrogates_is_stored_visibly_replaced(store: SqlStore) -> None:
    """Every kind of text a batch carries: log lines and logger names, run and flow names,
    tags, state messages, parameters (keys and values, in JSON). On the old code SQLite and
    PostgreSQL refused the whole batch (UnicodeEncodeError; PostgreSQL also NUL)."""
    bad = f"a\x00b {SURROGATE}"
    clean = f"a{R}b x{R}"
    run = make_flow_run(
        flow_name=f"flow {SURROGATE}",
        name=f"run {bad}",
        parameters={f"key {bad}": [bad, {"nested": bad}], "n": 1},
        tags=[bad],
        state=State(StateType.FAILED, message=f"failed: {bad}", ts=T0),
    )
    task = make_task_run(run.id, "t-0", name=f"task {bad}", tags=[bad])
    batch = Batch(
        flows={run.flow_name: FlowRecord(name=run.flow_name, description=bad)},
        flow_runs={run.id: run},
        task_runs={task.id: task},
        states=[StateRecord(run.id, False, StateType.FAILED, "Failed", bad, T0)],
        logs=[
            LogRecord(run.id, None, 20, f"logger {bad}", f"file {SURROGATE}", T0),
            LogRecord(run.id, None, 20, "l", f"nul {bad}", T0 + 1),
            LogRecord(run.id, None, 20, "l", "plain é", T0 + 2),
        ],
    )
    assert store.write(batch) is True

    got = store.read_flow_run(run.id)
    assert got.flow_name == f"flow x{R}" and got.name == f"run {clean}"
    assert got.parameters == {f"key {clean}": [clean, {"nested": clean}], "n": 1}
    assert got.tags == [clean] and got.state.message == f"failed: {clean}"
    assert [f.description for f in store.read_flows()] == [clean]
    (task_got,) = store.read_task_runs(run.id)
    assert task_got.name == f"task {clean}" and task_got.tags == [clean]
    assert [s.message for s in store.read_states(run.id)] == [clean]
    logs = store.read_logs(run.id)
    assert [(r.logger, r.message) for r in logs] == [
        (f"logger {clean}", f"file x{R}"),
        ("l", f"nul {clean}"),
        ("l", "plain é"),
    ]


def test_a_literal_backslash_u0000_is_kept_as_written(store: SqlStore) -> None:
    """What looks like an escaped NUL in JSON text but is a backslash written by the user
    stays as it is (the cheap check only sends it to the precise one)."""
    text = "\\u0000 and \\udcff"
    run = make_flow_run(parameters={"p": text}, tags=[text])
    store.write(Batch(flow_runs={run.id: run}, logs=[LogRecord(run.id, None, 20, "l", text, T0)]))
    got = store.read_flow_run(run.id)
    assert got.parameters == {"p": text} and got.tags == [text]
    assert store.read_logs(run.id)[0].message == text


def test_tagged_values_in_parameters_that_need_cleaning_read_back_as_values(
    store: SqlStore,
) -> None:
    """Parameters with both unstorable text and values JSON cannot carry (stored tagged, see
    store/json_values.py): cleaning the text must not tag the tags again. On the old code the
    cleaning re-encoded the column with the codec, which took each tag for a user's dict that
    looks like one, and `-2**64` read back as {'__mainspring__': 'int', ...} (found by the
    chaos suite, tests/chaos/test_hostile_python_api.py)."""
    huge, marker_dict = -15199605329007587328, {"__mainspring__": 1}
    parameters = {
        "x": [None, [[], [huge, 4.39, 10**400, float("inf")]]],
        "d": marker_dict,
        f"text {SURROGATE}": f"a\x00b {SURROGATE}",
    }
    run = make_flow_run(parameters=parameters)
    store.write(Batch(flow_runs={run.id: run}))
    assert store.read_flow_run(run.id).parameters == {
        "x": [None, [[], [huge, 4.39, 10**400, float("inf")]]],
        "d": marker_dict,
        f"text x{R}": f"a{R}b x{R}",
    }


def test_the_stores_name_limits_are_the_models() -> None:
    """One set of limits: every name column of the schema is as long as model/text.py says
    (PostgreSQL enforces the column, SQLite the store's own check of the same number)."""
    names = [
        flow.c.name,
        flow_run.c.name,
        flow_run.c.flow_name,
        flow_run.c.flow_version,
        flow_run.c.subflow_key,
        task_run.c.name,
        task_run.c.task_name,
        task_run.c.task_key,
        task_run.c.dynamic_key,
        task_run.c.cache_key,
        log.c.logger,
    ]
    assert {column.type.length for column in names} == {MAX_NAME}
    assert state_history.c.name.type.length == MAX_STATE_NAME
    assert flow_run.c.state_name.type.length == MAX_STATE_NAME
