"""The process running each flow run, and where its flow is defined.

- `flow_run.host`, `pid`, `process_start`: the process that runs (or last ran) the flow run, so
  a store opened on the same host marks a run whose process is gone Crashed (store/sql/dead_runs.py)
  and a cancel of such a run ends it at once.
- `flow_run.entrypoint`: `path/to/file.py:qualname` or `package.module:qualname`, what
  `mainspring flow-run retry` imports again, for every run (not only those that persist).

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("flow_run", sa.Column("host", sa.String(255), nullable=True))
    op.add_column("flow_run", sa.Column("pid", sa.Integer(), nullable=True))
    op.add_column("flow_run", sa.Column("process_start", sa.Double(), nullable=True))
    op.add_column("flow_run", sa.Column("entrypoint", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("flow_run", "entrypoint")
    op.drop_column("flow_run", "process_start")
    op.drop_column("flow_run", "pid")
    op.drop_column("flow_run", "host")
