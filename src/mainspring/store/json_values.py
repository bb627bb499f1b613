"""JSON for values JSON cannot carry faithfully: the one codec of parameters, everywhere.

A flow's parameters are the user's values. JSON text can spell an integer of any size, but
the readers on the way (orjson, msgspec, JavaScript, a double) cannot all read one beyond 64
bits back, and JSON has no NaN or infinity at all (orjson writes them as null). So such values
travel and are stored as small tagged objects, read back as the very value:

    10**400        -> {"__mainspring__": "int", "value": "1000...0"}   (hex "0x..." past the
                      4300 digits Python converts to decimal)
    float("nan")   -> {"__mainspring__": "float", "value": "nan"}     ("inf", "-inf" alike)
    {"__mainspring__": 1} (a user's dict that looks like a tag)
                   -> {"__mainspring__": "dict", "value": {"__mainspring__": 1}}

Nesting is bounded (MAX_DEPTH): every JSON parser has a recursion limit, and one level past it
in a stored row would make that row unreadable. The same form is used by SqlStore (the JSON
text in the database), the wire codec (batches the client sends), and the server's answers.

- `encode` (anything -> plain JSON types, tagged where needed) never fails: what JSON has no
  type for is converted as pydantic would, else its repr; nesting past MAX_DEPTH is replaced
  by a note saying so.
- `decode` (tagged form -> values) is strict for input from outside (`strict=True`: a malformed
  tag, a NaN or nesting past MAX_DEPTH raises `ValueError` naming where), lenient for rows read
  back (a malformed tag stays as it is).
- `dumps`/`loads` are the JSON text of a database column; `loads` never fails on a stored row,
  including rows written before this codec (a bare 10**400, a NaN spelled `NaN`).
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

#: The key of a tagged value; a tagged value has exactly this key and "value".
MARKER = "__mainspring__"
#: Deepest nesting of a value (a parameter dict is level 1): well inside every parser's limit
#: (orjson writes 255 levels, pydantic reads ~250 with the body around them).
MAX_DEPTH = 100
#: Integers carried as JSON numbers: the range of int64 and uint64, which orjson and msgspec
#: read back exactly (and which orjson writes: anything beyond makes it raise).
MIN_INT, MAX_INT = -(2**63), 2**64 - 1
TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels: not recorded>"

_OPTIONS = orjson.OPT_NON_STR_KEYS
_ORJSON_DEPTH = 254  # the deepest nesting orjson writes
_MARKER_BYTES = f'"{MARKER}"'.encode()
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def json_default(value: Any) -> Any:
    """Values JSON has no type for, converted as pydantic would (a Path or an Enum becomes its
    value, a dataclass or model a dict); what even that cannot convert becomes its repr: a
    parameter the engine could not make JSON-safe must not cost a whole batch."""
    from pydantic_core import to_jsonable_python

    try:
        return to_jsonable_python(value)
    except Exception:
        try:
            return repr(value)
        except Exception:  # a repr that fails (an int of 5000 digits has none)
            return f"<{type(value).__name__} object>"


# -- values -> JSON ----------------------------------------------------------------------------
def encode(value: Any) -> Any:
    """`value` as plain JSON types (dict, list, str, int within int64/uint64, finite float,
    bool, None), tagged where JSON cannot carry it; never fails."""
    data = _fast_dumps(value)
    if data is not None:
        return orjson.loads(data)
    return _encode(value, 0)


def dumps(value: Any) -> str:
    """`encode(value)` as JSON text, for a database column."""
    if _flat_and_plain(value):  # tags, a result's address: one per run written, so cheap
        try:
            return orjson.dumps(value, option=_OPTIONS).decode()
        except TypeError:  # text with a lone surrogate: the general way says what to do
            pass
    data = _fast_dumps(value)
    if data is not None:
        return data.decode()
    encoded = _encode(value, 0)
    try:
        return orjson.dumps(encoded, option=_OPTIONS).decode()
    except TypeError:  # a lone surrogate: escaped as before; whether a database takes it is
        return json.dumps(encoded)  # for the text sanitizing at the edge to settle


_PLAIN = frozenset({str, bool, type(None)})


def _flat_and_plain(value: Any) -> bool:
    """A small list or dict of text, booleans, None, integers in range and finite floats: JSON
    as it is, no tag and no nesting to check."""
    if type(value) is dict:
        if len(value) > 32 or MARKER in value:
            return False
        items: Any = value.values()
    elif type(value) is list:
        if len(value) > 32:
            return False
        items = value
    else:
        return False
    for item in items:
        kind = type(item)
        if kind in _PLAIN or (kind is int and MIN_INT <= item <= MAX_INT):
            continue
        if kind is float and item - item == 0.0:  # finite (inf - inf and NaN are NaN)
            continue
        return False
    return True


def _fast_dumps(value: Any) -> bytes | None:
    """orjson's text for `value` when nothing in it needs a tag or a cut, else None. orjson
    refuses an int beyond 64 bits, nesting past 254 levels and text with lone surrogates
    (TypeError), and writes NaN and infinities as null: any "null" sends the value the slow
    way. Fewer brackets than MAX_DEPTH cannot nest deeper; with more, orjson itself checks."""
    try:
        data = orjson.dumps(value, default=json_default, option=_OPTIONS)
    except TypeError:
        return None
    if b"null" in data or _MARKER_BYTES in data:
        return None
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and not _within_depth(value):
        return None
    return data


def _within_depth(value: Any) -> bool:
    """Whether `value` nests at most MAX_DEPTH levels: wrapped in enough arrays that orjson's
    own limit (254 levels) falls at MAX_DEPTH, orjson refuses it otherwise."""
    wrapped = value
    for _ in range(_ORJSON_DEPTH - MAX_DEPTH):
        wrapped = (wrapped,)
    try:
        orjson.dumps(wrapped, default=json_default, option=_OPTIONS)
    except TypeError:
        return False
    return True


def _encode(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if MIN_INT <= value <= MAX_INT else _tag_int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {MARKER: "float", "value": "nan" if math.isnan(value) else str(value)}
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return TOO_DEEP
        items = {_key(k): _encode(v, depth + 1) for k, v in value.items()}
        return {MARKER: "dict", "value": items} if MARKER in items else items
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return TOO_DEEP
        return [_encode(v, depth + 1) for v in value]
    converted = json_default(value)  # JSON types only from here on
    return _encode(converted, depth) if converted is not value else repr(value)


def _tag_int(value: int) -> dict[str, str]:
    try:
        text = str(value)
    except ValueError:  # past sys.get_int_max_str_digits(): hex has no such limit
        text = hex(value)
    return {MARKER: "int", "value": text}


def _key(key: Any) -> str:
    """A key as orjson's OPT_NON_STR_KEYS writes it."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return json.dumps(key)
    if isinstance(key, int | float):
        return _tag_int(key)["value"] if isinstance(key, int) else repr(key)
    converted = json_default(key)
    return converted if isinstance(converted, str) else repr(key)


# -- JSON -> values ----------------------------------------------------------------------------
def decode(value: Any, *, strict: bool = False, where: str = "") -> Any:
    """The values of `encode`'s output. Strict (input from outside): a malformed tag, a NaN or
    infinity not in a tag, or nesting past MAX_DEPTH raises ValueError saying where (`where`
    names `value` itself, e.g. "parameters"). Lenient: those stay as they are."""
    return _decode(value, strict, 0, where)


def _decode(value: Any, strict: bool, depth: int, where: str) -> Any:
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return _too_deep(value, strict, where)
        if MARKER in value:
            return _untag(value, strict, depth, where)
        return {
            k: _decode(v, strict, depth + 1, f"{where}.{k}" if strict else "")
            for k, v in value.items()
        }
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            return _too_deep(value, strict, where)
        if not strict:
            return [_decode(v, strict, depth + 1, "") for v in value]
        return [_decode(v, strict, depth + 1, f"{where}[{i}]") for i, v in enumerate(value)]
    if strict and isinstance(value, float) and not math.isfinite(value):
        raise ValueError(
            f"{where or 'value'}: NaN and infinities (or numbers beyond a double, like 1e400) "
            f'are not JSON; send {{"{MARKER}": "float", "value": "nan"}} (or "inf", "-inf")'
        )
    return value


def _too_deep(value: Any, strict: bool, where: str) -> Any:
    if strict:
        raise ValueError(f"{where or 'value'}: nested deeper than {MAX_DEPTH} levels")
    return value


def _untag(value: dict[str, Any], strict: bool, depth: int, where: str) -> Any:
    kind, inner = value.get(MARKER), value.get("value")
    if len(value) == 2 and "value" in value:
        if kind == "int" and isinstance(inner, str):
            try:
                return int(inner, 0)  # decimal, or hex past the decimal digit limit
            except ValueError:
                pass
        elif kind == "float" and inner in _FLOATS:
            return _FLOATS[inner]
        elif kind == "dict" and isinstance(inner, dict):
            return {
                k: _decode(v, strict, depth + 1, f"{where}.{k}" if strict else "")
                for k, v in inner.items()
            }
    if strict:
        raise ValueError(
            f"{where or 'value'}: an object with the key {MARKER!r} must be a tagged value: "
            f'{{"{MARKER}": "int", "value": "<digits>"}}, {{"{MARKER}": "float", "value": '
            f'"nan"|"inf"|"-inf"}} or {{"{MARKER}": "dict", "value": {{...}}}}'
        )
    return value


def loads(text: str | bytes | bytearray | memoryview) -> Any:
    """A stored column's JSON as values; never fails on a stored row. Rows written before this
    codec may hold a bare integer beyond 64 bits or a NaN (stdlib json reads both); text even
    that cannot read (nesting past its recursion limit) comes back as the text itself."""
    if isinstance(text, memoryview):
        text = text.tobytes()
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _lenient_loads(text)
    if isinstance(text, str):
        if MARKER not in text:
            return value
    elif _MARKER_BYTES not in text:
        return value
    return _decode(value, False, 0, "")


def _lenient_loads(text: str | bytes | bytearray) -> Any:
    try:
        value = json.loads(text, parse_int=_lenient_int)
    except (ValueError, RecursionError):
        return text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
    return _decode(value, False, 0, "")


def _lenient_int(digits: str) -> int | str:
    """An integer of a stored row; one past the digits Python converts (a hostile row) stays
    text rather than cost quadratic time or fail the read."""
    try:
        return int(digits)
    except ValueError:
        return digits
