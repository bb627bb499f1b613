"""Job variables: a deployment's (`deployment.job_variables`) and a work pool's defaults
(`work_pool.base_job_template`), for pool types that start infrastructure (docker).
NULL reads as {} (rows written before this revision).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("deployment") as batch:
        batch.add_column(sa.Column("job_variables", _json(), nullable=True))
    with op.batch_alter_table("work_pool") as batch:
        batch.add_column(sa.Column("base_job_template", _json(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_pool") as batch:
        batch.drop_column("base_job_template")
    with op.batch_alter_table("deployment") as batch:
        batch.drop_column("job_variables")
