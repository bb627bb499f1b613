"""Parameters: bind call arguments to a signature, then validate and coerce them from type hints.

Validation uses pydantic, but only where it is needed: a value that already is an instance of a
plain annotated class (an `int` for `n: int`) is accepted with one isinstance check, so the
common case never builds a pydantic validator. Anything else (`"21"` for `n: int`, a dict for a
model, `list[int]`) goes through a cached `TypeAdapter` in pydantic's lax mode.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import typing
from collections.abc import Callable
from typing import Any

from mainspring.exceptions import ParameterBindError, ParameterTypeError

_EMPTY = inspect.Parameter.empty
_ANY_ANNOTATIONS = (_EMPTY, Any, object)


class Parameters:
    """The signature of a flow or task function, able to bind and validate a call's arguments."""

    def __init__(self, fn: Callable[..., Any], owner: str) -> None:
        self.owner = owner  # "Flow 'etl'": how error messages name the function
        self.signature = inspect.signature(fn)
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception:  # unresolvable forward references: validate what we can
            hints = {}
        self.annotations: dict[str, Any] = {}
        for name, param in self.signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            annotation = hints.get(name, param.annotation)
            if annotation not in _ANY_ANNOTATIONS and not isinstance(annotation, str):
                self.annotations[name] = annotation
        self._adapters: dict[str, Any] = {}
        self.has_var_positional = any(
            p.kind is p.VAR_POSITIONAL for p in self.signature.parameters.values()
        )

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Map the call's arguments to parameter names, defaults filled in."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ParameterBindError(f"{self.owner}: {exc}") from None
        bound.apply_defaults()
        return dict(bound.arguments)

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Coerce each annotated parameter to its type; raise ParameterTypeError naming it."""
        validated = parameters
        for name, annotation in self.annotations.items():
            if name not in parameters:
                continue
            value = parameters[name]
            if type(annotation) is type and type(value) is annotation:
                continue
            adapter = self._adapter(name, annotation)
            if adapter is None:
                continue
            from pydantic import ValidationError  # lazy: pydantic

            try:
                coerced = adapter.validate_python(value)
            except ValidationError as exc:
                detail = "; ".join(e["msg"] for e in exc.errors())
                raise ParameterTypeError(
                    self.owner, name, _type_name(annotation), value, detail
                ) from None
            if coerced is not value:
                if validated is parameters:
                    validated = dict(parameters)
                validated[name] = coerced
        return validated

    def call_args(self, parameters: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Turn bound parameters back into positional and keyword arguments for the call."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        # before a *args, parameters must go by position, or *args' values would collide
        by_position = self.has_var_positional
        for name, param in self.signature.parameters.items():
            if name not in parameters:
                by_position = False  # after a gap, position no longer tells which is which
                continue
            value = parameters[name]
            if param.kind is param.VAR_POSITIONAL:
                args.extend(value)
            elif param.kind is param.VAR_KEYWORD:
                kwargs.update(value)
            elif param.kind is param.POSITIONAL_ONLY or (
                by_position and param.kind is param.POSITIONAL_OR_KEYWORD
            ):
                args.append(value)
            else:
                kwargs[name] = value
        return args, kwargs

    def _adapter(self, name: str, annotation: Any) -> Any:
        if name not in self._adapters:
            from pydantic import ConfigDict, TypeAdapter  # lazy: pydantic

            try:
                adapter = TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
            except Exception:
                try:
                    adapter = TypeAdapter(annotation)
                except Exception:  # a type pydantic cannot validate: accept values as given
                    adapter = None
            self._adapters[name] = adapter
        return self._adapters[name]

    def json_schema(self) -> dict[str, Any]:
        """A JSON schema of the parameters (for forms and the API); unknown types are open."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        definitions: dict[str, Any] = {}
        for name, param in self.signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            schema: dict[str, Any] = {"title": name}
            annotation = self.annotations.get(name)
            adapter = self._adapter(name, annotation) if annotation is not None else None
            if adapter is not None:
                with contextlib.suppress(Exception):
                    schema.update(adapter.json_schema())
            if param.default is _EMPTY:
                required.append(name)
            else:
                try:
                    json.dumps(param.default)
                    schema["default"] = param.default
                except TypeError:
                    pass
            _hoist_definitions(schema, definitions)
            properties[name] = schema
        result: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        if definitions:
            result["$defs"] = definitions
        return result


def _hoist_definitions(schema: dict[str, Any], definitions: dict[str, Any]) -> None:
    """Move a parameter's `$defs` (pydantic puts a nested model's there) to the root, where
    its `"$ref": "#/$defs/Name"` points: left in the parameter, no validator can resolve it.
    A name another parameter defined differently stays (that parameter stays unresolvable)."""
    own = schema.get("$defs")
    if not isinstance(own, dict):
        return
    if any(name in definitions and definitions[name] != d for name, d in own.items()):
        return
    definitions.update(schema.pop("$defs"))


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
