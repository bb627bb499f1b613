"""Which deployment runs a scheduler made: `flow_run.auto_scheduled` (true) against those asked
for by hand (false: `deployment run`, `run_deployment`, the UI's Run), so that pausing a
deployment deletes only the waiting runs its schedules made. NULL for rows written before this
revision, which pausing treats as before (as the scheduler's).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("flow_run", sa.Column("auto_scheduled", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flow_run") as batch:
        batch.drop_column("auto_scheduled")
