"""The tables of deployments, work pools, their queues and workers (migration 0007)."""

from __future__ import annotations

import sqlalchemy as sa

from mainspring.store.sql.schema_types import Id, Json, Time, metadata

#: Deployments (model/deployments.py), keyed by id and unique by (flow name, name).
deployment = sa.Table(
    "deployment",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("flow_name", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("entrypoint", sa.Text),
    sa.Column("parameters", Json, nullable=False),
    sa.Column("parameter_openapi_schema", Json, nullable=False),
    sa.Column("tags", Json, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("version", sa.String(255)),
    sa.Column("schedules", Json, nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("catch_up", sa.String(16), nullable=False),
    sa.Column("max_lateness", Time),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("collision_strategy", sa.String(16), nullable=False),
    sa.Column("work_pool_name", sa.String(255)),
    sa.Column("work_queue_name", sa.String(255)),
    sa.Column("retries", sa.Integer, nullable=False),
    sa.Column("job_variables", Json),  # migration 0013
    sa.Column("scheduled_until", Time),
    sa.Column("created", Time, nullable=False),
    sa.Column("updated", Time, nullable=False),
    sa.UniqueConstraint("flow_name", "name"),
)

work_pool = sa.Table(
    "work_pool",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("created", Time, nullable=False),
    sa.Column("base_job_template", Json),  # migration 0013
)

work_queue = sa.Table(
    "work_queue",
    metadata,
    sa.Column("pool_name", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("created", Time, nullable=False),
)

worker = sa.Table(
    "worker",
    metadata,
    sa.Column("pool_name", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("last_heartbeat", Time, nullable=False),
)
