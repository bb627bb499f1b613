"""Blocks and variables as the store keeps them, and the rules for their secret fields.

A block document is a named, typed set of field values (`data`, plain JSON). Its type
(`BlockType`) names the fields whose values are secret by dotted path (`password`,
`credentials.password`). The store encrypts those values at rest and, unless a reader asks
for them explicitly, shows each as `SECRET_MASK`; a secret dict (headers, say) keeps its keys
and masks each value, so a reader can still see which headers are set. Pure data and
functions: the encryption itself is the store's (store/secrets.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mainspring.model.runs import new_id

#: What a secret value is shown as: in API answers, the CLI, logs and reprs.
SECRET_MASK = "********"

#: A block type's slug and a block's name: lowercase words joined by dashes, as in Prefect.
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_BLOCK_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
#: A variable's name: lowercase letters, digits, underscores and dashes, as in Prefect.
_VARIABLE_NAME = re.compile(r"[a-z0-9_-]+")
MAX_BLOCK_NAME = 255


def check_slug(slug: Any) -> str:
    """`slug` if it is a block type slug, else ValueError saying what one looks like."""
    if not isinstance(slug, str) or len(slug) > MAX_BLOCK_NAME or not _SLUG.fullmatch(slug):
        raise ValueError(
            f"Invalid block type slug {slug!r}: lowercase letters and digits in words joined "
            "by single dashes (e.g. 'slack-webhook'), at most 255 characters"
        )
    return slug


def check_block_name(name: Any) -> str:
    """`name` if it can name a block, else ValueError saying what a name may hold."""
    if not isinstance(name, str) or len(name) > MAX_BLOCK_NAME or not _BLOCK_NAME.fullmatch(name):
        raise ValueError(
            f"Invalid block name {name!r}: lowercase letters, digits and dashes, starting "
            "with a letter or digit, at most 255 characters"
        )
    return name


def check_variable_name(name: Any) -> str:
    """`name` if it can name a variable, else ValueError saying what a name may hold."""
    if (
        not isinstance(name, str)
        or len(name) > MAX_BLOCK_NAME
        or not _VARIABLE_NAME.fullmatch(name)
    ):
        raise ValueError(
            f"Invalid variable name {name!r}: lowercase letters, digits, underscores and "
            "dashes, at most 255 characters"
        )
    return name


def split_block_address(address: str) -> tuple[str, str]:
    """'slug/name' -> (slug, name), each checked; ValueError naming the expected form."""
    slug, sep, name = address.partition("/") if isinstance(address, str) else ("", "", "")
    if not sep:
        raise ValueError(f"Expected a block as 'type-slug/name', got {address!r}")
    return check_slug(slug), check_block_name(name)


@dataclass(frozen=True, slots=True)
class BlockType:
    """A kind of block: its slug, what it is for, the JSON schema of its fields, and the
    dotted paths of its secret fields."""

    slug: str
    name: str
    description: str = ""
    fields_schema: dict[str, Any] = field(default_factory=dict)
    secret_fields: tuple[str, ...] = ()
    created: float | None = None
    updated: float | None = None


@dataclass(frozen=True, slots=True)
class BlockDocument:
    """A saved block: its type's slug, its name and its field values. `data` holds secrets
    in the clear only when read with `include_secrets`; otherwise they are masked."""

    block_type_slug: str
    name: str
    data: dict[str, Any]
    id: str = field(default_factory=new_id)
    created: float | None = None
    updated: float | None = None

    @property
    def address(self) -> str:
        return f"{self.block_type_slug}/{self.name}"


@dataclass(frozen=True, slots=True)
class VariableRecord:
    """A named JSON value (any JSON: text, number, boolean, null, list, object)."""

    name: str
    value: Any
    tags: tuple[str, ...] = ()
    created: float | None = None
    updated: float | None = None


def check_json_value(value: Any, max_depth: int, depth: int = 0) -> None:
    """ValueError unless `value` is made of JSON's types (dicts with text keys, lists, text,
    numbers, booleans, None), nested at most `max_depth` levels."""
    if depth > max_depth:
        raise ValueError(f"A variable's value may nest at most {max_depth} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"A variable's value must be JSON: a key {key!r} is not text")
            check_json_value(item, max_depth, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            check_json_value(item, max_depth, depth + 1)
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise ValueError(
            f"A variable's value must be JSON (text, numbers, booleans, null, lists, objects), "
            f"not {type(value).__name__}"
        )


# -- secret fields ---------------------------------------------------------------------------
def _parts(path: str) -> list[str]:
    return path.split(".")


def _get(data: dict[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = data
    for part in _parts(path):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = _parts(path)
    node = data
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            return  # the path does not exist in this document: nothing to set
        node = child
    node[last] = value


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


def masked(value: Any) -> Any:
    """A secret value as shown: a dict keeps its keys (each value masked), the rest is
    `SECRET_MASK`; None stays None (an optional secret that is not set)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: SECRET_MASK for k in value}
    return SECRET_MASK


def split_secrets(
    data: dict[str, Any], secret_fields: tuple[str, ...] | list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(data with each secret masked, {path: secret value}) for the paths present in `data`."""
    public = _copy(data)
    secrets: dict[str, Any] = {}
    for path in secret_fields:
        found, value = _get(data, path)
        if found and value is not None:
            secrets[path] = value
            _set(public, path, masked(value))
    return public, secrets


def merge_secrets(public: dict[str, Any], secrets: dict[str, Any]) -> dict[str, Any]:
    """`public` with its masked values replaced by the secrets (the inverse of split)."""
    data: dict[str, Any] = _copy(public)
    for path, value in secrets.items():
        _set(data, path, value)
    return data


def mask_secrets(
    data: dict[str, Any], secret_fields: tuple[str, ...] | list[str]
) -> dict[str, Any]:
    """`data` with its secrets masked."""
    return split_secrets(data, secret_fields)[0]
