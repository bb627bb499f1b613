"""The scheduler's read of overdue runs by an index over (state_name, expected_start_time).

Each tick asks for the waiting runs (Scheduled or Late, unclaimed) whose time has passed. With
an index over `state_name` alone that read visited every waiting run, the ~10 runs each
deployment has planned ahead included (10,000 rows with 1,000 deployments: the largest fixed
cost of an idle tick). Over (state_name, expected_start_time) it visits only the runs already
due. The new index replaces the one over `state_name` alone, whose lookups it serves too.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_flow_run_state_name_expected_start_time",
        "flow_run",
        ["state_name", "expected_start_time"],
    )
    op.drop_index("ix_flow_run_state_name", table_name="flow_run")


def downgrade() -> None:
    op.create_index("ix_flow_run_state_name", "flow_run", ["state_name"])
    op.drop_index("ix_flow_run_state_name_expected_start_time", table_name="flow_run")
