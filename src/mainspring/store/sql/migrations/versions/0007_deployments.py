"""Deployments, work pools, work queues and workers; the deployment columns of flow_run.

- `deployment`: unique by (flow_name, name); its schedules are JSON (model/schedules/);
  `scheduled_until` is the scheduler's watermark.
- `work_pool`, `work_queue` (by pool and name), `worker` (by pool and name, with a heartbeat).
- `flow_run.work_pool_name`, `work_queue_name`, `claimed_by`, `claimed_at`: where a worker takes a
  deployment run from, and its claim. `deployment_id` and `expected_start_time` exist since 0001.
- A unique index on `flow_run (deployment_id, expected_start_time)`: a (deployment, scheduled
  time) becomes at most one run, however many schedulers insert it at once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.String(36)
Name = sa.String(255)
Time: sa.Double[float] = sa.Double()


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "deployment",
        sa.Column("id", Id, nullable=False),
        sa.Column("flow_name", Name, nullable=False),
        sa.Column("name", Name, nullable=False),
        sa.Column("entrypoint", sa.Text(), nullable=True),
        sa.Column("parameters", _json(), nullable=False),
        sa.Column("parameter_openapi_schema", _json(), nullable=False),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("version", Name, nullable=True),
        sa.Column("schedules", _json(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("catch_up", sa.String(16), nullable=False),
        sa.Column("max_lateness", Time, nullable=True),
        sa.Column("concurrency_limit", sa.Integer(), nullable=True),
        sa.Column("collision_strategy", sa.String(16), nullable=False),
        sa.Column("work_pool_name", Name, nullable=True),
        sa.Column("work_queue_name", Name, nullable=True),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("scheduled_until", Time, nullable=True),
        sa.Column("created", Time, nullable=False),
        sa.Column("updated", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deployment"),
        sa.UniqueConstraint("flow_name", "name", name="uq_deployment_flow_name_name"),
    )
    op.create_table(
        "work_pool",
        sa.Column("name", Name, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("concurrency_limit", sa.Integer(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created", Time, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_work_pool"),
    )
    op.create_table(
        "work_queue",
        sa.Column("pool_name", Name, nullable=False),
        sa.Column("name", Name, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("concurrency_limit", sa.Integer(), nullable=True),
        sa.Column("created", Time, nullable=False),
        sa.PrimaryKeyConstraint("pool_name", "name", name="pk_work_queue"),
    )
    op.create_table(
        "worker",
        sa.Column("pool_name", Name, nullable=False),
        sa.Column("name", Name, nullable=False),
        sa.Column("last_heartbeat", Time, nullable=False),
        sa.PrimaryKeyConstraint("pool_name", "name", name="pk_worker"),
    )
    # Plain ADD COLUMN (nullable): SQLite adds it in place, without copying the history.
    op.add_column("flow_run", sa.Column("work_pool_name", Name, nullable=True))
    op.add_column("flow_run", sa.Column("work_queue_name", Name, nullable=True))
    op.add_column("flow_run", sa.Column("claimed_by", Name, nullable=True))
    op.add_column("flow_run", sa.Column("claimed_at", Time, nullable=True))
    op.create_index(
        "ix_flow_run_deployment_id_expected_start_time",
        "flow_run",
        ["deployment_id", "expected_start_time"],
        unique=True,
    )
    op.create_index(
        "ix_flow_run_work_pool_name_state_type_expected_start_time",
        "flow_run",
        ["work_pool_name", "state_type", "expected_start_time"],
    )


def downgrade() -> None:
    op.drop_index("ix_flow_run_work_pool_name_state_type_expected_start_time", "flow_run")
    op.drop_index("ix_flow_run_deployment_id_expected_start_time", "flow_run")
    for column in ("claimed_at", "claimed_by", "work_queue_name", "work_pool_name"):
        op.drop_column("flow_run", column)
    for table in ("worker", "work_queue", "work_pool", "deployment"):
        op.drop_table(table)
