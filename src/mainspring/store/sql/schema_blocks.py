"""The tables of blocks and variables (migration 0009)."""

from __future__ import annotations

import sqlalchemy as sa

from mainspring.store.sql.schema_types import Id, Json, Time, metadata

#: Block types by slug: the JSON schema of their fields and which fields are secret.
block_type = sa.Table(
    "block_type",
    metadata,
    sa.Column("slug", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("fields_schema", Json, nullable=False),
    sa.Column("secret_fields", Json, nullable=False),
    sa.Column("created", Time, nullable=False),
    sa.Column("updated", Time, nullable=False),
)

#: Saved blocks, unique by (type, name). `data` holds the field values with each secret
#: masked; `secrets` the secret values, Fernet-encrypted ({path: value} as JSON), never in
#: the clear (store/secrets.py). No foreign key to block_type: a type is re-registered with
#: each save, and an old document outlives a type's change.
block_document = sa.Table(
    "block_document",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("block_type_slug", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("secrets", sa.Text),
    sa.Column("created", Time, nullable=False),
    sa.Column("updated", Time, nullable=False),
    sa.UniqueConstraint("block_type_slug", "name"),
)

#: Variables: a name and a JSON value (kept as a JSON document: any JSON, null included).
variable = sa.Table(
    "variable",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("value", Json),
    sa.Column("tags", Json, nullable=False),
    sa.Column("created", Time, nullable=False),
    sa.Column("updated", Time, nullable=False),
)
