"""Where in a body the JSON parser gave up: so a 422 for unreadable JSON names the field.

Nesting past the parser's recursion limit (~250 levels for pydantic's), a number no double or
Python int can hold, or a syntax error cannot be parsed at all, so no validator ever sees the
field it is in: the parser only says at which line and column it gave up. Scanning the body's
tokens up to there gives the path to it (`flow_runs[0].parameters.x`). This runs only for
such a body, never on the normal path.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from mainspring.store.json_values import MAX_DEPTH

_AT = re.compile(r"line (\d+) column (\d+)")

#: A JSON string (escapes included) or one structural character.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},:]', re.DOTALL)
#: Path elements a 422 shows: where the nesting started matters, not its thousandth level.
_SHOWN = 8


def located(error: dict[str, Any], body: bytes) -> dict[str, Any]:
    """`error` (pydantic's, for `body`), located at the field the parser gave up in when it
    is an error of the JSON text itself (nesting too deep: said so)."""
    message = error.get("msg", "")
    at = _AT.search(message) if error.get("type") == "json_invalid" else None
    if at is None:
        return error
    line, column = int(at[1]), int(at[2])
    start = 0
    for _ in range(line - 1):
        start = body.find(b"\n", start) + 1
    loc = ("body", *_path_at(body, start + column)[:_SHOWN])
    if "recursion limit" not in message:
        return {**error, "loc": loc}
    return {
        "type": "too_deep",
        "loc": loc,
        "msg": f"nested too deep to read (values nest at most {MAX_DEPTH} levels)",
        "input": None,
    }


def _path_at(body: bytes, end: int) -> list[str | int]:
    """The keys and indexes leading to character `end` of `body`."""
    path: list[str | int | None] = []  # None: in an object, before its first key
    last = b'""'
    for match in _TOKEN.finditer(body, 0, end):
        token = match.group()
        first = token[:1]
        if first == b"{":
            path.append(None)
        elif first == b"[":
            path.append(0)
        elif first in (b"}", b"]"):
            if path:
                path.pop()
        elif first == b",":
            if path and isinstance(path[-1], int):
                path[-1] += 1
        elif first == b":":
            if path:
                path[-1] = _key(last)
        else:
            last = token
    return [p for p in path if p is not None]


def _key(token: bytes) -> str:
    try:
        key = orjson.loads(token)
    except orjson.JSONDecodeError:
        key = token[1:-1].decode("utf-8", "replace")
    return str(key)[:200]
