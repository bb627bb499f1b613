"""The artifact table (migration 0010): what runs show people (model/artifacts.py).

No foreign key to the runs: an artifact is written at once while its run reaches the store
later, in a recorder batch.
"""

from __future__ import annotations

import sqlalchemy as sa

from mainspring.store.sql.schema_types import Id, Json, Time, metadata

artifact = sa.Table(
    "artifact",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("key", sa.String(255)),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("data", Json),
    sa.Column("flow_run_id", Id),
    sa.Column("task_run_id", Id),
    sa.Column("created", Time, nullable=False),
    sa.Column("updated", Time, nullable=False),
    sa.Index(None, "key", "created"),
    sa.Index(None, "flow_run_id"),
    sa.Index(None, "task_run_id"),
)
