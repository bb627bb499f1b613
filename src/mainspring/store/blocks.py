"""The BlockStore protocol: block types, block documents (with encrypted secrets) and variables.

Apart from `Store` (store/base.py) because its clients are user code loading configuration
(`Block.load`, `Variable.get`), the CLI and the server, never the engine's hot path. `SqlStore`
implements it (store/sql/blocks.py, variables.py); `ApiStore` carries it over the server's
/api routes (store/http/blocks.py; server/api/blocks.py and variables.py).

Secrets: the store encrypts the values of a type's secret fields at rest (store/secrets.py)
and returns them masked (`model.blocks.SECRET_MASK`) unless `include_secrets=True` is asked,
which is what `Block.load` does in the process that will use them. Lists are always masked.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from mainspring.model.blocks import BlockDocument, BlockType, VariableRecord

__all__ = ["BlockStore"]


class BlockStore(ABC):
    """Persistence of blocks and variables (module docstring). Times are epoch seconds."""

    # -- block types -------------------------------------------------------------------------
    @abstractmethod
    def upsert_block_type(self, block_type: BlockType) -> BlockType:
        """Register the type, or replace the description, schema and secret fields of the one
        with its slug (saved documents stay as they are); return it as stored. ValueError for
        a malformed slug or a schema that is not a JSON object."""

    @abstractmethod
    def read_block_type(self, slug: str) -> BlockType:
        """The type with this slug; `ObjectNotFound` if none is registered."""

    @abstractmethod
    def read_block_types(self) -> list[BlockType]:
        """Every registered type, by slug."""

    # -- block documents ---------------------------------------------------------------------
    @abstractmethod
    def save_block_document(
        self, slug: str, name: str, data: dict[str, Any], *, overwrite: bool = False
    ) -> BlockDocument:
        """Save `data` (secrets in the clear) as block `slug/name`; return it masked.

        `ObjectNotFound` for an unregistered type; `BlockDataInvalid` when `data` does not fit
        the type's schema (the message names the field, never a value); ValueError for a
        malformed name; `ObjectAlreadyExists` when the name is taken and `overwrite` is False
        (an overwrite keeps the id and creation time). Secrets are encrypted before they reach
        the database (`EncryptionKeyError` if the key is unusable)."""

    @abstractmethod
    def read_block_document(
        self, slug: str, name: str, *, include_secrets: bool = False
    ) -> BlockDocument:
        """Block `slug/name`, its secrets masked unless `include_secrets`; `ObjectNotFound`
        if there is none; `EncryptionKeyError` when the secrets asked for cannot be
        decrypted with this store's key."""

    @abstractmethod
    def read_block_documents(self, slug: str | None = None) -> list[BlockDocument]:
        """Every block (of type `slug` when given), secrets masked, by slug then name."""

    @abstractmethod
    def delete_block_document(self, slug: str, name: str) -> None:
        """Delete block `slug/name`; `ObjectNotFound` if there is none."""

    # -- variables ---------------------------------------------------------------------------
    @abstractmethod
    def set_variable(
        self,
        name: str,
        value: Any,
        *,
        tags: tuple[str, ...] | list[str] = (),
        overwrite: bool = False,
    ) -> VariableRecord:
        """Set variable `name` to the JSON value `value`; return it as stored. ValueError for
        a malformed name or a value JSON cannot hold; `ObjectAlreadyExists` when it is set and
        `overwrite` is False."""

    @abstractmethod
    def read_variable(self, name: str) -> VariableRecord | None:
        """Variable `name`, or None when it is not set."""

    @abstractmethod
    def read_variables(self) -> list[VariableRecord]:
        """Every variable, by name."""

    @abstractmethod
    def delete_variable(self, name: str) -> bool:
        """Unset variable `name`; whether it was set."""
