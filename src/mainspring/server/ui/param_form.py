"""The Run form of a deployment: one field per parameter of the flow's JSON schema.

Simple types get an input a browser understands (text, a number, true/false, a choice of
the schema's `enum`); anything else (lists, dicts, models, unions) a JSON text box. The
form only turns text into values and says which field could not be read; whether the
values fit the flow is decided by the store's `create_deployment_run` (jsonschema, the
same check as the API and the CLI), whose `ParameterTypeError` names the field to mark.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from mainspring.model.deployments import Deployment

#: Form field names are this prefix and the parameter's name (apart from the CSRF field).
PREFIX = "param."
#: Widgets by the schema's `type` (others are JSON text).
SIMPLE = {"string": "text", "integer": "integer", "number": "number", "boolean": "boolean"}


@dataclass(slots=True)
class ParamField:
    name: str
    widget: str  # text, integer, number, boolean, choice, json
    required: bool
    text: str  # what the input shows: the default, or what was sent
    description: str | None = None
    type_label: str = "JSON"
    choices: tuple[str, ...] = ()
    error: str | None = None

    @property
    def input_name(self) -> str:
        return PREFIX + self.name


def _plain_schema(schema: Any) -> dict[str, Any]:
    """The schema of a value that may also be null (`Optional[int]`) as that of the value."""
    if not isinstance(schema, dict):
        return {}
    options = schema.get("anyOf")
    if isinstance(options, list):
        not_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
        if len(not_null) == 1 and len(options) == 2 and isinstance(not_null[0], dict):
            return {**schema, **not_null[0]}
    return schema


def _widget(schema: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
        return "choice", "one of", tuple(enum)
    kind = schema.get("type")
    if isinstance(kind, str) and kind in SIMPLE and "$ref" not in schema:
        return SIMPLE[kind], {"integer": "whole number"}.get(kind, kind), ()
    return "json", "JSON", ()


def _shown(widget: str, value: Any) -> str:
    if value is None and widget != "json":
        return ""
    if widget == "boolean":
        return "true" if value else "false"
    if widget in ("text", "choice") and isinstance(value, str):
        return value
    if widget in ("integer", "number") and isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def form_fields(deployment: Deployment) -> list[ParamField]:
    """The fields of a deployment's Run form, filled with its defaults (the deployment's
    parameters over the schema's defaults). A schema with no properties: one JSON field
    per parameter the deployment sets."""
    schema = deployment.parameter_openapi_schema or {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not properties:
        return [
            ParamField(name, "json", False, json.dumps(value))
            for name, value in deployment.parameters.items()
        ]
    fields = schema_fields(schema, deployment.parameters)
    for field in fields:  # the deployment's value is the default a blank field falls back on
        field.required = field.required and field.name not in deployment.parameters
    return fields


def schema_fields(schema: Any, values: dict[str, Any]) -> list[ParamField]:
    """One field per property of a JSON object `schema`, showing `values` over the schema's
    defaults; required as the schema says. Also the block forms' fields (block_form.py)."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return []
    required = set(schema.get("required") or [])
    fields = []
    for name, raw in properties.items():
        prop = _plain_schema(raw)
        widget, label, choices = _widget(prop)
        has_default = name in values or "default" in prop
        default = values.get(name, prop.get("default"))
        description = prop.get("description")
        fields.append(
            ParamField(
                name=str(name),
                widget=widget,
                required=name in required,
                text=_shown(widget, default) if has_default else "",
                description=description if isinstance(description, str) else None,
                type_label=label,
                choices=choices,
            )
        )
    return fields


def read_form(
    fields: list[ParamField],
    form: dict[str, str],
    required_message: str = "Required: this flow has no default for it.",
) -> dict[str, Any]:
    """The parameters the submitted `form` gives, each field's text kept to show again and
    its `error` set when it cannot be read. An empty field gives nothing (the deployment's
    default then applies), unless it is required."""
    parameters: dict[str, Any] = {}
    for field in fields:
        text = form.get(field.input_name, "")
        field.text = text
        blank = text == "" if field.widget in ("text", "secret") else text.strip() == ""
        if blank:
            if field.required:
                field.error = required_message
            continue
        try:
            parameters[field.name] = _value(field, text)
        except ValueError as exc:
            field.error = str(exc)
    return parameters


def _value(field: ParamField, text: str) -> Any:
    if field.widget in ("text", "secret"):
        return text
    if field.widget == "choice":
        if text not in field.choices:
            raise ValueError(f"Choose one of: {', '.join(field.choices)}.")
        return text
    if field.widget == "boolean":
        if text not in ("true", "false"):
            raise ValueError("Choose true or false.")
        return text == "true"
    if field.widget == "integer":
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"{text.strip()!r} is not a whole number.") from None
    if field.widget == "number":
        try:
            number = float(text.strip())
        except ValueError:
            raise ValueError(f"{text.strip()!r} is not a number.") from None
        if not math.isfinite(number):
            raise ValueError("Give a finite number.")
        return int(number) if number.is_integer() and "." not in text else number
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise ValueError(f"Not valid JSON: {exc}.") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")
