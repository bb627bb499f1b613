"""The tables of concurrency limits and the leases holding their slots (migration 0008)."""

from __future__ import annotations

import sqlalchemy as sa

from mainspring.store.sql.schema_types import Id, Time, metadata

#: Limits by name (a tag's limit is named "tag:<tag>"). A rate limit's slots are one decaying
#: number, `decaying_slots` as counted at `decayed_at`, not rows: they are never released.
concurrency_limit = sa.Table(
    "concurrency_limit",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("limit", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("slot_decay_per_second", sa.Double, nullable=False),
    sa.Column("decaying_slots", sa.Double, nullable=False),
    sa.Column("decayed_at", Time),
    sa.Column("created", Time, nullable=False),
    sa.Column("updated", Time, nullable=False),
)

#: Leases holding slots: one row per (lease, limit), since one acquisition may take slots of
#: several limits. A row whose `expires` has passed holds nothing (and is deleted when next
#: seen), so a holder killed without releasing frees its slots after its lease.
concurrency_lease = sa.Table(
    "concurrency_lease",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("limit_name", sa.String(255), primary_key=True),
    sa.Column("slots", sa.Integer, nullable=False),
    sa.Column("holder", sa.String(255), nullable=False),
    sa.Column("acquired", Time, nullable=False),
    sa.Column("expires", Time, nullable=False),
    sa.Index(None, "limit_name", "expires"),
)
