"""A batch's rows made storable, checked at once per column rather than value by value.

SqlStore writes every batch through here, the edge where text meets the database: NUL
characters and lone surrogates (see model/text.py) become U+FFFD in every text column, raw
or inside JSON (where they arrive escaped, `\\u0000` and `\\udcff`), and a name longer than its
column is refused (`PartRefused`, so that only its record is set aside) on SQLite as on
PostgreSQL, which alone would notice. The common case, nothing to change, costs a few passes
in C per column of a batch (a join, `max(map(len, ...))`, a substring search), not a Python
call per value; only a batch that needs cleaning is cleaned row by row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import chain
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from mainspring.model.text import MAX_NAME, has_unstorable, storable_json, storable_text
from mainspring.store.batch_parts import PartRefused

Row = tuple[Any, ...]
#: what an unstorable character looks like escaped in JSON text (as json and orjson write it)
_ESCAPES = ("\\u0000", "\\ud8", "\\ud9", "\\uda", "\\udb", "\\udc", "\\udd", "\\ude", "\\udf")


class RowCheck:
    """The check of one table's rows in `columns` order (built once per store and table)."""

    def __init__(self, table: sa.Table, columns: tuple[str, ...], dumps: Callable[[Any], str]):
        self._table, self._dumps = table.name, dumps
        types = [table.c[c].type for c in columns]
        self._json = {i for i, t in enumerate(types) if isinstance(t, sa.JSON)}
        strings = {i for i, t in enumerate(types) if isinstance(t, sa.String)}
        self._text = sorted(strings | self._json)
        self._bounded = [
            (i, columns[i], t.length) for i, t in enumerate(types) if i in strings and t.length
        ]
        self._columns = columns
        self._values: Callable[[Row], Any] | None = None
        if len(self._text) > 1:
            self._values = itemgetter(*self._text)

    def __call__(self, rows: list[Row]) -> list[Row]:
        """`rows`, cleaned if any needs it; `PartRefused` if a value exceeds its column."""
        if not rows or not self._text:
            return rows
        for index, column, limit in self._bounded:
            longest = max(map(len, filter(None, map(itemgetter(index), rows))), default=0)
            if longest > limit:
                raise PartRefused(self._too_long(rows, index, column, limit))
        if self._values is None:
            joined = "".join(filter(None, map(itemgetter(self._text[0]), rows)))
        else:
            joined = "".join(filter(None, chain.from_iterable(map(self._values, rows))))
        if not _suspect(joined):
            return rows
        return [self._clean(row) for row in rows]

    def _clean(self, row: Row) -> Row:
        values = list(row)
        for i in self._text:
            value = values[i]
            if not value:
                continue
            if i in self._json:
                if any(escape in value for escape in _ESCAPES):
                    values[i] = self._dumps(storable_json(json.loads(value)))
            elif has_unstorable(value):
                values[i] = storable_text(value)
        return tuple(values)

    def _too_long(self, rows: list[Row], index: int, column: str, limit: int) -> str:
        value = next(v for v in map(itemgetter(index), rows) if v and len(v) > limit)
        return (
            f"{self._table}.{column} is {len(value)} characters long, more than the {limit} "
            f"a store keeps: {value[:40]!r}..."
        )


def _suspect(text: str) -> bool:
    """Whether `text` may hold an unstorable character, raw or escaped in JSON (a false
    alarm, such as a literal backslash-u0000, only costs the precise check)."""
    if "\x00" in text or ("\\u" in text and any(escape in text for escape in _ESCAPES)):
        return True
    return not text.isascii() and has_unstorable(text)


def storable_flow_row(row: dict[str, Any]) -> dict[str, Any]:
    """A flow's row (few per batch: checked one by one) with storable text."""
    name, description = row["name"], row["description"]
    if len(name) > MAX_NAME:
        raise PartRefused(
            f"flow.name is {len(name)} characters long, more than the {MAX_NAME} a store "
            f"keeps: {name[:40]!r}..."
        )
    row["name"] = storable_text(name)
    if description:
        row["description"] = storable_text(description)
    return row
