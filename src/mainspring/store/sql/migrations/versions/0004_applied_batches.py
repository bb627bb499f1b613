"""Ids of applied batches, so a retried batch (its answer lost on the way) is stored once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applied_batch",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("applied", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_applied_batch"),
    )
    op.create_index("ix_applied_batch_applied", "applied_batch", ["applied"])


def downgrade() -> None:
    op.drop_index("ix_applied_batch_applied", table_name="applied_batch")
    op.drop_table("applied_batch")
