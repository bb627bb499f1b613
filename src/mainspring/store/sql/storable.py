"""A batch's rows made storable, checked at once per column rather than value by value.

SqlStore writes every batch through here, the edge where text meets the database: NUL
characters and lone surrogates (see model/text.py) become U+FFFD in every text column, raw
or inside JSON (where they arrive escaped, `\\u0000` and `\\udcff`), and a name longer than its
column is refused (`PartRefused`, so that only its record is set aside) on SQLite as on
PostgreSQL, which alone would notice. The common case, nothing to change, costs a pass in C
per text column of a batch (see `RowCheck`) and a substring search, not a Python call per
value; only a batch that needs cleaning is cleaned row by row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa

from mainspring.model.text import MAX_NAME, has_unstorable, storable_json, storable_text
from mainspring.store.batch_parts import PartRefused
from mainspring.store.sql.schema_types import is_json

Row = tuple[Any, ...]
#: what an unstorable character looks like escaped in JSON text (as json and orjson write it)
_ESCAPES = ("\\u0000", "\\ud8", "\\ud9", "\\uda", "\\udb", "\\udc", "\\udd", "\\ude", "\\udf")


#: Columns whose values the engine mints (ids, state types, edge kinds) and the API validates
#: (ID_PATTERN, enums): neither long nor unstorable, so not scanned.
_MINTED = {"id", "run_id", "flow_id", "flow_run_id", "task_run_id", "upstream_id",
           "parent_flow_run_id", "parent_task_run_id", "deployment_id", "state_type", "type",
           "kind"}  # fmt: skip


class RowCheck:
    """The check of one table's rows in `columns` order (built once per store and table).

    Each text column's values are gathered into a set in C (`set(map(itemgetter(i), rows))`):
    names repeat (a state name, a logger, a task name), so the lengths are measured and the
    characters scanned once per distinct value. A third of the cost of measuring every value.
    """

    def __init__(self, table: sa.Table, columns: tuple[str, ...]):
        self._table, self._columns = table.name, columns
        self._json: set[int] = set()
        #: (index, getter, size limit or 0) of each text column worth scanning
        self._text: list[tuple[int, Callable[[Row], Any], int]] = []
        for i, name in enumerate(columns):
            column = table.c[name]
            if name in _MINTED or not (isinstance(column.type, sa.String) or is_json(column.type)):
                continue
            if is_json(column.type):
                self._json.add(i)
            limit = getattr(column.type, "length", None) or 0
            self._text.append((i, itemgetter(i), limit))

    def __call__(self, rows: list[Row]) -> list[Row]:
        """`rows`, cleaned if any needs it; `PartRefused` if a value exceeds its column."""
        if not rows or not self._text:
            return rows
        distinct: list[set[str]] = []
        for i, get, limit in self._text:
            values = set(map(get, rows))
            values.discard(None)
            if limit and values and max(map(len, values)) > limit:
                raise PartRefused(self._too_long(rows, i, limit))
            distinct.append(values)
        if not _suspect("".join(chain.from_iterable(distinct))):
            return rows
        return [self._clean(row) for row in rows]

    def _clean(self, row: Row) -> Row:
        values = list(row)
        for i, *_ in self._text:
            value = values[i]
            if not value:
                continue
            if i in self._json:
                if any(escape in value for escape in _ESCAPES):
                    values[i] = _json_text(storable_json(json.loads(value)))
            elif has_unstorable(value):
                values[i] = storable_text(value)
        return tuple(values)

    def _too_long(self, rows: list[Row], index: int, limit: int) -> str:
        value = next(r[index] for r in rows if r[index] and len(r[index]) > limit)
        return (
            f"{self._table}.{self._columns[index]} is {len(value)} characters long, more than "
            f"the {limit} a store keeps: {value[:40]!r}..."
        )


class RowChecks:
    """A store's `RowCheck` of each table, made on first use: `checks(table, columns)`."""

    def __init__(self) -> None:
        self._checks: dict[str, RowCheck] = {}

    def __call__(self, table: sa.Table, columns: tuple[str, ...]) -> RowCheck:
        check = self._checks.get(table.name)
        if check is None:
            check = self._checks[table.name] = RowCheck(table, columns)
        return check


def _json_text(value: Any) -> str:
    """JSON text of a column value that is already in store/json_values.py's form (a big int
    is a tagged object by now), written as it is: the codec's `dumps` would take such a tag for
    a user's dict that looks like one and wrap it again, and it would read back as the tag."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


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
