"""SQLite's indexes for the runs list's tag filter and name search (migration 0017).

SQLite has no GIN or trigram index (PostgreSQL's, migration 0015), so without these both
filters read every run: with 100,000 runs ~25 ms a query, three queries a /runs page.
- `flow_run_tag (tag, run_id)`: one row per tag of each run, keyed by tag, so the runs with a
  tag are a range of its primary key.
- `flow_run_name`: an FTS5 table with the trigram tokenizer over the runs' names (SQLite 3.34
  and later), whose phrase query finds the names containing a text of 3 or more characters.
  Its rows are keyed by `flow_run_name_key.key`, an INTEGER PRIMARY KEY given to each run:
  `flow_run`'s own rowid would do, but VACUUM may renumber the rowids of a table without an
  INTEGER PRIMARY KEY. Where this SQLite lacks FTS5 or its trigram tokenizer, the migration
  leaves these two tables out and the name search reads the runs, as before.

Kept by triggers in the transaction that writes the run (as migration 0015's hourly counts),
whatever path writes it, so they are exact by construction. Names and tags are written once,
when the run is created; the update triggers act only when one of them changes.

The names are indexed lowered by SQLite's lower() (ASCII only, as its LIKE folds case), with
a case-sensitive tokenizer, and the searched text is lowered by the same lower(): a match is
exactly a run the ILIKE of the other dialects' path finds (`lower(name) LIKE lower('%text%')`),
so the index decides alone, without reading the run. A text of 1 or 2 characters has no
trigram: it is searched by that ILIKE, reading the runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

Condition = sa.ColumnElement[bool]

#: The tables (SQLite only: they are not in the portable metadata of schema.py).
TAG_TABLE = "flow_run_tag"
NAME_TABLE = "flow_run_name"
NAME_KEY_TABLE = "flow_run_name_key"
#: FTS5 keeps each table's index in shadow tables named after it.
_SHADOWS = ("data", "idx", "content", "docsize", "config")
SQLITE_ONLY_TABLES = frozenset(
    {TAG_TABLE, NAME_TABLE, NAME_KEY_TABLE, *(f"{NAME_TABLE}_{s}" for s in _SHADOWS)}
)
#: The trigram tokenizer indexes no text shorter than this.
MIN_INDEXED = 3
#: At most this many runs found by the tables lead a query (bound as parameters: SQLite
#: before 3.32 allows 999); more are tested run by run.
LEAD_MAX = 900

flow_run_tag = sa.table(TAG_TABLE, sa.column("tag"), sa.column("run_id"))
flow_run_name_key = sa.table(NAME_KEY_TABLE, sa.column("key"), sa.column("run_id"))
flow_run_name = sa.table(NAME_TABLE, sa.column("rowid"), sa.column(NAME_TABLE))

_TAGS_OF = "SELECT value FROM json_each({row}.tags) WHERE type = 'text'"
TAG_TRIGGERS = [
    f"CREATE TRIGGER {TAG_TABLE}_insert AFTER INSERT ON flow_run BEGIN "
    f"INSERT OR IGNORE INTO {TAG_TABLE} (tag, run_id) "
    f"SELECT value, new.id FROM json_each(new.tags) WHERE type = 'text'; END",
    f"CREATE TRIGGER {TAG_TABLE}_update AFTER UPDATE OF tags ON flow_run "
    f"WHEN old.tags IS NOT new.tags BEGIN "
    f"DELETE FROM {TAG_TABLE} WHERE run_id = old.id AND tag IN ({_TAGS_OF.format(row='old')}); "
    f"INSERT OR IGNORE INTO {TAG_TABLE} (tag, run_id) "
    f"SELECT value, new.id FROM json_each(new.tags) WHERE type = 'text'; END",
    f"CREATE TRIGGER {TAG_TABLE}_delete AFTER DELETE ON flow_run BEGIN "
    f"DELETE FROM {TAG_TABLE} WHERE run_id = old.id AND tag IN ({_TAGS_OF.format(row='old')}); "
    "END",
]
_KEY_OF = f"(SELECT key FROM {NAME_KEY_TABLE} WHERE run_id = {{row}}.id)"
NAME_TRIGGERS = [
    f"CREATE TRIGGER {NAME_TABLE}_insert AFTER INSERT ON flow_run BEGIN "
    f"INSERT INTO {NAME_KEY_TABLE} (run_id) VALUES (new.id); "
    f"INSERT INTO {NAME_TABLE} (rowid, name) VALUES (last_insert_rowid(), lower(new.name)); END",
    f"CREATE TRIGGER {NAME_TABLE}_update AFTER UPDATE OF name ON flow_run "
    f"WHEN old.name IS NOT new.name BEGIN "
    f"UPDATE {NAME_TABLE} SET name = lower(new.name) WHERE rowid = {_KEY_OF.format(row='new')}; "
    "END",
    f"CREATE TRIGGER {NAME_TABLE}_delete AFTER DELETE ON flow_run BEGIN "
    f"DELETE FROM {NAME_TABLE} WHERE rowid = {_KEY_OF.format(row='old')}; "
    f"DELETE FROM {NAME_KEY_TABLE} WHERE run_id = old.id; END",
]
TRIGGER_NAMES = [
    f"{table}_{event}"
    for table in (TAG_TABLE, NAME_TABLE)
    for event in ("insert", "update", "delete")
]


def create_tag_index(conn: sa.Connection) -> None:
    """The tag table, its triggers, and a row for each tag of the runs already there."""
    conn.exec_driver_sql(
        f"CREATE TABLE {TAG_TABLE} (tag TEXT NOT NULL, run_id VARCHAR(36) NOT NULL, "
        "PRIMARY KEY (tag, run_id)) WITHOUT ROWID"
    )
    for statement in TAG_TRIGGERS:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql(
        f"INSERT OR IGNORE INTO {TAG_TABLE} (tag, run_id) SELECT j.value, r.id "
        "FROM flow_run AS r, json_each(r.tags) AS j WHERE j.type = 'text'"
    )


def create_name_index(conn: sa.Connection) -> bool:
    """The trigram table of names, its keys and triggers, filled from the runs already there;
    False (and nothing created) where this SQLite has no FTS5 trigram tokenizer."""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(
                f"CREATE VIRTUAL TABLE {NAME_TABLE} USING fts5(name, "
                "tokenize = 'trigram case_sensitive 1')"
            )
    except sa.exc.OperationalError:
        return False
    conn.exec_driver_sql(
        f"CREATE TABLE {NAME_KEY_TABLE} (key INTEGER PRIMARY KEY, "
        "run_id VARCHAR(36) NOT NULL UNIQUE)"
    )
    for statement in NAME_TRIGGERS:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql(f"INSERT INTO {NAME_KEY_TABLE} (run_id) SELECT id FROM flow_run")
    conn.exec_driver_sql(
        f"INSERT INTO {NAME_TABLE} (rowid, name) SELECT k.key, lower(r.name) "
        f"FROM {NAME_KEY_TABLE} AS k JOIN flow_run AS r ON r.id = k.run_id"
    )
    return True


def drop_search_indexes(conn: sa.Connection) -> None:
    for trigger in TRIGGER_NAMES:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    for table in (TAG_TABLE, NAME_TABLE, NAME_KEY_TABLE):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")


def indexed_search(conn: sa.Connection) -> tuple[bool, bool]:
    """Whether this database has (the tag table, the trigram table of names)."""
    names = {
        name
        for (name,) in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
            (TAG_TABLE, NAME_TABLE),
        )
    }
    return TAG_TABLE in names, NAME_TABLE in names


@dataclass(slots=True)
class RunIdSets:
    """The runs a filter's tags and name search select, from the tables above (SQLite).

    A query of the runs list is led by these runs when they are few (up to `LEAD_MAX`, read
    first: a lookup of each); when they are many, the query walks another index (the list's
    `sort_time`: ~50/share of matching runs visited for a page) and tests each run it visits
    (`row_tests`, the name by its ILIKE), instead of thousands of lookups and a sort.
    """

    tags: list[str] = field(default_factory=list)  # served by the tag table: a run needs all
    name: str | None = None  # served by the trigram table

    def ids(self) -> sa.Select[Any]:
        """The runs in every set: the name's (most often the fewest), else the first tag's,
        each tested for the other tags by the tag table's key."""
        if self.name is not None:
            keys, fts = flow_run_name_key.c, flow_run_name.c
            matched = sa.select(fts.rowid).where(_name_matches(self.name))
            first = sa.select(keys.run_id.label("run_id")).where(keys.key.in_(matched))
            others = self.tags
        else:
            t = flow_run_tag.c
            first = sa.select(t.run_id.label("run_id")).where(t.tag == self.tags[0])
            others = self.tags[1:]
        if not others:
            return first
        runs = first.subquery()
        return sa.select(runs.c.run_id).where(*(_has_tag(runs.c.run_id, tag) for tag in others))

    def size(self) -> sa.Select[Any] | None:
        """How many runs are in the one set, counted on its own index (~1 ms for 20,000);
        None for several (their runs in common are counted by reading them)."""
        if self.name is None and len(self.tags) == 1:
            t = flow_run_tag.c
            return sa.select(sa.func.count()).select_from(flow_run_tag).where(t.tag == self.tags[0])
        if self.name is not None and not self.tags:
            return (
                sa.select(sa.func.count())
                .select_from(flow_run_name)
                .where(_name_matches(self.name))
            )
        return None

    def leading(self, conn: sa.Connection) -> tuple[list[str] | None, int | None]:
        """(The runs in every set if at most `LEAD_MAX`, else None; how many there are,
        when known.)"""
        size_query = self.size()
        size = None if size_query is None else int(conn.execute(size_query).scalar_one())
        if size is not None and size > LEAD_MAX:
            return None, size
        found: list[str] = list(conn.execute(self.ids().limit(LEAD_MAX + 1)).scalars())
        return (found, len(found)) if len(found) <= LEAD_MAX else (None, size)

    def count(self, conn: sa.Connection) -> int:
        """How many runs are in every set."""
        size = self.leading(conn)[1]
        if size is None:
            counted = sa.select(sa.func.count()).select_from(self.ids().subquery())
            size = int(conn.execute(counted).scalar_one())
        return size

    def row_tests(self, run_id: sa.ColumnElement[str]) -> list[Condition]:
        """The tags tested run by run (the name is tested by its ILIKE)."""
        return [_has_tag(run_id, tag) for tag in self.tags]


def _has_tag(run_id: sa.ColumnElement[str], tag: str) -> Condition:
    t = flow_run_tag.c
    return sa.exists(sa.select(1).select_from(flow_run_tag).where(t.tag == tag, t.run_id == run_id))


def _name_matches(text: str) -> Condition:
    """The trigram table's rows containing `text`: one FTS5 phrase, the text's trigrams in a
    row, lowered by the lower() that lowered the names, so a match is exactly that LIKE's."""
    quoted = sa.func.replace(sa.func.lower(sa.literal(text, sa.String)), '"', '""')
    return flow_run_name.c[NAME_TABLE].op("MATCH")(sa.literal('"') + quoted + sa.literal('"'))
