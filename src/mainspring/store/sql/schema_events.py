"""The tables of events and automations (migration 0011; store/sql/events.py, automations.py)."""

from __future__ import annotations

import sqlalchemy as sa

from mainspring.store.sql.schema_types import Id, Json, RowId, Time, metadata

#: Events with no other home: a run's state changes are read from state_history instead.
event = sa.Table(
    "event",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("event", sa.String(255), nullable=False),
    sa.Column("resource_id", sa.String(512), nullable=False),
    sa.Column("occurred", Time, nullable=False),
    sa.Column("resource", Json, nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Index(None, "occurred"),
    sa.Index(None, "resource_id"),
)

automation = sa.Table(
    "automation",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("enabled", sa.Boolean, nullable=False),
    # events that occurred before this (its creation, its last resume) never fire it
    sa.Column("enabled_since", Time, nullable=False),
    sa.Column("trigger_spec", Json, nullable=False),
    sa.Column("action_specs", Json, nullable=False),
    # an event-count trigger's recent matches: [[key, occurred], ...]
    sa.Column("window", Json),
    sa.Column("created", Time, nullable=False),
    sa.Column("updated", Time, nullable=False),
)

#: The outbox: a firing is unique per (automation, trigger key) and recorded before its
#: actions run; each action has a row of its own with its attempts.
automation_firing = sa.Table(
    "automation_firing",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("automation_id", Id, nullable=False),
    sa.Column("trigger_key", sa.String(255), nullable=False),
    sa.Column("occurred", Time, nullable=False),
    sa.Column("fired", Time, nullable=False),
    sa.Column("context", Json, nullable=False),
    sa.UniqueConstraint("automation_id", "trigger_key"),
    sa.Index(None, "fired"),
)

automation_action = sa.Table(
    "automation_action",
    metadata,
    sa.Column("firing_id", sa.BigInteger, primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("action", Json, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt", Time),
    sa.Column("last_error", sa.Text),
    sa.Column("finished", Time),
    sa.Index(None, "status", "next_attempt"),
)

#: Matches answered later ("still Failed 60 s on?", "Completed within 10 minutes?").
automation_check = sa.Table(
    "automation_check",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("automation_id", Id, nullable=False),
    sa.Column("trigger_key", sa.String(255), nullable=False),
    sa.Column("flow_run_id", Id, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("due", Time, nullable=False),
    sa.Column("state_name", sa.String(32)),
    sa.Column("state_ts", Time),
    sa.Column("context", Json, nullable=False),
    sa.UniqueConstraint("automation_id", "trigger_key"),
    sa.Index(None, "due"),
)

#: The automations service's position in the state rows and the stored events.
event_cursor = sa.Table(
    "event_cursor",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("state_id", sa.BigInteger, nullable=False),
    sa.Column("event_id", sa.BigInteger, nullable=False),
)
