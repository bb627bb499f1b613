"""Variables: named JSON values kept in the store (embedded or a server's), for settings that
change without a code change (a batch size, a list of regions). As in Prefect 3:
`Variable.set(name, value, overwrite=...)`, `Variable.get(name, default=...)`,
`Variable.unset(name)`; their async forms `aget`, `aset`, `aunset`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, Field

from mainspring.model.blocks import VariableRecord, check_variable_name

__all__ = ["Variable"]


def _store() -> Any:
    from mainspring.store import get_store
    from mainspring.store.blocks import BlockStore

    store = get_store()
    if not isinstance(store, BlockStore):
        raise TypeError(f"The store in use ({store!r}) keeps no variables")
    return store


class Variable(BaseModel):
    """A variable as stored: its name, its JSON value and its tags."""

    name: str = Field(description="Lowercase letters, digits, underscores and dashes.")
    value: Any = Field(description="Any JSON value.")
    tags: list[str] = Field(default_factory=list)

    @classmethod
    def _of(cls, record: VariableRecord) -> Variable:
        return cls(name=record.name, value=record.value, tags=list(record.tags))

    @classmethod
    def set(
        cls, name: str, value: Any, tags: list[str] | None = None, overwrite: bool = False
    ) -> Variable:
        """Set variable `name` to `value` (JSON: text, numbers, booleans, null, lists,
        objects); `ObjectAlreadyExists` when it is set and `overwrite` is False."""
        check_variable_name(name)
        record = _store().set_variable(name, value, tags=tags or [], overwrite=overwrite)
        return cls._of(record)

    @classmethod
    def get(cls, name: str, default: Any = None) -> Any:
        """The value of variable `name`, or `default` when it is not set."""
        check_variable_name(name)
        record = _store().read_variable(name)
        return default if record is None else record.value

    @classmethod
    def unset(cls, name: str) -> bool:
        """Unset variable `name`; whether it was set."""
        check_variable_name(name)
        return bool(_store().delete_variable(name))

    @classmethod
    async def aset(
        cls, name: str, value: Any, tags: list[str] | None = None, overwrite: bool = False
    ) -> Variable:
        return await asyncio.to_thread(cls.set, name, value, tags, overwrite)

    @classmethod
    async def aget(cls, name: str, default: Any = None) -> Any:
        return await asyncio.to_thread(cls.get, name, default)

    @classmethod
    async def aunset(cls, name: str) -> bool:
        return await asyncio.to_thread(cls.unset, name)
