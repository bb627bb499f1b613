"""Parameters JSON cannot carry (10**400, NaN, infinities) read back as they were; values JSON
has no type for are stored as their natural JSON form; no stored row can make a read fail."""

from __future__ import annotations

import enum
import math
from pathlib import Path

import pytest
import sqlalchemy as sa

from mainspring.model import FlowRun, new_id
from mainspring.model.states import Completed
from mainspring.store import Batch, json_values
from mainspring.store.sql import SqlStore

from .conftest import make_flow_run


class Color(enum.Enum):
    RED = "red"


def test_paths_enums_and_unknown_objects_survive_a_round_trip(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'h.db'}")
    params = {"out": Path("/data/out"), "color": Color.RED, "blob": object(), "big": 2**70}
    run = FlowRun(new_id(), "r", "f", Completed(), parameters=params)
    run.created = run.state.ts
    store.write(Batch(flow_runs={run.id: run}))
    stored = store.read_flow_run(run.id).parameters
    assert stored["out"] == "/data/out"
    assert stored["color"] == "red"
    assert stored["blob"].startswith("<object object at")
    assert stored["big"] == 2**70
    store.close()


#: What JSON alone cannot carry, and a user's dict that looks like the codec's tag.
AWKWARD = {
    "huge": 10**400,
    "negative": -(10**30),
    "just_beyond_int64": 2**70 + 1,  # a double would read it back as 2**70
    "uint64": 2**64 - 1,
    "longer_than_decimal_str": 10**5000,  # past Python's 4300 decimal digits
    "nan": math.nan,
    "inf": math.inf,
    "minus_inf": -math.inf,
    "in_a_list": [1, math.inf, {"x": 10**40}],
    "lookalike": {"__mainspring__": "int", "value": "5"},
    "none": None,
}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def test_the_codec_reads_back_what_json_cannot_carry() -> None:
    text = json_values.dumps(AWKWARD)
    assert "NaN" not in text and "Infinity" not in text  # valid JSON for every reader
    assert _same(json_values.loads(text), AWKWARD)
    assert _same(json_values.decode(json_values.encode(AWKWARD), strict=True), AWKWARD)
    assert json_values.encode({"n": 10**400})["n"] == {
        "__mainspring__": "int",
        "value": "1" + "0" * 400,
    }


def test_nesting_past_the_limit_is_recorded_as_a_note_and_refused_from_outside() -> None:
    deep: list[object] = []
    inner = deep
    for _ in range(json_values.MAX_DEPTH + 50):
        inner.append([])
        inner = inner[0]  # type: ignore[assignment]
    encoded = json_values.encode({"d": deep})
    level = encoded["d"]
    for _ in range(json_values.MAX_DEPTH - 2):
        level = level[0]
    assert level == [json_values.TOO_DEEP]
    cycle: list[object] = []
    cycle.append(cycle)
    assert json_values.TOO_DEEP in json_values.dumps(cycle)
    with pytest.raises(ValueError, match=r"parameters\.d\[0\].*nested deeper than 100"):
        json_values.decode({"d": deep}, strict=True, where="parameters")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"x": math.nan}, r"parameters\.x: NaN and infinities"),
        ({"x": [math.inf]}, r"parameters\.x\[0\]: NaN and infinities"),
        ({"x": {"__mainspring__": "int", "value": "12a"}}, r"parameters\.x: an object with"),
        ({"x": {"__mainspring__": "float", "value": "1.5"}}, r"parameters\.x: an object with"),
        ({"x": {"__mainspring__": "int"}}, r"parameters\.x: an object with"),
    ],
)
def test_strict_decoding_names_what_is_wrong(value: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        json_values.decode(value, strict=True, where="parameters")


def test_awkward_parameters_read_back_from_the_store(store: SqlStore) -> None:
    run = make_flow_run(parameters=AWKWARD)
    store.write(Batch(flow_runs={run.id: run}))
    assert _same(store.read_flow_run(run.id).parameters, AWKWARD)
    listed = store.read_flow_runs()
    assert [r.id for r in listed] == [run.id] and _same(listed[0].parameters, AWKWARD)


@pytest.mark.parametrize(
    "planted",
    [
        '{"n": 1' + "0" * 400 + "}",  # what the old code wrote for f(10**400)
        '{"n": -' + "9" * 5000 + "}",  # past Python's decimal digit limit
        '{"n": {"__mainspring__": "int", "value": "oops"}}',  # a malformed tag
    ],
)
def test_a_row_written_by_older_code_never_fails_a_read(store: SqlStore, planted: str) -> None:
    run = make_flow_run(parameters={"n": 1})
    store.write(Batch(flow_runs={run.id: run}))
    engine = store.engine()
    value = "CAST(:p AS jsonb)" if engine.dialect.name == "postgresql" else ":p"
    with engine.begin() as conn:  # as an older version (or another writer) left it
        update = f"UPDATE flow_run SET parameters = {value} WHERE id = :id"
        conn.execute(sa.text(update), {"p": planted, "id": run.id})
    got = store.read_flow_run(run.id).parameters
    assert list(got) == ["n"]
    if "0" * 400 in planted:
        assert got["n"] == 10**400
    assert [r.id for r in store.read_flow_runs()] == [run.id]


def test_text_json_cannot_encode_as_utf8_never_fails_the_codec() -> None:
    """A lone surrogate (an undecodable file name) beside a NaN: written escaped, read back."""
    value = {"path": "x\udcff", "x": math.nan, "tags": ["\udcff"]}
    assert _same(json_values.loads(json_values.dumps(value)), value)
    assert _same(json_values.loads(json_values.dumps(["\udcff"])), ["\udcff"])
