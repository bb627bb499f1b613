"""SQLite: the runs list's tag filter and name search by index (store/sql/run_search.py): a
table of each run's tags keyed by tag, and an FTS5 trigram table of the runs' names, kept by
triggers on `flow_run` and filled here from the runs already there (in the migration's write
transaction, so no run is missed or counted twice). PostgreSQL has had its GIN and trigram
indexes since 0015: nothing to do there.

The triggers cost each flow run written ~50 us of CPU more on SQLite (the trigram index ~2/3
of it); flow runs are written once or a few times each, task runs (the hot path) not at all.

No table is rebuilt: 0015's triggers on `flow_run` stay as they are.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

from mainspring.store.sql.run_search import (
    create_name_index,
    create_tag_index,
    drop_search_indexes,
)

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    create_tag_index(conn)
    create_name_index(conn)  # where this SQLite has the trigram tokenizer


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        drop_search_indexes(conn)
