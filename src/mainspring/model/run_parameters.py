"""The parameters of a run asked of a deployment: its defaults, overlaid and validated.

A run made by hand (`run_deployment`, `deployment run`, the UI's Run button) gets the
deployment's parameters with the caller's over them, checked against the flow's parameter
schema when the deployment has one, so a wrong argument is refused when asked for, naming the
parameter, not found later by a worker whose run then fails. The check takes what the flow
call would take: values are coerced as the call coerces them before the schema sees them
(model/lax_parameters.py), so "5" for an int passes and "five" does not; the values kept
are the ones given.
"""

from __future__ import annotations

from typing import Any

from mainspring.exceptions import ParameterTypeError

__all__ = ["check_default_parameters", "run_parameters"]


def run_parameters(
    flow_name: str,
    defaults: dict[str, Any],
    schema: dict[str, Any],
    given: dict[str, Any] | None,
) -> dict[str, Any]:
    """`defaults` overlaid by `given`, valid under `schema` (a JSON schema; empty: anything).

    `ParameterTypeError` (a TypeError) names the first parameter that does not fit, or
    `ValueError` for a missing required one or a schema that is itself invalid."""
    if given is not None and not isinstance(given, dict):
        raise TypeError(f"parameters must be a dict, got {given!r}")
    merged = {**defaults, **(given or {})}
    for key in merged:
        if not isinstance(key, str):
            raise TypeError(f"parameter names must be text, got {key!r}")
    _check(f"Flow {flow_name!r}", flow_name, merged, schema, partial=False)
    return merged


def check_default_parameters(
    owner: str, flow_name: str, defaults: dict[str, Any], schema: dict[str, Any]
) -> None:
    """Refuse a deployment's default `parameters` that `schema` rejects, as `run_parameters`
    would refuse them at the first run asked for, but before the deployment is registered.
    A required parameter may be missing: a run may give it (`deployment run --param`).
    `owner` names the deployment in the error."""
    if not isinstance(defaults, dict):
        raise TypeError(f"{owner}: parameters must be a dict, got {defaults!r}")
    _check(owner, flow_name, defaults, schema, partial=True)


def _check(
    owner: str, flow_name: str, values: dict[str, Any], schema: dict[str, Any], *, partial: bool
) -> None:
    """ParameterTypeError naming the first parameter of `values` that does not fit `schema`;
    ValueError for a missing required one (unless `partial`) or an unusable schema."""
    if not schema:
        return
    # imported here: every process opening a SQL store imports this module, and jsonschema
    # (with referencing, attrs and its format checkers) is a large part of a short one's start
    import jsonschema
    import referencing.exceptions

    from mainspring.model.lax_parameters import format_checker, lax_values

    try:
        validator = jsonschema.Draft202012Validator(schema, format_checker=format_checker())
        # coerced first as the flow call would (lax_parameters.py), so "5" for an int passes
        errors = validator.iter_errors(lax_values(values, schema))
        if partial:  # only the top level's "required" is about parameters left out
            errors = (e for e in errors if e.validator != "required" or e.absolute_path)
        error = jsonschema.exceptions.best_match(errors)
    except jsonschema.exceptions.SchemaError as exc:
        raise ValueError(
            f"The parameter schema of flow {flow_name!r} is invalid: {exc.message}"
        ) from None
    except (
        TypeError,
        ValueError,
        RecursionError,
        jsonschema.exceptions.UnknownType,  # {"type": "nonsense"}
        referencing.exceptions.Unresolvable,  # a "$ref" to nowhere
    ) as exc:  # a schema jsonschema chokes on (not checked when stored through Python)
        raise ValueError(f"The parameter schema of flow {flow_name!r} is unusable: {exc}") from None
    if error is None:
        return
    path = [p for p in error.absolute_path]
    if error.validator == "required" or not path:
        raise ValueError(f"{owner}: {error.message}")
    name = str(path[0])
    expected = error.schema.get("type", error.validator) if isinstance(error.schema, dict) else ""
    raise ParameterTypeError(owner, name, str(expected), values.get(name), error.message)
