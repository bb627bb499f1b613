"""API keys can be revoked and can expire: when each happened or happens, NULL for never.

A revoked key keeps its row, so the server can say why it refuses the key and `api-key ls`
shows what was revoked when.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_key", sa.Column("expires", sa.Double(), nullable=True))
    op.add_column("api_key", sa.Column("revoked", sa.Double(), nullable=True))


def downgrade() -> None:
    op.drop_column("api_key", "revoked")
    op.drop_column("api_key", "expires")
