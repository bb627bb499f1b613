"""Flow parameters: bound to the signature, validated and coerced from type hints."""

from __future__ import annotations

from datetime import date

import pydantic
import pytest

from mainspring import ParameterBindError, ParameterTypeError, flow
from mainspring.model import StateType

from .support import flow_runs_of, log_messages, only_flow_run, timeline


class Point(pydantic.BaseModel):
    x: int
    y: int = 0


def test_string_is_coerced_to_int(store):
    @flow
    def compute(n: int):
        return n * 2

    assert compute("21") == 42
    assert only_flow_run(store, "compute").parameters == {"n": 21}


def test_dict_becomes_a_pydantic_model_and_string_a_date():
    @flow
    def place(p: Point, day: date):
        return p, day

    p, day = place({"x": "3"}, "2026-11-25")
    assert p == Point(x=3, y=0)
    assert day == date(2026, 11, 25)


def test_defaults_and_keywords_are_bound(store):
    @flow
    def defaults(a: int, b: int = 5, *, c: str = "z"):
        return a, b, c

    assert defaults(1, c="q") == (1, 5, "q")
    assert only_flow_run(store, "defaults").parameters == {"a": 1, "b": 5, "c": "q"}


def test_values_of_the_right_type_pass_through_untouched():
    sentinel = [1, 2]

    @flow
    def same(items: list):
        return items

    assert same(sentinel) is sentinel


def test_bad_value_raises_parameter_type_error_and_records_a_failed_run(store):
    @flow
    def compute(n: int):
        raise AssertionError("must not run")

    with pytest.raises(ParameterTypeError) as caught:
        compute("many")
    error = caught.value
    assert error.parameter == "n" and error.expected == "int" and error.value == "many"
    message = str(error)
    assert "Flow 'compute' parameter 'n' expects int, got 'many' (str)" in message

    run = only_flow_run(store, "compute")
    assert run.state.type is StateType.FAILED
    assert run.state.message == message
    assert run.run_count == 0
    assert timeline(store, run.id) == ["Pending", "Failed"]
    assert f"Validation of flow parameters failed: {message}" in log_messages(store, run.id)


def test_bad_value_with_return_state_gives_the_failed_state():
    @flow
    def compute(n: int):
        return n

    state = compute("many", return_state=True)
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), ParameterTypeError)


def test_invalid_model_names_the_parameter():
    @flow
    def place(p: Point):
        return p

    with pytest.raises(ParameterTypeError, match=r"parameter 'p' expects Point"):
        place({"y": 1})


def test_validate_parameters_false_passes_values_as_given():
    @flow(validate_parameters=False)
    def loose(n: int):
        return n

    assert loose("21") == "21"


def test_missing_argument_raises_bind_error_before_any_run(store):
    @flow
    def needs(a, b):
        return a

    with pytest.raises(ParameterBindError, match=r"Flow 'needs'.*missing a required argument: 'b'"):
        needs(1)
    assert flow_runs_of(store, "needs") == []


def test_unknown_and_extra_arguments_raise_bind_error():
    @flow
    def one(a):
        return a

    with pytest.raises(ParameterBindError, match="unexpected keyword argument 'zz'"):
        one(1, zz=2)
    with pytest.raises(ParameterBindError, match="too many positional arguments"):
        one(1, 2)


def test_bind_error_is_a_type_error_for_existing_except_clauses():
    @flow
    def one(a):
        return a

    with pytest.raises(TypeError):
        one()


def test_run_name_template_formats_the_validated_values(store):
    @flow(flow_run_name="{name}-on-{day:%A}")
    def report(name: str, day: date):
        return day

    assert report("sales", "2026-11-25") == date(2026, 11, 25)
    assert only_flow_run(store, "report").name == "sales-on-Wednesday"


def test_bad_value_is_reported_even_when_the_name_template_cannot_format_it(store):
    @flow(flow_run_name="on-{day:%A}")
    def report(day: date):
        return day

    with pytest.raises(ParameterTypeError, match="parameter 'day' expects date"):
        report("not a date")
    assert only_flow_run(store, "report").state.is_failed()


def test_name_template_that_cannot_format_a_value_is_a_clear_error():
    from mainspring import MainspringError

    @flow(flow_run_name="on-{day:%A}", validate_parameters=False)
    def report(day):
        return day

    with pytest.raises(MainspringError, match=r"Run name template 'on-\{day:%A\}' cannot format"):
        report("a string")


def test_positional_only_var_positional_and_var_keyword_parameters(store):
    from mainspring import task

    @flow
    def varied(a, /, b: int, *rest, c: int = 1, **extra):
        return a, b, rest, c, extra

    @task
    def summed(first, *more):
        return first + sum(more)

    @flow
    def uses_task():
        return summed(1, 2, 3), summed.submit(4, 5).result()

    assert varied(1, "2", 3, 4, c="5", z=6) == (1, 2, (3, 4), 5, {"z": 6})
    run = only_flow_run(store, "varied")
    assert run.parameters["b"] == 2 and run.parameters["c"] == 5
    assert uses_task() == (6, 9)


class Inner(pydantic.BaseModel):
    a: int


class Outer(pydantic.BaseModel):
    inner: Inner


def test_the_schema_of_a_nested_model_parameter_validates_values() -> None:
    """pydantic puts a nested model's definitions beside the parameter, but its "$ref" points
    at the root: they are moved there, so a deployment's runs can be validated (before, every
    run asked of it failed: the reference pointed nowhere)."""
    import jsonschema

    from mainspring.model.run_parameters import run_parameters

    @flow
    def uses_models(o: Outer, n: int = 1) -> None: ...

    schema = uses_models.parameters.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "Inner" in schema["$defs"] and "$defs" not in schema["properties"]["o"]
    assert run_parameters("f", {}, schema, {"o": {"inner": {"a": 1}}}) == {"o": {"inner": {"a": 1}}}
    with pytest.raises(ParameterTypeError) as caught:
        run_parameters("f", {}, schema, {"o": {"inner": {"a": "x"}}})
    assert caught.value.parameter == "o"
