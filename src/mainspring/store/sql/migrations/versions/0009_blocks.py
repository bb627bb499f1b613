"""Blocks and variables: `block_type`, `block_document` (secrets encrypted in their own
column), `variable`.

Revision ID: 0009
Revises: 0007 (re-chained by the lead when merging the session's migrations)
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Name = sa.String(255)
Time: sa.Double[float] = sa.Double()


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "block_type",
        sa.Column("slug", Name, nullable=False),
        sa.Column("name", Name, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("fields_schema", _json(), nullable=False),
        sa.Column("secret_fields", _json(), nullable=False),
        sa.Column("created", Time, nullable=False),
        sa.Column("updated", Time, nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_block_type")),
    )
    op.create_table(
        "block_document",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("block_type_slug", Name, nullable=False),
        sa.Column("name", Name, nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=True),
        sa.Column("created", Time, nullable=False),
        sa.Column("updated", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_block_document")),
        sa.UniqueConstraint(
            "block_type_slug", "name", name=op.f("uq_block_document_block_type_slug_name")
        ),
    )
    op.create_table(
        "variable",
        sa.Column("name", Name, nullable=False),
        sa.Column("value", _json(), nullable=True),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("created", Time, nullable=False),
        sa.Column("updated", Time, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_variable")),
    )


def downgrade() -> None:
    op.drop_table("variable")
    op.drop_table("block_document")
    op.drop_table("block_type")
