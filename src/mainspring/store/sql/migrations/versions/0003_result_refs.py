"""Where a state's persisted result lives, and the key of a subflow run within its parent.

- `state_result` (flow_run, task_run) and `result` (state_history): a small JSON object
  (storage URL, key, serializer) for states whose result was persisted, so `state.result()`
  on a state read back from the store loads it; NULL otherwise.
- `flow_run.subflow_key`: the subflow's name and call index within its parent flow run, so a
  resumed parent finds its earlier subflow runs (as task runs are found by task key).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("flow_run", sa.Column("state_result", _json(), nullable=True))
    op.add_column("flow_run", sa.Column("subflow_key", sa.String(255), nullable=True))
    op.add_column("task_run", sa.Column("state_result", _json(), nullable=True))
    op.add_column("state_history", sa.Column("result", _json(), nullable=True))


def downgrade() -> None:
    op.drop_column("state_history", "result")
    op.drop_column("task_run", "state_result")
    op.drop_column("flow_run", "subflow_key")
    op.drop_column("flow_run", "state_result")
