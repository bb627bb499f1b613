"""ApiBlocks: the BlockStore protocol over the server's /api routes, mixed into ApiStore
(server/api/blocks.py and variables.py are the other end).

The server encrypts with its own key: a client sends secrets in the clear to it (use https
beyond loopback) and reads them in the clear only with `include_secrets`, i.e. from
`Block.load`. Errors as with SqlStore: 404 naming the object `ObjectNotFound`, 409
`ObjectAlreadyExists`, 422 `BlockDataInvalid` (block data) or ValueError, 503 with the
server's key unusable `EncryptionKeyError`.
"""

from __future__ import annotations

from typing import Any

import orjson

from mainspring.exceptions import (
    BlockDataInvalid,
    EncryptionKeyError,
    ObjectAlreadyExists,
    ObjectNotFound,
)
from mainspring.model.blocks import (
    BlockDocument,
    BlockType,
    VariableRecord,
    check_block_name,
    check_json_value,
    check_slug,
    check_variable_name,
)
from mainspring.store import json_values
from mainspring.store.blocks import BlockStore
from mainspring.store.http.answers import detail as _detail
from mainspring.store.http.queries import path_segment as _p
from mainspring.store.http.server_calls import ServerCalls
from mainspring.store.http.wire import epoch


def _type(body: dict[str, Any]) -> BlockType:
    return BlockType(
        slug=body["slug"],
        name=body["name"],
        description=body["description"],
        fields_schema=body["fields_schema"],
        secret_fields=tuple(body["secret_fields"]),
        created=epoch(body.get("created")),
        updated=epoch(body.get("updated")),
    )


def _document(body: dict[str, Any]) -> BlockDocument:
    return BlockDocument(
        block_type_slug=body["block_type_slug"],
        name=body["name"],
        data=json_values.decode(body["data"]),
        id=body["id"],
        created=epoch(body.get("created")),
        updated=epoch(body.get("updated")),
    )


def _variable(body: dict[str, Any]) -> VariableRecord:
    return VariableRecord(
        name=body["name"],
        value=json_values.decode(body["value"]),
        tags=tuple(body["tags"]),
        created=epoch(body.get("created")),
        updated=epoch(body.get("updated")),
    )


class ApiBlocks(BlockStore, ServerCalls):
    """The BlockStore half of ApiStore (module docstring); needs its `_request`."""

    def _blocks_call(
        self, method: str, path: str, body: Any = None, *, params: Any = None, missing: Any = ...
    ) -> Any:
        content = None if body is None else orjson.dumps(body)
        response = self._request(method, path, params=params, content=content)
        status = response.status_code
        if status == 200:
            return orjson.loads(response.content)
        if status == 204:
            return None
        detail = _detail(response)
        if status == 404 and detail != "Not Found":
            if missing is not ...:
                return missing
            raise ObjectNotFound(detail)
        if status == 409:
            raise ObjectAlreadyExists(detail)
        if status == 422:
            if path.startswith("/block_documents/"):
                raise BlockDataInvalid(detail)
            raise ValueError(detail)
        if status == 503 and "encryption key" in detail:
            raise EncryptionKeyError(f"The server at {path}: {detail}")
        self._fail(response)

    # -- block types -------------------------------------------------------------------------
    def upsert_block_type(self, block_type: BlockType) -> BlockType:
        check_slug(block_type.slug)
        body = {
            "name": block_type.name,
            "description": block_type.description,
            "fields_schema": block_type.fields_schema,
            "secret_fields": list(block_type.secret_fields),
        }
        return _type(self._blocks_call("PUT", f"/block_types/{_p(block_type.slug)}", body))

    def read_block_type(self, slug: str) -> BlockType:
        check_slug(slug)
        return _type(self._blocks_call("GET", f"/block_types/{_p(slug)}"))

    def read_block_types(self) -> list[BlockType]:
        return [_type(t) for t in self._blocks_call("GET", "/block_types")]

    # -- block documents ---------------------------------------------------------------------
    def save_block_document(
        self, slug: str, name: str, data: dict[str, Any], *, overwrite: bool = False
    ) -> BlockDocument:
        check_slug(slug)
        check_block_name(name)
        body = {"data": json_values.encode(data), "overwrite": overwrite}
        return _document(self._blocks_call("PUT", f"/block_documents/{slug}/{name}", body))

    def read_block_document(
        self, slug: str, name: str, *, include_secrets: bool = False
    ) -> BlockDocument:
        check_slug(slug)
        check_block_name(name)
        params = {"include_secrets": "true"} if include_secrets else None
        return _document(self._blocks_call("GET", f"/block_documents/{slug}/{name}", params=params))

    def read_block_documents(self, slug: str | None = None) -> list[BlockDocument]:
        params = None if slug is None else {"block_type_slug": check_slug(slug)}
        return [_document(d) for d in self._blocks_call("GET", "/block_documents", params=params)]

    def delete_block_document(self, slug: str, name: str) -> None:
        check_slug(slug)
        check_block_name(name)
        self._blocks_call("DELETE", f"/block_documents/{slug}/{name}")

    # -- variables ---------------------------------------------------------------------------
    def set_variable(
        self,
        name: str,
        value: Any,
        *,
        tags: tuple[str, ...] | list[str] = (),
        overwrite: bool = False,
    ) -> VariableRecord:
        check_variable_name(name)
        check_json_value(value, json_values.MAX_DEPTH)
        body = {"value": json_values.encode(value), "tags": list(tags), "overwrite": overwrite}
        return _variable(self._blocks_call("PUT", f"/variables/{_p(name)}", body))

    def read_variable(self, name: str) -> VariableRecord | None:
        check_variable_name(name)
        found = self._blocks_call("GET", f"/variables/{_p(name)}", missing=None)
        return None if found is None else _variable(found)

    def read_variables(self) -> list[VariableRecord]:
        return [_variable(v) for v in self._blocks_call("GET", "/variables")]

    def delete_variable(self, name: str) -> bool:
        check_variable_name(name)
        return self._blocks_call("DELETE", f"/variables/{_p(name)}", missing=False) is None
