"""Hostile input: hypothesis strategies for names, parameters and log text, and the loose
checks of what must come back (issue 10: text stored with a visible replacement, parameters
read back, nothing that breaks a later read).

The checks are deliberately loose about representations: a lone surrogate or a NUL may come
back as U+FFFD or as a visible escape; a huge int as itself or as its decimal string (with or
without a marker); NaN and inf as themselves or as text naming them.
"""

from __future__ import annotations

import math
import os
from typing import Any

from hypothesis import strategies as st

from mainspring.model.text import MAX_DEFINED_NAME

#: Characters and sequences known to trouble a store or a terminal.
SPECIALS = [
    "\x00",
    "\ud800",
    "\udfff",
    os.fsdecode(b"x\xff"),  # a non-UTF-8 file name as Python sees it: a lone surrogate
    "\U0010ffff",
    "\u202e",  # right-to-left override
    "\ufeff",
    "\x1b[31m",
    "\r\n",
    "%s %d {0}",
    "[/]",  # rich markup, which a console printing names unescaped would interpret
    "[link=file:///etc/passwd]x[/link]",
]
DEEP = 1_500  # levels of nesting, past Python's default recursion limit
HUGE = 10**400  # beyond float range: JSON parsers and float() refuse it

hostile_text = st.lists(
    st.one_of(
        st.characters(),
        st.characters(categories=["Cs"]),  # lone surrogates
        st.sampled_from(SPECIALS),
    ),
    max_size=20,
).map("".join)
hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([HUGE, -HUGE, 2**63, 2**64, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)


def deep(levels: int = DEEP) -> list[Any]:
    """A list nested `levels` deep (built without recursion)."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def depth(value: Any) -> int:
    levels = 0
    while isinstance(value, list) and value:
        value, levels = value[0], levels + 1
    return levels + isinstance(value, list)


def storable(text: str) -> bool:
    """Text every store keeps as it is: valid UTF-8 and no NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def visibly_replaced(text: str) -> bool:
    """Stored text that shows where something was replaced: U+FFFD or a backslash escape."""
    return storable(text) and ("\ufffd" in text or "\\" in text)


def text_reads_back(original: str, stored: Any) -> bool:
    if not isinstance(stored, str):
        return False
    if storable(original):
        return stored == original
    return visibly_replaced(stored)


def reads_back(original: Any, stored: Any) -> bool:
    """Whether `stored` is a faithful (or a visibly replaced) reading of `original`."""
    if isinstance(original, bool) or original is None:
        return stored is original or stored == original
    if isinstance(original, int):
        return stored == original or (isinstance(stored, str) and str(original) in stored)
    if isinstance(original, float):
        if math.isnan(original):
            return (isinstance(stored, float) and math.isnan(stored)) or (
                isinstance(stored, str) and "nan" in stored.lower()
            )
        if math.isinf(original):
            return stored == original or (isinstance(stored, str) and "inf" in stored.lower())
        return stored == original
    if isinstance(original, str):
        return text_reads_back(original, stored)
    if isinstance(original, list | tuple):
        if depth(original) >= DEEP:  # too deep to keep as is: kept as something, not lost
            return stored is not None
        return (
            isinstance(stored, list)
            and len(stored) == len(original)
            and all(reads_back(a, b) for a, b in zip(original, stored, strict=True))
        )
    if isinstance(original, dict):
        if not isinstance(stored, dict) or len(stored) != len(original):
            return False
        by_key = dict(stored)
        for key, value in original.items():
            found = [k for k in by_key if text_reads_back(key, k)]
            if not any(reads_back(value, by_key[k]) for k in found):
                return False
        return True
    return stored is not None


def too_long(name: str) -> bool:
    """A name `@flow` refuses: a defined name leaves room for the call index a run adds."""
    return len(name) > MAX_DEFINED_NAME
