"""Parameters coerced to a flow's JSON schema as the flow call would coerce them.

A flow call validates its arguments with pydantic in lax mode (engine/parameters.py): "5" for
an `int` parameter becomes 5, "yes" for a `bool` True, a tuple for a `list` a list. Where only
the flow's JSON schema is known (a store registering a deployment, a server, a run asked for by
hand), a strict JSON-schema check refused those values although the run would have taken them.
So values are first coerced here, node by node of the schema, with pydantic's own lax
validation of the type the node stands for, and only then checked against the schema: what the
call would refuse (a word for an `int`, a number for a `str`) is still refused, and what it
would take is taken. The values stored stay as given; only the check sees the coerced copy.

Covered: `type` (and the `format`s pydantic gives dates, times, UUIDs and durations), objects'
`properties`/`additionalProperties`, arrays' `items`/`prefixItems`, `anyOf`/`oneOf` (the first
branch that fits, as given or coerced), `allOf`, and local `$ref`s (`#/$defs/...`). Anything
else is left to the schema check as it is.
"""

from __future__ import annotations

import datetime
import uuid
from functools import cache
from typing import Any

__all__ = ["format_checker", "lax_values"]

#: The Python type pydantic validates for a JSON-schema `type` (and, for strings, `format`).
_TYPES: dict[str, type] = {
    "integer": int,
    "number": float,
    "boolean": bool,
    "string": str,
    "array": list,
    "object": dict,
}
_FORMATS: dict[str, type] = {
    "date-time": datetime.datetime,
    "date": datetime.date,
    "time": datetime.time,
    "uuid": uuid.UUID,
    "duration": datetime.timedelta,
}
#: How deep a schema is followed (a recursive `$ref` stops here; the schema check decides).
_DEPTH = 32
_NO = object()


def lax_values(values: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `values` with each one coerced to its property of `schema` where the flow
    call would coerce it (module docstring); a value it would refuse is left as given."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return dict(values)
    return {
        name: _lax(value, properties[name], schema, 0, _names_a_class(properties[name], name))
        if name in properties
        else value
        for name, value in values.items()
    }


def _names_a_class(node: Any, parameter: str) -> bool:
    """Whether a parameter's own node is a class's schema (an Enum, which pydantic puts inline
    only at the top, titled by the class), not a Literal's (titled by the parameter)."""
    return isinstance(node, dict) and node.get("title", parameter) != parameter


def _lax(value: Any, node: Any, root: dict[str, Any], depth: int, named: bool = False) -> Any:
    """`named`: `node` is a `$ref`'s definition, as pydantic gives an Enum class."""
    if not isinstance(node, dict) or depth > _DEPTH:
        return value
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = _resolve(ref, root)
        return value if target is None else _lax(value, target, root, depth + 1, named=True)
    if not named and ("enum" in node or "const" in node) and isinstance(value, str):
        # a Literal (inline; an Enum class is a $ref): pydantic compares a text as it is,
        # so "1" is no Literal[1] (while an IntEnum takes it, as its lax int does)
        return value
    for key in ("anyOf", "oneOf"):
        branches = node.get(key)
        if isinstance(branches, list):
            return _first_fitting(value, branches, root, depth)
    every = node.get("allOf")
    if isinstance(every, list) and len(every) == 1:
        return _lax(value, every[0], root, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        return _first_fitting(value, [{**node, "type": k} for k in kind], root, depth)
    if not isinstance(kind, str):
        return value
    coerced = _coerce(value, kind, node.get("format"))
    if coerced is _NO:
        return value
    if kind == "object" and isinstance(coerced, dict):
        return _lax_object(coerced, node, root, depth)
    if kind == "array" and isinstance(coerced, list):
        return _lax_array(coerced, node, root, depth)
    return coerced


def _first_fitting(value: Any, branches: list[Any], root: dict[str, Any], depth: int) -> Any:
    """The value as the first branch takes it: as given if one fits it so (pydantic's smart
    unions keep an exact match), else coerced by the first branch it then fits."""
    for branch in branches:
        if _fits(value, branch, root):
            return value
    for branch in branches:
        coerced = _lax(value, branch, root, depth + 1)
        if coerced is not value and _fits(coerced, branch, root):
            return coerced
    return value


def _lax_object(
    value: dict[Any, Any], node: dict[str, Any], root: dict[str, Any], depth: int
) -> Any:
    properties = node.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    extra = node.get("additionalProperties")
    out = {}
    for key, item in value.items():
        sub = properties.get(key, extra if isinstance(extra, dict) else None)
        out[key] = item if sub is None else _lax(item, sub, root, depth + 1)
    return out


def _lax_array(value: list[Any], node: dict[str, Any], root: dict[str, Any], depth: int) -> Any:
    prefix = node.get("prefixItems")
    prefix = prefix if isinstance(prefix, list) else []
    items = node.get("items")
    out: list[Any] = []
    for i, item in enumerate(value):
        sub = prefix[i] if i < len(prefix) else items
        item = _lax(item, sub, root, depth + 1) if isinstance(sub, dict) else item
        if node.get("uniqueItems") is True and item in out:
            continue  # a set: pydantic keeps one of equal items ([1, "1"] is {1})
        out.append(item)
    return out


def _coerce(value: Any, kind: str, format_: Any) -> Any:
    """`value` as pydantic's lax mode takes it for the node's type, in its JSON form (a date
    as its ISO text); `_NO` when pydantic refuses it, or the type is not one of ours."""
    if kind == "null":
        return None if value is None else _NO
    target = _FORMATS.get(format_) if kind == "string" and isinstance(format_, str) else None
    target = target or _TYPES.get(kind)
    if target is None:
        return _NO
    if type(value) is target and target not in (list, dict):
        return value
    from pydantic import ValidationError  # lazy: pydantic, only when a schema is checked

    adapter = _adapter(target)
    try:
        coerced = adapter.validate_python(value)
    except (ValidationError, TypeError, ValueError):
        return _NO
    return adapter.dump_python(coerced, mode="json") if target in _FORMATS.values() else coerced


@cache
def format_checker() -> Any:
    """A jsonschema FormatChecker for the `format`s of `_FORMATS`, asserting them as the
    flow call would (pydantic: "soon" is no date-time, "2024-01-01T09:00" is one, without
    the zone RFC 3339 asks for); other formats are not asserted, as by default."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, target in _FORMATS.items():
        checker.checks(name)(_pydantic_takes(target))
    return checker


def _pydantic_takes(target: type) -> Any:
    def takes(instance: Any) -> bool:
        from pydantic import ValidationError

        try:
            _adapter(target).validate_python(instance)
        except (ValidationError, TypeError, ValueError):
            return False
        return True

    return takes


@cache
def _adapter(target: type) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(target)


def _resolve(ref: str, root: dict[str, Any]) -> Any:
    """A local `$ref` (`#/$defs/Name`, `#/definitions/Name`, ...); None when not one."""
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _fits(value: Any, node: Any, root: dict[str, Any]) -> bool:
    """Whether `value` is valid under `node` as it is (its `$ref`s resolved in `root`)."""
    import jsonschema

    if not isinstance(node, dict):
        return True
    # the branch alone, with the root's definitions its `$ref`s point into
    shared = {k: root[k] for k in ("$defs", "definitions") if k in root and k not in node}
    try:
        return bool(jsonschema.Draft202012Validator({**node, **shared}).is_valid(value))
    except Exception:  # an unusable branch: the schema check says so
        return False
