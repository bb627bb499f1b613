"""Pages of the runs list by cursor (store/run_pages.py): every run once, in the list's
order, forwards and back, for each sort and with filters; beside offsets; runs written
meanwhile do not shift the pages; bad cursors are refused clearly. SQLite and PostgreSQL."""

from __future__ import annotations

import random

import pytest

from mainspring.model import FlowRunFilter, FlowRunSort, State, StateType
from mainspring.model.run_cursor import RunCursor
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

from .conftest import T0, make_flow_run


def write_runs(store: SqlStore, count: int, rng: random.Random) -> list:
    """Runs whose sort keys tie often (the id must break the ties), some not started."""
    batch = Batch()
    for i in range(count):
        at = T0 + rng.randrange(20)  # ~count/20 runs share each time
        run = make_flow_run(
            rng.choice(["etl", "report"]),
            name=f"run-{rng.randrange(15):02d}",
            state=State(StateType.COMPLETED, ts=at),
            created=at - rng.randrange(3),
            start_time=at if i % 5 else None,
            tags=["even"] if i % 2 == 0 else [],
        )
        batch.flow_runs[run.id] = run
    store.write(batch)
    return list(batch.flow_runs.values())


def walk(store: SqlStore, filter: FlowRunFilter | None, sort: FlowRunSort, size: int) -> list:
    """Every page from the first by `next`, then back from the last by `previous`."""
    pages = [store.read_flow_run_page(filter, sort, size)]
    while pages[-1].next is not None:
        pages.append(store.read_flow_run_page(filter, sort, size, after=pages[-1].next))
    assert pages[0].previous is None and pages[-1].next is None
    back = [pages[-1]]
    while back[-1].previous is not None:
        back.append(store.read_flow_run_page(filter, sort, size, before=back[-1].previous))
    assert [[r.id for r in p.runs] for p in reversed(back)] == [
        [r.id for r in p.runs] for p in pages
    ]
    return [r.id for p in pages for r in p.runs]


@pytest.mark.parametrize("sort", list(FlowRunSort))
def test_cursor_pages_give_every_run_once_in_the_lists_order(store, sort) -> None:
    write_runs(store, 103, random.Random(1))
    for filter in (None, FlowRunFilter(tags=["even"]), FlowRunFilter(flow_names=["etl"])):
        listed = [r.id for r in store.read_flow_runs(filter, sort, limit=1000)]
        assert walk(store, filter, sort, 10) == listed
        assert walk(store, filter, sort, 7) == listed
        offset_page = store.read_flow_run_page(filter, sort, 10, offset=20)
        assert [r.id for r in offset_page.runs] == listed[20:30]
        assert offset_page.previous is not None and offset_page.next is not None
        # a page named by an offset continues by cursor to where the offset would be
        following = store.read_flow_run_page(filter, sort, 10, after=offset_page.next)
        assert [r.id for r in following.runs] == listed[30:40]
        preceding = store.read_flow_run_page(filter, sort, 10, before=offset_page.previous)
        assert [r.id for r in preceding.runs] == listed[10:20]


def test_runs_written_meanwhile_do_not_shift_the_next_page(store) -> None:
    write_runs(store, 40, random.Random(2))
    first = store.read_flow_run_page(None, FlowRunSort.START_TIME_DESC, 10)
    before = [r.id for r in store.read_flow_runs(limit=100)][10:20]
    newer = make_flow_run("etl", state=State(StateType.RUNNING, ts=T0 + 500))
    store.write(Batch(flow_runs={newer.id: newer}))  # sorts first: offsets would shift
    assert store.read_flow_runs(limit=100)[0].id == newer.id
    second = store.read_flow_run_page(None, FlowRunSort.START_TIME_DESC, 10, after=first.next)
    assert [r.id for r in second.runs] == before


def test_an_empty_list_and_a_page_past_the_end(store) -> None:
    page = store.read_flow_run_page(None, FlowRunSort.START_TIME_DESC, 10)
    assert page.runs == [] and page.previous is None and page.next is None
    write_runs(store, 5, random.Random(3))
    page = store.read_flow_run_page(None, FlowRunSort.START_TIME_DESC, 10)
    assert len(page.runs) == 5 and page.previous is None and page.next is None
    assert store.read_flow_run_page(None, FlowRunSort.START_TIME_DESC, 10, offset=50).runs == []


def test_bad_cursors_are_refused(store) -> None:
    write_runs(store, 5, random.Random(4))
    run = store.read_flow_runs(limit=1)[0]
    cursor = RunCursor.of(run, FlowRunSort.START_TIME_DESC)
    assert RunCursor.decode(cursor.encode(), FlowRunSort.START_TIME_DESC) == cursor
    by_name = RunCursor.of(run, FlowRunSort.NAME_ASC)
    assert RunCursor.decode(by_name.encode(), FlowRunSort.NAME_ASC) == by_name
    for text in ("", "nonsense", "W10", cursor.encode()[:-3], "x" * 5000):
        with pytest.raises(ValueError, match="not a cursor"):
            RunCursor.decode(text, FlowRunSort.START_TIME_DESC)
    with pytest.raises(ValueError, match="sorted by START_TIME_DESC"):
        RunCursor.decode(cursor.encode(), FlowRunSort.NAME_ASC)
    with pytest.raises(ValueError, match="sorted by"):
        store.read_flow_run_page(None, FlowRunSort.NAME_ASC, 10, after=cursor)
    with pytest.raises(ValueError, match="not both"):
        store.read_flow_run_page(None, FlowRunSort.START_TIME_DESC, 10, after=cursor, before=cursor)
    with pytest.raises(ValueError, match="no offset"):
        store.read_flow_run_page(None, FlowRunSort.START_TIME_DESC, 10, offset=5, after=cursor)
