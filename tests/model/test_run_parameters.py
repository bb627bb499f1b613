"""run_parameters: a schema jsonschema cannot use is a ValueError naming the flow (the API, the
CLI and the UI's Run form say it), never an unexpected exception (a 500)."""

from __future__ import annotations

import pytest

from mainspring.exceptions import ParameterTypeError
from mainspring.model.run_parameters import run_parameters


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
