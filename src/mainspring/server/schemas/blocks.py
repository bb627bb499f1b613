"""Bodies of /api/block_types, /api/block_documents and /api/variables.

Block data is free JSON checked by the store against the block type's own schema (a 422
naming the field); secrets in it arrive in the clear (over an authenticated connection) and
leave masked unless `include_secrets=true` is asked for one block.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mainspring.model.blocks import BlockDocument, BlockType, VariableRecord
from mainspring.server.schemas.common import Name
from mainspring.store import json_values

#: A block type's slug, a block's name, a variable's name, as the model checks them.
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
BLOCK_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
VARIABLE_NAME_PATTERN = r"^[a-z0-9_-]+$"


def _time(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class BlockTypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name
    description: str = Field("", max_length=100_000)
    fields_schema: dict[str, Any] = Field(description="The JSON schema of the block's fields.")
    secret_fields: list[Name] = Field(
        default_factory=list, max_length=1000, description="Dotted paths of secret fields."
    )


class BlockTypeOut(BaseModel):
    slug: str
    name: str
    description: str
    fields_schema: dict[str, Any]
    secret_fields: list[str]
    created: datetime | None
    updated: datetime | None

    @classmethod
    def of(cls, t: BlockType) -> BlockTypeOut:
        return cls(
            slug=t.slug,
            name=t.name,
            description=t.description,
            fields_schema=t.fields_schema,
            secret_fields=list(t.secret_fields),
            created=_time(t.created),
            updated=_time(t.updated),
        )


class BlockDocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    data: dict[str, Any] = Field(description="The field values, secrets in the clear.")
    overwrite: bool = Field(False, description="Replace a block of that name.")


class BlockDocumentOut(BaseModel):
    id: str
    block_type_slug: str
    name: str
    data: dict[str, Any] = Field(description="Secrets masked unless include_secrets was asked.")
    created: datetime | None
    updated: datetime | None

    @classmethod
    def of(cls, d: BlockDocument) -> BlockDocumentOut:
        return cls(
            id=d.id,
            block_type_slug=d.block_type_slug,
            name=d.name,
            data=json_values.encode(d.data),
            created=_time(d.created),
            updated=_time(d.updated),
        )


class VariableIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    value: Any = Field(description="Any JSON value.")
    tags: list[Name] = Field(default_factory=list, max_length=1000)
    overwrite: bool = Field(False, description="Replace the value of a variable that is set.")


class VariableOut(BaseModel):
    name: str
    value: Any
    tags: list[str]
    created: datetime | None
    updated: datetime | None

    @classmethod
    def of(cls, v: VariableRecord) -> VariableOut:
        return cls(
            name=v.name,
            value=json_values.encode(v.value),
            tags=list(v.tags),
            created=_time(v.created),
            updated=_time(v.updated),
        )
