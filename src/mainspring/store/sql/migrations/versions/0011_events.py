"""Events and automations: stored events, automations, their firings (the outbox), their
pending checks, and the automations service's cursor.

Run-state events need no table: they are read from state_history.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.String(36)
Name = sa.String(255)
Time: sa.Double[float] = sa.Double()


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def _row_id() -> sa.types.TypeEngine[Any]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", _row_id(), autoincrement=True, nullable=False),
        sa.Column("event", Name, nullable=False),
        sa.Column("resource_id", sa.String(512), nullable=False),
        sa.Column("occurred", Time, nullable=False),
        sa.Column("resource", _json(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event"),
    )
    op.create_index("ix_event_occurred", "event", ["occurred"])
    op.create_index("ix_event_resource_id", "event", ["resource_id"])
    op.create_table(
        "automation",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", Name, nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("enabled_since", Time, nullable=False),
        sa.Column("trigger_spec", _json(), nullable=False),
        sa.Column("action_specs", _json(), nullable=False),
        sa.Column("window", _json(), nullable=True),
        sa.Column("created", Time, nullable=False),
        sa.Column("updated", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automation"),
        sa.UniqueConstraint("name", name="uq_automation_name"),
    )
    op.create_table(
        "automation_firing",
        sa.Column("id", _row_id(), autoincrement=True, nullable=False),
        sa.Column("automation_id", Id, nullable=False),
        sa.Column("trigger_key", Name, nullable=False),
        sa.Column("occurred", Time, nullable=False),
        sa.Column("fired", Time, nullable=False),
        sa.Column("context", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automation_firing"),
        sa.UniqueConstraint(
            "automation_id", "trigger_key", name="uq_automation_firing_automation_id_trigger_key"
        ),
    )
    op.create_index("ix_automation_firing_fired", "automation_firing", ["fired"])
    op.create_table(
        "automation_action",
        sa.Column("firing_id", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("action", _json(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", Time, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished", Time, nullable=True),
        sa.PrimaryKeyConstraint("firing_id", "idx", name="pk_automation_action"),
    )
    op.create_index(
        "ix_automation_action_status_next_attempt", "automation_action", ["status", "next_attempt"]
    )
    op.create_table(
        "automation_check",
        sa.Column("id", _row_id(), autoincrement=True, nullable=False),
        sa.Column("automation_id", Id, nullable=False),
        sa.Column("trigger_key", Name, nullable=False),
        sa.Column("flow_run_id", Id, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("due", Time, nullable=False),
        sa.Column("state_name", sa.String(32), nullable=True),
        sa.Column("state_ts", Time, nullable=True),
        sa.Column("context", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_automation_check"),
        sa.UniqueConstraint(
            "automation_id", "trigger_key", name="uq_automation_check_automation_id_trigger_key"
        ),
    )
    op.create_index("ix_automation_check_due", "automation_check", ["due"])
    op.create_table(
        "event_cursor",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("state_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_event_cursor"),
    )


def downgrade() -> None:
    for table in (
        "event_cursor",
        "automation_check",
        "automation_action",
        "automation_firing",
        "automation",
        "event",
    ):
        op.drop_table(table)
