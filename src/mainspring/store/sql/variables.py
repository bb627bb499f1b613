"""SqlVariables: variables in SQL (the variable half of BlockStore, store/blocks.py), mixed
into SqlStore. A value is any JSON document, kept as JSON (null included)."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.exceptions import ObjectAlreadyExists
from mainspring.model.blocks import VariableRecord, check_json_value, check_variable_name
from mainspring.model.text import check_name, storable_json
from mainspring.store import json_values
from mainspring.store.sql.schema import variable

if TYPE_CHECKING:
    from mainspring.store.sql.dialect import SqlBackend


def json_value(value: Any) -> Any:
    """`value` as stored: checked to be JSON; what JSON text cannot carry (an integer past 64
    bits, NaN) in the store's tagged form (store/json_values.py), text made storable."""
    check_json_value(value, json_values.MAX_DEPTH)
    return storable_json(json_values.encode(value))


def _record(row: Any) -> VariableRecord:
    return VariableRecord(
        name=row.name,
        value=json_values.decode(row.value),
        tags=tuple(row.tags),
        created=row.created,
        updated=row.updated,
    )


class SqlVariables:
    if TYPE_CHECKING:
        _backend: SqlBackend

        def _transaction(self, what: str) -> AbstractContextManager[sa.Connection]: ...

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    def set_variable(
        self,
        name: str,
        value: Any,
        *,
        tags: tuple[str, ...] | list[str] = (),
        overwrite: bool = False,
    ) -> VariableRecord:
        check_variable_name(name)
        for tag in tags:
            check_name("A variable's tag", tag)
        stored = json_value(value)
        now = time.time()
        v = variable.c
        with self._transaction("set a variable") as conn:
            insert = (
                self._backend.insert(variable)
                .values(name=name, value=stored, tags=list(tags), created=now, updated=now)
                .on_conflict_do_nothing()
                .returning(v.name)
            )
            if conn.execute(insert).first() is None:
                if not overwrite:
                    raise ObjectAlreadyExists(
                        f"Variable {name!r} is set already; set it with overwrite=True to "
                        "replace its value"
                    )
                conn.execute(
                    sa.update(variable)
                    .where(v.name == name)
                    .values(value=stored, tags=list(tags), updated=now)
                )
            row = conn.execute(sa.select(variable).where(v.name == name)).one()
        return _record(row)

    def read_variable(self, name: str) -> VariableRecord | None:
        with self._read() as conn:
            row = conn.execute(sa.select(variable).where(variable.c.name == name)).first()
        return None if row is None else _record(row)

    def read_variables(self) -> list[VariableRecord]:
        with self._read() as conn:
            return [_record(r) for r in conn.execute(sa.select(variable).order_by("name"))]

    def delete_variable(self, name: str) -> bool:
        with self._transaction("unset a variable") as conn:
            deleted = conn.execute(sa.delete(variable).where(variable.c.name == name))
            return bool(deleted.rowcount)
