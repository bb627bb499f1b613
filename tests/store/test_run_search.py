"""The runs list's tag filter and name search (migration 0017): on SQLite answered by a tag
table and a trigram table kept by triggers, with exactly the runs the plain conditions on
`flow_run` (what every query read before) select; the tables stay exact through writes,
rewrites and deletes, and the migration fills them from the runs already there. SQLite and
PostgreSQL (where the plain conditions are indexed since 0015)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
import sqlalchemy as sa
from alembic import command

from mainspring.model import FlowRunFilter, FlowRunSort, State, StateType
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore
from mainspring.store.sql.migrations import alembic_config
from mainspring.store.sql.run_search import LEAD_MAX
from mainspring.store.sql.schema import flow_run

from .conftest import T0, make_flow_run

TRICKY_NAMES = [
    "Amber-Otter-1a2b", "amber-OTTER-9f9f", "ÉCOLE-du-soir", "école-du-matin", "100%_done",
    "100 percent done", "say \"hi\" twice", "it's-late", "back\\slash", "under_score",
    "underXscore", "a", "ab", "ΑΒΓ-greek", "αβγ-greek", "emoji-🚀-run", "MiXeD-CaSe-RUN",
]  # fmt: skip
QUERIES = [
    "otter", "OTTER", "Otter-1", "o", "ot", "%", "_", "%_", "0%_d", "\"hi\"", "\"", "'",
    "it's", "\\", "back\\s", "under_", "école", "ÉCOLE", "αβγ", "ΑΒΓ", "🚀", "-", "run",
    "nothing-like-this", "e-d", "a", "ab", "abc",
]  # fmt: skip
TAGS = ["prod", "daily", "finance", "ml", "100%", "it's", "ünï"]


def plain_ids(store: SqlStore, filter: FlowRunFilter) -> set[str]:
    """The runs the plain conditions on `flow_run` select (no connection: no tables used)."""
    query = sa.select(flow_run.c.id).where(*store._conditions(filter))
    with store.engine().connect() as conn:
        return set(conn.execute(query).scalars())


def assert_same_as_plain(store: SqlStore, filter: FlowRunFilter) -> None:
    expected = plain_ids(store, filter)
    assert store.count_flow_runs(filter) == len(expected), filter
    assert {r.id for r in store.read_flow_runs(filter, limit=10_000)} == expected, filter
    points = store.read_run_points(filter, 10_000)
    started = {r.id for r in store.read_flow_runs(filter, limit=10_000) if r.start_time}
    assert {p.id for p in points} == started, filter


def write_history(store: SqlStore, runs: int, rng: random.Random) -> list:
    batch = Batch()
    made = []
    for i in range(runs):
        name = rng.choice(TRICKY_NAMES) + f"-{i}"
        run = make_flow_run(
            rng.choice(["etl", "report"]),
            name=name,
            tags=rng.sample(TAGS, k=rng.randint(0, 3)) + (["common"] if i % 10 else []),
            state=State(rng.choice([StateType.COMPLETED, StateType.FAILED]), ts=T0 + i),
            start_time=T0 + i if i % 4 else None,
        )
        batch.flow_runs[run.id] = run
        made.append(run)
    store.write(batch)
    return made


def test_names_and_tags_select_what_the_plain_conditions_select(store) -> None:
    write_history(store, 300, random.Random(17))
    for query in QUERIES:
        assert_same_as_plain(store, FlowRunFilter(name_contains=query))
    for tags in (["finance"], ["100%"], ["it's"], ["ünï"], ["prod", "ml"], ["nope"]):
        assert_same_as_plain(store, FlowRunFilter(tags=tags))
        assert_same_as_plain(store, FlowRunFilter(tags=tags, name_contains="otter"))
        assert_same_as_plain(store, FlowRunFilter(tags=tags, flow_names=["etl"]))
        assert_same_as_plain(store, FlowRunFilter(tags=tags, states=["FAILED"], name_contains="e"))


def test_the_search_is_a_case_insensitive_contains(store) -> None:
    write_history(store, 40, random.Random(3))
    names = [r.name for r in store.read_flow_runs(limit=1000)]
    for query, expect in [("otter", "otter"), ("OTTER-1", "otter-1"), ("0%_d", "0%_d")]:
        found = {r.name for r in store.read_flow_runs(FlowRunFilter(name_contains=query))}
        assert found == {n for n in names if expect in n.lower()}
    quoted = {r.name for r in store.read_flow_runs(FlowRunFilter(name_contains='y "HI" t'))}
    assert quoted == {n for n in names if 'say "hi" twice' in n}
    # `%` and `_` are themselves, not wildcards; 1 and 2 characters are searched too
    assert all("_" in r.name for r in store.read_flow_runs(FlowRunFilter(name_contains="_")))
    assert store.count_flow_runs(FlowRunFilter(name_contains="%")) == sum("%" in n for n in names)


def test_many_matches_are_tested_run_by_run_and_give_the_same_runs(store) -> None:
    """Beyond LEAD_MAX matching runs the query walks the list's order instead of looking up
    each match; a page and the count are the same either way."""
    runs = write_history(store, LEAD_MAX + 300, random.Random(5))
    for filter in (
        FlowRunFilter(name_contains="-"),  # every run
        FlowRunFilter(name_contains="-1"),
        FlowRunFilter(tags=["common"]),  # 90% of them
        FlowRunFilter(tags=["common"], name_contains="-"),
        FlowRunFilter(tags=["common", "prod"], name_contains="-1"),
        FlowRunFilter(tags=["common"], states=["COMPLETED"]),
    ):
        if filter.name_contains != "-1" and not filter.states:  # the others: found, then few
            assert len(plain_ids(store, filter)) > LEAD_MAX
        expected = plain_ids(store, filter)
        assert store.count_flow_runs(filter) == len(expected)
        assert {p.id for p in store.read_run_points(filter, 5000)} == {
            r.id for r in runs if r.id in expected and r.start_time
        }
        newest = sorted(
            (r for r in runs if r.id in expected),
            key=lambda r: (r.start_time or r.created, r.id),
            reverse=True,
        )
        page = store.read_flow_runs(filter, FlowRunSort.START_TIME_DESC, 50, 100)
        assert [r.id for r in page] == [r.id for r in newest[100:150]]


def test_the_tables_stay_exact_through_rewrites_renames_and_deletes(store) -> None:
    runs = write_history(store, 60, random.Random(9))
    again = Batch()
    for i, run in enumerate(runs[::2]):  # the recorder rewrites runs: new tags, a new name
        again.flow_runs[run.id] = replace(
            run, name=f"renamed-Zebra-{i}", tags=["fresh", *run.tags[:1]], run_count=2
        )
    store.write(again)
    store.create_work_pool(WorkPool("pool"))
    deployment = store.upsert_deployment(
        Deployment("etl", "nightly", entrypoint="f.py:etl", work_pool_name="pool", tags=["dep"])
    )
    for i in range(5):
        store.create_deployment_run(deployment.id, now=T0 + i)
    assert store.count_flow_runs(FlowRunFilter(name_contains="nightly")) == len(
        plain_ids(store, FlowRunFilter(name_contains="nightly"))
    )
    for query in ("zebra", "otter", "ÉCOLE", "nightly", "renamed"):
        assert_same_as_plain(store, FlowRunFilter(name_contains=query))
    for tags in (["fresh"], ["dep"], ["finance"]):
        assert_same_as_plain(store, FlowRunFilter(tags=tags))
    assert store.count_flow_runs(FlowRunFilter(name_contains="zebra")) == 30
    store.delete_deployment(deployment.id)  # deletes its runs that have not started
    for query in ("nightly", "zebra"):
        assert_same_as_plain(store, FlowRunFilter(name_contains=query))
    assert_same_as_plain(store, FlowRunFilter(tags=["dep"]))
    assert_tables_exact(store)


def assert_tables_exact(store: SqlStore) -> None:
    """SQLite: the tag table and the trigram table's text equal what the runs hold."""
    if store.engine().dialect.name != "sqlite":
        return
    with store.engine().connect() as conn:
        runs = conn.execute(sa.select(flow_run.c.id, flow_run.c.name, flow_run.c.tags)).all()
        tags = set(conn.exec_driver_sql("SELECT tag, run_id FROM flow_run_tag").all())
        names = dict(
            conn.exec_driver_sql(
                "SELECT k.run_id, f.name FROM flow_run_name AS f "
                "JOIN flow_run_name_key AS k ON k.key = f.rowid"
            ).all()
        )
        lowered = dict(conn.exec_driver_sql("SELECT id, lower(name) FROM flow_run").all())
        fts_rows = conn.exec_driver_sql("SELECT count(*) FROM flow_run_name").scalar()
    assert tags == {(tag, run_id) for run_id, _, run_tags in runs for tag in run_tags}
    assert names == lowered and fts_rows == len(runs)


def test_the_migration_fills_the_tables_from_the_runs_already_there(store_url) -> None:
    store = SqlStore(store_url)
    write_history(store, 30, random.Random(1))
    with store.engine().begin() as conn:
        command.downgrade(alembic_config(conn), "0016")  # drops the tables and triggers
    write_history(store, 40, random.Random(2))  # written with nothing indexing them
    with store.engine().begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    store.close()
    store = SqlStore(store_url)  # a new engine: looks at the schema again
    try:
        assert_tables_exact(store)
        for query in ("otter", "école", "%_"):
            assert_same_as_plain(store, FlowRunFilter(name_contains=query))
        assert_same_as_plain(store, FlowRunFilter(tags=["finance", "prod"]))
        assert store.count_flow_runs() == 70
    finally:
        store.close()


def test_sqlite_reads_neither_filter_by_scanning_the_runs(tmp_path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        write_history(store, 50, random.Random(4))
        plans = []
        with store.engine().connect() as conn:
            for filter in (FlowRunFilter(tags=["finance"]), FlowRunFilter(name_contains="otter")):
                query = (
                    sa.select(flow_run.c.id)
                    .where(*store._conditions(filter, conn))
                    .order_by(flow_run.c.sort_time.desc(), flow_run.c.id.desc())
                )
                sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
                plans += [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
        assert plans and not [p for p in plans if p.startswith("SCAN flow_run ")], plans
    finally:
        store.close()


@pytest.mark.parametrize("query", ["ot", "o"])
def test_queries_too_short_for_a_trigram_still_find_their_runs(store, query) -> None:
    write_history(store, 30, random.Random(6))
    assert_same_as_plain(store, FlowRunFilter(name_contains=query))
    assert store.count_flow_runs(FlowRunFilter(name_contains=query)) > 0


def test_sqlite_without_the_trigram_table_searches_names_by_reading_the_runs(tmp_path) -> None:
    """Where the migration found no FTS5 trigram tokenizer it leaves the table out: the name
    search reads the runs (as before 0017), the tag table still serves, writes go on."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = SqlStore(url)
    write_history(store, 40, random.Random(12))
    with store.engine().begin() as conn:
        for event in ("insert", "update", "delete"):
            conn.exec_driver_sql(f"DROP TRIGGER flow_run_name_{event}")
        conn.exec_driver_sql("DROP TABLE flow_run_name")
        conn.exec_driver_sql("DROP TABLE flow_run_name_key")
    store.close()
    store = SqlStore(url)
    try:
        write_history(store, 20, random.Random(13))
        for query in ("otter", "ÉCOLE", "%_", "ot"):
            assert_same_as_plain(store, FlowRunFilter(name_contains=query))
            assert_same_as_plain(store, FlowRunFilter(name_contains=query, tags=["finance"]))
        assert store.count_flow_runs() == 60
        with store.engine().connect() as conn:
            filter = FlowRunFilter(name_contains="otter", tags=["finance"])
            query = sa.select(flow_run.c.id).where(*store._conditions(filter, conn))
            sql = str(query.compile(conn))
        assert "flow_run_name" not in sql and "lower(flow_run.name) LIKE" in sql
    finally:
        store.close()
