"""Initial schema: flows, flow runs, task runs, state history, logs, task run edges.

Revision ID: 0001
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.String(36)
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # autoincrement; rowid on SQLite
Time: sa.Double[float] = sa.Double()  # epoch seconds, UTC


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def _state_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("state_type", sa.String(16), nullable=False),
        sa.Column("state_name", sa.String(32), nullable=False),
        sa.Column("state_message", sa.Text(), nullable=True),
        sa.Column("state_timestamp", Time, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "flow",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flow"),
        sa.UniqueConstraint("name", name="uq_flow_name"),
    )
    op.create_table(
        "flow_run",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("flow_id", Id, nullable=False),
        sa.Column("flow_name", sa.String(255), nullable=False),
        sa.Column("flow_version", sa.String(255), nullable=True),
        sa.Column("parameters", _json(), nullable=False),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("parent_flow_run_id", Id, nullable=True),
        sa.Column("parent_task_run_id", Id, nullable=True),
        sa.Column("deployment_id", Id, nullable=True),
        *_state_columns(),
        sa.Column("created", Time, nullable=False),
        sa.Column("start_time", Time, nullable=True),
        sa.Column("end_time", Time, nullable=True),
        sa.Column("sort_time", Time, nullable=False),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("heartbeat", Time, nullable=True),
        sa.Column("expected_start_time", Time, nullable=True),
        sa.ForeignKeyConstraint(["flow_id"], ["flow.id"], name="fk_flow_run_flow_id_flow"),
        sa.PrimaryKeyConstraint("id", name="pk_flow_run"),
    )
    for columns in (
        ["flow_name", "sort_time"],
        ["sort_time", "id"],
        ["state_type"],
        ["state_name"],
        ["start_time"],
        ["created"],
        ["parent_flow_run_id"],
    ):
        op.create_index(f"ix_flow_run_{'_'.join(columns)}", "flow_run", columns)

    op.create_table(
        "task_run",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("task_name", sa.String(255), nullable=False),
        sa.Column("task_key", sa.String(255), nullable=False),
        sa.Column("dynamic_key", sa.String(255), nullable=True),
        sa.Column("flow_run_id", Id, nullable=True),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("cache_key", sa.String(255), nullable=True),
        *_state_columns(),
        sa.Column("created", Time, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("start_time", Time, nullable=True),
        sa.Column("end_time", Time, nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task_run"),
    )
    op.create_index("ix_task_run_flow_run_id_created", "task_run", ["flow_run_id", "created"])

    op.create_table(
        "state_history",
        sa.Column("id", RowId, nullable=False, autoincrement=True),
        sa.Column("run_id", Id, nullable=False),
        sa.Column("is_task", sa.Boolean(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("timestamp", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_state_history"),
    )
    op.create_index("ix_state_history_run_id_timestamp", "state_history", ["run_id", "timestamp"])

    op.create_table(
        "log",
        sa.Column("id", RowId, nullable=False, autoincrement=True),
        sa.Column("flow_run_id", Id, nullable=True),
        sa.Column("task_run_id", Id, nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("logger", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("timestamp", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_log"),
    )
    op.create_index("ix_log_flow_run_id_timestamp", "log", ["flow_run_id", "timestamp"])

    op.create_table(
        "task_run_edge",
        sa.Column("flow_run_id", Id, nullable=True),
        sa.Column("task_run_id", Id, nullable=False),
        sa.Column("upstream_id", Id, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("task_run_id", "upstream_id", "kind", name="pk_task_run_edge"),
    )
    op.create_index("ix_task_run_edge_flow_run_id", "task_run_edge", ["flow_run_id"])


def downgrade() -> None:
    for table in ("task_run_edge", "log", "state_history", "task_run", "flow_run", "flow"):
        op.drop_table(table)
