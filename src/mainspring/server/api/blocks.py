"""`/api/block_types` and `/api/block_documents`: register block types; save, read, list
and delete blocks. Secrets come in the clear and go out masked, except for one block read
with `include_secrets=true` (what `Block.load` in a client asks: the process that will use
them); API keys guard that read like every other.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response

from mainspring.exceptions import BlockDataInvalid, EncryptionKeyError, ObjectAlreadyExists
from mainspring.model.api_keys import ApiKey
from mainspring.model.blocks import BlockType
from mainspring.server.api.deps import NOT_FOUND, ErrorOut, StoreDep, invalid
from mainspring.server.auth import authorize
from mainspring.server.schemas.blocks import (
    BLOCK_NAME_PATTERN,
    SLUG_PATTERN,
    BlockDocumentIn,
    BlockDocumentOut,
    BlockTypeIn,
    BlockTypeOut,
)
from mainspring.store import json_values
from mainspring.store.blocks import BlockStore

router = APIRouter(tags=["blocks"])

EXISTS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "A block of that name exists (no overwrite)."}
}
KEY: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorOut, "description": "A read-only key asked for secrets."},
    503: {"model": ErrorOut, "description": "The server's encryption key cannot be used."},
}
Slug = Annotated[str, Path(pattern=SLUG_PATTERN, max_length=255, description="A block type.")]
BlockName = Annotated[
    str, Path(pattern=BLOCK_NAME_PATTERN, max_length=255, description="A block's name.")
]


def block_store(store: object) -> BlockStore:
    """The server's store as a BlockStore (SqlStore is one); 501 for a store that is not."""
    if not isinstance(store, BlockStore):
        raise HTTPException(501, "This server's store keeps no blocks")
    return store


def _key_unusable(exc: EncryptionKeyError) -> HTTPException:
    return HTTPException(503, f"The server cannot use its encryption key: {exc}")


# -- block types ---------------------------------------------------------------------------
@router.get("/block_types", response_model=list[BlockTypeOut])
def list_block_types(store: StoreDep) -> list[BlockTypeOut]:
    """Every registered block type, by slug."""
    return [BlockTypeOut.of(t) for t in block_store(store).read_block_types()]


@router.get("/block_types/{slug}", response_model=BlockTypeOut, responses=NOT_FOUND)
def read_block_type(store: StoreDep, slug: Slug) -> BlockTypeOut:
    return BlockTypeOut.of(block_store(store).read_block_type(slug))


@router.put("/block_types/{slug}", response_model=BlockTypeOut)
def upsert_block_type(store: StoreDep, slug: Slug, body: BlockTypeIn) -> BlockTypeOut:
    """Register a block type, or replace its description, schema and secret fields."""
    record = BlockType(
        slug=slug,
        name=body.name,
        description=body.description,
        fields_schema=body.fields_schema,
        secret_fields=tuple(body.secret_fields),
    )
    try:
        return BlockTypeOut.of(block_store(store).upsert_block_type(record))
    except ValueError as exc:
        raise invalid(("body",), str(exc)) from None


# -- blocks --------------------------------------------------------------------------------
@router.get("/block_documents", response_model=list[BlockDocumentOut])
def list_block_documents(
    store: StoreDep,
    block_type_slug: Annotated[
        str | None, Query(pattern=SLUG_PATTERN, max_length=255, description="Only this type's.")
    ] = None,
) -> list[BlockDocumentOut]:
    """Every block (of one type when given), secrets masked, by type then name."""
    found = block_store(store).read_block_documents(block_type_slug)
    return [BlockDocumentOut.of(d) for d in found]


@router.get(
    "/block_documents/{slug}/{name}",
    response_model=BlockDocumentOut,
    responses={**NOT_FOUND, **KEY},
)
def read_block_document(
    store: StoreDep,
    slug: Slug,
    name: BlockName,
    key: Annotated[ApiKey | None, Depends(authorize)],
    include_secrets: Annotated[
        bool, Query(description="Secrets in the clear (for the process that uses them).")
    ] = False,
) -> BlockDocumentOut:
    """One block, its secrets masked unless `include_secrets=true`, which a read-only API key
    may not ask (403): such keys are for looking, and secrets are for the processes that run
    flows, which hold write keys."""
    if include_secrets and key is not None and key.read_only:
        raise HTTPException(
            403, f"The API key {key.name!r} is read-only; it cannot read secrets in the clear."
        )
    try:
        found = block_store(store).read_block_document(slug, name, include_secrets=include_secrets)
    except EncryptionKeyError as exc:
        raise _key_unusable(exc) from None
    return BlockDocumentOut.of(found)


@router.put(
    "/block_documents/{slug}/{name}",
    response_model=BlockDocumentOut,
    responses={**NOT_FOUND, **EXISTS, **KEY},
)
def save_block_document(
    store: StoreDep, slug: Slug, name: BlockName, body: BlockDocumentIn
) -> BlockDocumentOut:
    """Save a block of a registered type (404 for an unknown type; 422 naming the field when
    the data does not fit the type's schema; 409 when the name is taken and `overwrite` is
    false). The answer has its secrets masked."""
    try:
        data = json_values.decode(body.data, strict=True, where="data")
    except ValueError as exc:
        raise invalid(("body", "data"), str(exc)) from None
    try:
        saved = block_store(store).save_block_document(slug, name, data, overwrite=body.overwrite)
    except ObjectAlreadyExists as exc:
        raise HTTPException(409, str(exc)) from None
    except BlockDataInvalid as exc:
        raise invalid(("body", "data"), str(exc)) from None
    except EncryptionKeyError as exc:
        raise _key_unusable(exc) from None
    return BlockDocumentOut.of(saved)


@router.delete("/block_documents/{slug}/{name}", status_code=204, responses=NOT_FOUND)
def delete_block_document(store: StoreDep, slug: Slug, name: BlockName) -> Response:
    block_store(store).delete_block_document(slug, name)
    return Response(status_code=204)
