"""Batch writes at scale: what a set-based write could get wrong, on both databases alike.

On PostgreSQL runs and edges are upserted from arrays, a statement per chunk of rows, and states
and logs appended with COPY (store/sql/postgres.py); SQLite writes row by row.
"""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from mainspring.exceptions import StoreRejected
from mainspring.model import LogRecord, State, StateRecord, StateType, TaskRunEdge, new_id
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore, postgres
from mainspring.store.sql.postgres import BULK_ROWS
from mainspring.store.sql.schema import log, state_history

from .conftest import T0, make_flow_run, make_log, make_task_run

#: More rows than one statement of the PostgreSQL path takes, and not a multiple of it.
MANY = 2 * BULK_ROWS + 7


def messages_by_id(store: SqlStore, table: sa.Table) -> list[str]:
    with store.engine().connect() as conn:
        return list(conn.scalars(sa.select(table.c.message).order_by(table.c.id)))


def test_state_and_log_ids_follow_batch_order_across_chunks(store: SqlStore) -> None:
    runs = [make_flow_run() for _ in range(3)]
    # Timestamps that go down and repeat, so only the ids can carry the batch order.
    states = [
        StateRecord(runs[i % 3].id, False, StateType.RUNNING, "Running", f"s{i}", T0 - i // 10)
        for i in range(MANY)
    ]
    logs = [LogRecord(runs[i % 3].id, None, 20, "l", f"l{i}", T0 - i // 10) for i in range(MANY)]
    store.write(Batch(flow_runs={r.id: r for r in runs}, states=states, logs=logs))
    store.write(Batch(states=states[:2], logs=logs[:2]))  # a later batch comes after

    assert messages_by_id(store, state_history) == [f"s{i}" for i in range(MANY)] + ["s0", "s1"]
    assert messages_by_id(store, log) == [f"l{i}" for i in range(MANY)] + ["l0", "l1"]
    # a timeline is read by (timestamp, id): oldest first, and in batch order on equal times
    mine = sorted(range(1, MANY, 3), key=lambda i: (-(i // 10), i))
    expected = [f"s{i}" for i in mine] + ["s1"]  # the later batch's s1, at T0: the newest
    assert [s.message for s in store.read_states(runs[1].id)] == expected


# (stored state, snapshot state, whether the snapshot replaces it): `snapshot_may_replace`
SNAPSHOT_CASES = [
    (StateType.CANCELLING, StateType.RUNNING, False),
    (StateType.CANCELLING, StateType.SCHEDULED, False),  # an in-process AwaitingRetry
    (StateType.CANCELLING, StateType.COMPLETED, True),
    (StateType.CANCELLING, StateType.CANCELLED, True),
    (StateType.CRASHED, StateType.RUNNING, False),
    (StateType.CRASHED, StateType.FAILED, True),  # the process was alive after all
    (StateType.CRASHED, StateType.PENDING, True),  # an explicit retry
    (StateType.CANCELLED, StateType.RUNNING, False),
    (StateType.CANCELLED, StateType.SCHEDULED, True),
    (StateType.RUNNING, StateType.RUNNING, True),
    (StateType.COMPLETED, StateType.RUNNING, True),
    (StateType.COMPLETED, StateType.PENDING, False),  # a resumed attempt's record of its key
    (StateType.FAILED, StateType.PENDING, True),
]


def test_snapshot_rules_hold_for_every_row_of_a_large_batch(store: SqlStore) -> None:
    run = make_flow_run()
    copies = BULK_ROWS // len(SNAPSHOT_CASES) + 2  # the task runs span several chunks
    cases = [case for case in SNAPSHOT_CASES for _ in range(copies)]
    tasks = [
        make_task_run(run.id, f"t-{i}", state=State(old, message="old", ts=T0), run_count=1)
        for i, (old, _, _) in enumerate(cases)
    ]
    store.write(Batch(flow_runs={run.id: run}, task_runs={t.id: t for t in tasks}))
    for task, (_, new, _) in zip(tasks, cases, strict=True):
        task.state, task.run_count = State(new, message="new", ts=T0 + 1), 2
    store.write(Batch(task_runs={t.id: t for t in tasks}))

    got = {t.id: t for t in store.read_task_runs(run.id)}
    assert len(got) == len(tasks)
    for task, (old, new, replaces) in zip(tasks, cases, strict=True):
        stored = got[task.id]
        expected = (new, "new", 2) if replaces else (old, "old", 1)
        assert (stored.state.type, stored.state.message, stored.run_count) == expected, (old, new)


def test_flow_run_snapshots_in_one_batch_follow_the_rules_and_keep_heartbeats(
    store: SqlStore,
) -> None:
    runs = [
        make_flow_run(state=State(old, message="old", ts=T0), heartbeat=T0 + 1)
        for old, _, _ in SNAPSHOT_CASES
    ]
    silent = make_flow_run(heartbeat=None)  # never beat: stays without
    store.write(Batch(flow_runs={r.id: r for r in [*runs, silent]}))
    for i, (run, (_, new, _)) in enumerate(zip(runs, SNAPSHOT_CASES, strict=True)):
        # half the snapshots carry no heartbeat (the stored one stays), half a newer one
        run.state, run.heartbeat = State(new, message="new", ts=T0 + 1), (T0 + 5 if i % 2 else None)
    store.write(Batch(flow_runs={r.id: r for r in [*runs, silent]}))

    for i, (run, (old, new, replaces)) in enumerate(zip(runs, SNAPSHOT_CASES, strict=True)):
        stored = store.read_flow_run(run.id)
        expected = (new, "new") if replaces else (old, "old")
        assert (stored.state.type, stored.state.message) == expected, (old, new)
        beat = T0 + 5 if i % 2 and replaces else T0 + 1
        assert stored.heartbeat == pytest.approx(beat, abs=1e-6), (old, new)
    assert store.read_flow_run(silent.id).heartbeat is None


def test_edges_are_kept_once_within_and_across_large_batches(store: SqlStore) -> None:
    run = make_flow_run()
    ups = [new_id() for _ in range(MANY // 2)]
    task = new_id()
    edges = [TaskRunEdge(run.id, task, up, kind) for up in ups for kind in ("data", "wait")]
    store.write(Batch(flow_runs={run.id: run}, edges=[*edges, *edges[:10]]))
    store.write(Batch(edges=edges[::-1]))
    got = store.read_edges(run.id)
    assert len(got) == len(edges)
    assert {(e.upstream_id, e.kind) for e in got} == {(e.upstream_id, e.kind) for e in edges}


# Values a column-wise encoding could mangle: empty, NULL-like, quoting and array syntax,
# whitespace, every Unicode plane, and texts of a million characters.
AWKWARD = [
    "",
    "NULL",
    "null",
    '"quoted" \\ back\\slash',
    "{a,b},{}",
    " padded\t\n",
    "ünïcödé 日本語 🎉 \u2028",
    "x" * 1_000_000,
    "é🎉" * 500_000,
]


def test_awkward_values_and_nulls_round_trip(store: SqlStore) -> None:
    run = make_flow_run(
        parameters={"long": "p" * 1_000_000, "awkward": AWKWARD[:7], "none": None},
        tags=AWKWARD[:7],
        flow_version=None,
        end_time=None,
    )
    tasks = [
        make_task_run(
            run.id,
            f"t-{i}",
            name=value[:255],
            tags=[value],
            dynamic_key=None if i % 2 else value[:255],
            cache_key=None,
            state=State(StateType.FAILED, message=value, ts=T0 + i),
            start_time=None,
        )
        for i, value in enumerate(AWKWARD)
    ]
    states = [
        StateRecord(run.id, False, StateType.RUNNING, "Running", value, T0 + i)
        for i, value in enumerate([None, *AWKWARD])
    ]
    logs = [
        LogRecord(None, None, 20, value[:255], value, T0 + i) for i, value in enumerate(AWKWARD)
    ]
    logs.append(LogRecord(run.id, None, 20, "x", "tied to the run", T0))
    store.write(
        Batch(flow_runs={run.id: run}, task_runs={t.id: t for t in tasks}, states=states, logs=logs)
    )

    stored = store.read_flow_run(run.id)
    assert (stored.parameters, stored.tags) == (run.parameters, run.tags)
    assert (stored.flow_version, stored.end_time) == (None, None)
    got = {t.task_key: t for t in store.read_task_runs(run.id)}
    for i, (task, value) in enumerate(zip(tasks, AWKWARD, strict=True)):
        back = got[task.task_key]
        assert (back.name, back.tags, back.dynamic_key) == (value[:255], [value], task.dynamic_key)
        assert (back.cache_key, back.start_time) == (None, None)
        assert (back.state.type, back.state.message) == (StateType.FAILED, value), i
    assert [s.message for s in store.read_states(run.id)] == [None, *AWKWARD]
    assert messages_by_id(store, log) == [*AWKWARD, "tied to the run"]
    with store.engine().connect() as conn:
        loggers = list(conn.scalars(sa.select(log.c.logger).order_by(log.c.id)))
    assert loggers == [value[:255] for value in AWKWARD] + ["x"]


def test_int_and_float_times_mix_in_one_batch(store: SqlStore) -> None:
    """A column's values travel as one array on PostgreSQL: ints and floats must both go."""
    run = make_flow_run(created=1_700_000_000, heartbeat=T0 + 0.5)
    other = make_flow_run(created=T0 + 0.5, heartbeat=1_700_000_002)
    tasks = [
        make_task_run(run.id, "a-0", created=1_700_000_000, start_time=T0 + 0.5),
        make_task_run(run.id, "b-0", created=T0 + 0.5, start_time=1_700_000_001),
    ]
    states = [
        StateRecord(run.id, False, StateType.RUNNING, "Running", None, ts)
        for ts in (1_700_000_000, T0 + 0.5)
    ]
    logs = [make_log(run.id, None, 20, ts) for ts in (T0 + 0.25, 1_700_000_001)]
    store.write(
        Batch(
            flow_runs={run.id: run, other.id: other},
            task_runs={t.id: t for t in tasks},
            states=states,
            logs=logs,
        )
    )
    assert store.read_flow_run(run.id).created == 1_700_000_000.0
    assert store.read_flow_run(other.id).heartbeat == 1_700_000_002.0
    got = [(t.created, t.start_time) for t in store.read_task_runs(run.id)]
    assert got == [(1_700_000_000.0, T0 + 0.5), (T0 + 0.5, 1_700_000_001.0)]
    assert [s.ts for s in store.read_states(run.id)] == [1_700_000_000.0, T0 + 0.5]
    assert [r.ts for r in store.read_logs(run.id)] == [T0 + 0.25, 1_700_000_001.0]


def test_texts_beyond_one_statement_budget_are_split_and_stored_whole(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "BULK_CHARS", 2_500_000)  # 2 of these million-char messages
    run = make_flow_run()
    failed = [State(StateType.FAILED, message=f"{i:07}" + "m" * 999_993, ts=T0) for i in range(7)]
    failed.insert(3, State(StateType.FAILED, message="", ts=T0))
    tasks = [make_task_run(run.id, f"t-{i}", state=state) for i, state in enumerate(failed)]
    store.write(Batch(flow_runs={run.id: run}, task_runs={t.id: t for t in tasks}))
    got = store.read_task_runs(run.id)  # all created at T0: in the order they were written
    assert [(t.id, t.state.message) for t in got] == [(t.id, t.state.message) for t in tasks]


def test_a_bad_row_late_in_a_batch_is_refused_alone_the_rest_stored_once(
    store: SqlStore,
) -> None:
    """The database refuses one row for good (NOT NULL): the batch is halved, one transaction
    a part, until that row stands alone; the others are stored, and a retry of the same batch
    (as the recorder would make after a transient failure) stores nothing twice."""
    run = make_flow_run()
    tasks = [make_task_run(run.id, f"t-{i}") for i in range(MANY)]
    logs = [make_log(run.id, None, 20, T0 + i) for i in range(MANY)]
    store.write(Batch(flow_runs={run.id: run}, logs=logs[:1]))
    bad = [*logs[:-1], logs[-1]._replace(logger=None)]  # violates NOT NULL, the very last row
    batch = Batch(task_runs={t.id: t for t in tasks}, logs=bad)
    for _attempt in (1, 2):
        with pytest.raises(StoreRejected, match="refused 1 of") as refused:
            store.write(batch)
        assert refused.value.refused == 1 and "logger" in str(refused.value)
        assert "INSERT" not in str(refused.value)  # neither the statement nor its values
        ((part, _reason),) = refused.value.parts
        assert part.logs == [bad[-1]] and part.size() == 1
        assert len(store.read_task_runs(run.id)) == MANY
        assert messages_by_id(store, log) == [logs[0].message] + [r.message for r in bad[:-1]]


def test_an_overlong_name_is_refused_on_every_store_and_never_cut(store: SqlStore) -> None:
    """A task run name past its column's 255 characters is refused by SQLite as by PostgreSQL
    (which alone would notice); the flow run written with it is stored."""
    run = make_flow_run()
    task = make_task_run(run.id, "t-0", name="n" * 300)
    with pytest.raises(StoreRejected, match=r"task_run\.name is 300 characters long") as refused:
        store.write(Batch(flow_runs={run.id: run}, task_runs={task.id: task}))
    assert refused.value.refused == 1
    assert store.read_flow_run(run.id).id == run.id
    assert store.read_task_runs(run.id) == []


@pytest.mark.slow
def test_a_batch_of_100_000_rows(store: SqlStore) -> None:
    """Far beyond PostgreSQL's 65,535 bind parameters per statement, in one transaction."""
    run = make_flow_run()
    tasks = [make_task_run(run.id, f"t-{i}") for i in range(20_000)]
    states = [
        StateRecord(t.id, True, StateType.COMPLETED, "Completed", None, T0 + i)
        for i, t in enumerate(tasks)
    ] * 2
    logs = [make_log(run.id, t.id, 20, T0 + i) for i, t in enumerate(tasks)]
    edges = [TaskRunEdge(run.id, b.id, a.id) for a, b in itertools.pairwise(tasks)]
    batch = Batch(
        flow_runs={run.id: run},
        task_runs={t.id: t for t in tasks},
        states=states,
        logs=logs,
        edges=edges,
    )
    assert batch.size() >= 100_000
    store.write(batch)
    assert len(store.read_task_runs(run.id)) == 20_000
    assert len(store.read_logs(run.id, limit=100_000)) == 20_000
    assert len(store.read_edges(run.id)) == 19_999
    assert [s.ts for s in store.read_states(tasks[-1].id)] == [T0 + 19_999] * 2
    with store.engine().connect() as conn:
        query = sa.select(state_history.c.run_id).order_by(state_history.c.id)
        assert list(conn.scalars(query)) == [s.run_id for s in states]
