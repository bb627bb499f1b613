"""SqlBlocks: block types and block documents in SQL, secrets encrypted (BlockStore,
store/blocks.py), mixed into SqlStore. Each method is one transaction of its own.

A document's secret values are split from its data before the row is written: `data` keeps
them masked, `secrets` holds them Fernet-encrypted (store/secrets.py), so neither the database
file nor a backup of it holds a secret in the clear, and a masked read needs no key at all.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainspring.exceptions import BlockDataInvalid, ObjectAlreadyExists, ObjectNotFound
from mainspring.model.blocks import (
    BlockDocument,
    BlockType,
    check_block_name,
    check_slug,
    merge_secrets,
    split_secrets,
)
from mainspring.model.runs import new_id
from mainspring.model.text import storable_json, storable_text
from mainspring.store import json_values
from mainspring.store.blocks import BlockStore
from mainspring.store.sql.schema import block_document
from mainspring.store.sql.schema import block_type as block_type_table

if TYPE_CHECKING:
    from mainspring.store.secrets import SecretBox
    from mainspring.store.sql.dialect import SqlBackend


def check_data(block: BlockType, data: Any) -> None:
    """`BlockDataInvalid` unless `data` fits the type's JSON schema; the message names the
    field and the rule, never the value (it may be a secret)."""
    if not isinstance(data, dict):
        raise BlockDataInvalid(f"A {block.slug} block's data must be a JSON object")
    import jsonschema
    from referencing.exceptions import Unresolvable

    validator = jsonschema.Draft202012Validator(block.fields_schema)
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    except (jsonschema.SchemaError, Unresolvable) as exc:  # a reference that leads nowhere
        raise BlockDataInvalid(
            f"The schema of block type {block.slug!r} cannot check data: {type(exc).__name__}"
        ) from None
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(the block)"
        rule = error.validator if error.validator != "required" else "required"
        detail = error.message if error.validator == "required" else f"fails the {rule!r} rule"
        path = list(error.absolute_path)
        if not path and error.validator == "required":  # the missing property is the field
            missing = [p for p in error.validator_value if p not in data]
            path = missing[:1]
        raise BlockDataInvalid(
            f"The data does not fit block type {block.slug!r} at {where}: {detail}",
            field=str(path[0]) if path else None,
        )


def check_schema(block: BlockType) -> None:
    """ValueError unless the type's schema is a valid JSON schema (an object)."""
    if not isinstance(block.fields_schema, dict):
        raise ValueError(f"The schema of block type {block.slug!r} must be a JSON object")
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(block.fields_schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        raise ValueError(
            f"The schema of block type {block.slug!r} is not a valid JSON schema at {where}: "
            f"{exc.message[:200]}"
        ) from None


def _type_from_row(row: Any) -> BlockType:
    return BlockType(
        slug=row.slug,
        name=row.name,
        description=row.description,
        fields_schema=row.fields_schema,
        secret_fields=tuple(row.secret_fields),
        created=row.created,
        updated=row.updated,
    )


def _document(row: Any, data: dict[str, Any]) -> BlockDocument:
    return BlockDocument(
        block_type_slug=row.block_type_slug,
        name=row.name,
        data=json_values.decode(data),
        id=row.id,
        created=row.created,
        updated=row.updated,
    )


class SqlBlocks(BlockStore):
    if TYPE_CHECKING:
        url: str
        _backend: SqlBackend

        def _transaction(self, what: str) -> AbstractContextManager[sa.Connection]: ...

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    def _secret_box(self) -> SecretBox:
        from mainspring.store.secrets import secret_box

        return secret_box(self.url)

    # -- block types -------------------------------------------------------------------------
    def upsert_block_type(self, block_type: BlockType) -> BlockType:
        check_slug(block_type.slug)
        check_schema(block_type)
        now = time.time()
        values = {
            "name": storable_text(block_type.name)[:255],
            "description": storable_text(block_type.description or ""),
            "fields_schema": storable_json(block_type.fields_schema),
            "secret_fields": list(block_type.secret_fields),
            "updated": now,
        }
        insert = self._backend.insert(block_type_table).values(
            slug=block_type.slug, created=now, **values
        )
        with self._transaction("register a block type") as conn:
            conn.execute(insert.on_conflict_do_update(index_elements=["slug"], set_=values))
            row = conn.execute(
                sa.select(block_type_table).where(block_type_table.c.slug == block_type.slug)
            ).one()
        return _type_from_row(row)

    def read_block_type(self, slug: str) -> BlockType:
        with self._read() as conn:
            row = conn.execute(
                sa.select(block_type_table).where(block_type_table.c.slug == slug)
            ).first()
        if row is None:
            raise ObjectNotFound(f"No block type {slug!r} is registered")
        return _type_from_row(row)

    def read_block_types(self) -> list[BlockType]:
        with self._read() as conn:
            rows = conn.execute(sa.select(block_type_table).order_by(block_type_table.c.slug))
            return [_type_from_row(r) for r in rows]

    # -- block documents ---------------------------------------------------------------------
    def save_block_document(
        self, slug: str, name: str, data: dict[str, Any], *, overwrite: bool = False
    ) -> BlockDocument:
        check_block_name(name)
        kind = self.read_block_type(slug)  # ObjectNotFound for an unknown type
        check_data(kind, data)
        public, secrets = split_secrets(storable_json(json_values.encode(data)), kind.secret_fields)
        sealed = self._secret_box().encrypt(secrets) if secrets else None
        now = time.time()
        d = block_document.c
        with self._transaction("save a block") as conn:
            insert = (
                self._backend.insert(block_document)
                .values(
                    id=new_id(),
                    block_type_slug=slug,
                    name=name,
                    data=public,
                    secrets=sealed,
                    created=now,
                    updated=now,
                )
                .on_conflict_do_nothing()
                .returning(d.id)
            )
            if conn.execute(insert).first() is None:
                if not overwrite:
                    raise ObjectAlreadyExists(
                        f"A block {slug}/{name} exists already; save it with overwrite=True "
                        "to replace it"
                    )
                conn.execute(
                    sa.update(block_document)
                    .where(d.block_type_slug == slug, d.name == name)
                    .values(data=public, secrets=sealed, updated=now)
                )
            row = conn.execute(
                sa.select(block_document).where(d.block_type_slug == slug, d.name == name)
            ).one()
        return _document(row, row.data)

    def read_block_document(
        self, slug: str, name: str, *, include_secrets: bool = False
    ) -> BlockDocument:
        d = block_document.c
        with self._read() as conn:
            row = conn.execute(
                sa.select(block_document).where(d.block_type_slug == slug, d.name == name)
            ).first()
        if row is None:
            raise ObjectNotFound(f"No block {slug}/{name}")
        if not include_secrets or row.secrets is None:
            return _document(row, row.data)
        secrets = self._secret_box().decrypt(row.secrets, f"block {slug}/{name}")
        return _document(row, merge_secrets(row.data, secrets))

    def read_block_documents(self, slug: str | None = None) -> list[BlockDocument]:
        d = block_document.c
        query = sa.select(block_document).order_by(d.block_type_slug, d.name)
        if slug is not None:
            query = query.where(d.block_type_slug == slug)
        with self._read() as conn:
            return [_document(r, r.data) for r in conn.execute(query)]

    def delete_block_document(self, slug: str, name: str) -> None:
        d = block_document.c
        with self._transaction("delete a block") as conn:
            deleted = conn.execute(
                sa.delete(block_document).where(d.block_type_slug == slug, d.name == name)
            )
            if deleted.rowcount == 0:
                raise ObjectNotFound(f"No block {slug}/{name}")
