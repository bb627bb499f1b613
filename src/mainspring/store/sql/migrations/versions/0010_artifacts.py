"""Artifacts: Markdown, tables, links and progress figures that runs create.

No foreign keys to the runs (an artifact is written at once, its run later in a batch).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifact",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("key", sa.String(255), nullable=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True),
        sa.Column("flow_run_id", sa.String(36), nullable=True),
        sa.Column("task_run_id", sa.String(36), nullable=True),
        sa.Column("created", sa.Double(), nullable=False),
        sa.Column("updated", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_artifact"),
    )
    op.create_index("ix_artifact_key_created", "artifact", ["key", "created"])
    op.create_index("ix_artifact_flow_run_id", "artifact", ["flow_run_id"])
    op.create_index("ix_artifact_task_run_id", "artifact", ["task_run_id"])


def downgrade() -> None:
    op.drop_table("artifact")
