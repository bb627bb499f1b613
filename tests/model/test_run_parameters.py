"""run_parameters: a schema jsonschema cannot use is a ValueError naming the flow (the API, the
CLI and the UI's Run form say it), never an unexpected exception (a 500); the check takes what
the flow call takes, no more, no less."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal

import pydantic
import pytest

from mainspring.engine.parameters import Parameters
from mainspring.exceptions import ParameterTypeError
from mainspring.model.run_parameters import check_default_parameters, run_parameters


@pytest.mark.parametrize(
    "prop",
    [
        {"type": "nonsense"},  # an unknown type
        {"$ref": "#/$defs/Nowhere"},  # a reference to nothing
    ],
)
def test_an_unusable_schema_is_a_value_error(prop) -> None:
    schema = {"type": "object", "properties": {"x": prop}}
    with pytest.raises(ValueError, match="parameter schema of flow 'f' is unusable"):
        run_parameters("f", {}, schema, {"x": 1})


def test_a_wrong_value_names_its_parameter() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    with pytest.raises(ParameterTypeError) as caught:
        run_parameters("f", {}, schema, {"n": "x"})
    assert caught.value.parameter == "n"
    with pytest.raises(ValueError, match="'n' is a required property"):
        run_parameters("f", {}, schema, {})
    assert run_parameters("f", {"n": 1}, schema, None) == {"n": 1}


class Rank(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Point(pydantic.BaseModel):
    x: int
    tags: list[float] = []


def shapes(
    n: int,
    ratio: float = 1.0,
    flag: bool = False,
    name: str = "",
    maybe: int | None = None,
    many: list[int] = [],  # noqa: B006
    when: datetime | None = None,
    point: Point | None = None,
    mode: Literal["a", "b"] = "a",
    pair: tuple[int, str] = (1, "a"),
    level: Literal[1, 2] = 1,
    rank: Rank = Rank.LOW,
    ids: set[int] = set(),  # noqa: B006
) -> None: ...


@pytest.mark.parametrize(
    "given",
    [
        {"n": "5"},
        {"n": " 5 "},
        {"n": "5.0"},
        {"n": True},
        {"n": "five"},
        {"n": 5.5},
        {"n": None},
        {"ratio": "2.5"},
        {"ratio": "x"},
        {"flag": "yes"},
        {"flag": "2"},
        {"name": 5},
        {"maybe": "3"},
        {"maybe": "x"},
        {"many": ["1", 2]},
        {"many": ["a"]},
        {"many": "1"},
        {"when": "2024-01-01T00:00:00"},
        {"when": 1_700_000_000},
        {"when": "soon"},
        {"point": {"x": "1", "tags": ["2.5"]}},
        {"point": {"x": "z"}},
        {"mode": "b"},
        {"mode": "c"},
        {"pair": ["1", "x"]},
        {"pair": ["x", "x"]},
        {"level": 2},
        {"level": "2"},  # a Literal compares a text as it is: refused by the call
        {"rank": "2"},  # an IntEnum takes it, as its lax int does
        {"rank": "3"},
        {"ids": [1, "1", 2]},  # a set: equal items are one
        {"ids": [1, "x"]},
    ],
)
def test_the_deploy_time_check_takes_what_the_flow_call_takes(given: dict) -> None:
    """Defaults checked against the flow's JSON schema (a store, a server) are accepted
    exactly when the flow call (engine/parameters.py, pydantic's lax mode) accepts them: "5"
    for an int is taken, "five" refused naming the parameter. They are kept as given."""
    signature = Parameters(shapes, "Flow 'shapes'")
    try:
        signature.validate(given)
        call_takes = True
    except ParameterTypeError:
        call_takes = False
    schema = signature.json_schema()
    if call_takes:
        check_default_parameters("Deployment 'd'", "shapes", given, schema)
        assert run_parameters("shapes", given, schema, {"n": 1} if "n" not in given else None)
        assert run_parameters("shapes", {}, schema, {"n": 1, **given}) == {"n": 1, **given}
    else:
        with pytest.raises(ParameterTypeError) as caught:
            check_default_parameters("Deployment 'd'", "shapes", given, schema)
        assert caught.value.parameter == next(iter(given))
        assert "\n" not in str(caught.value)
        with pytest.raises(ParameterTypeError):
            run_parameters("shapes", {}, schema, {"n": 1, **given})
