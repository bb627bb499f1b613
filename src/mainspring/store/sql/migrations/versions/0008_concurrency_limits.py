"""Concurrency limits and the leases holding their slots (store/sql/schema.py says why leases).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Name = sa.String(255)
Time: sa.Double[float] = sa.Double()


def upgrade() -> None:
    op.create_table(
        "concurrency_limit",
        sa.Column("name", Name, nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("slot_decay_per_second", Time, nullable=False),
        sa.Column("decaying_slots", Time, nullable=False),
        sa.Column("decayed_at", Time, nullable=True),
        sa.Column("created", Time, nullable=False),
        sa.Column("updated", Time, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_concurrency_limit"),
    )
    op.create_table(
        "concurrency_lease",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("limit_name", Name, nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("holder", Name, nullable=False),
        sa.Column("acquired", Time, nullable=False),
        sa.Column("expires", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", "limit_name", name="pk_concurrency_lease"),
    )
    op.create_index(
        "ix_concurrency_lease_limit_name_expires",
        "concurrency_lease",
        ["limit_name", "expires"],
    )


def downgrade() -> None:
    op.drop_index("ix_concurrency_lease_limit_name_expires", "concurrency_lease")
    op.drop_table("concurrency_lease")
    op.drop_table("concurrency_limit")
