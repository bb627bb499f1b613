"""A forked child makes its own connections (store/per_process.py) and leaves its parent's be:
the helper alone, and SqlStore on SQLite and PostgreSQL used on both sides of a fork."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable

import pytest

from mainspring.store.base import Batch
from mainspring.store.per_process import PerProcess
from mainspring.store.sql import SqlStore

from .conftest import make_flow_run


def in_forked_child(check: Callable[[], object]) -> int:
    """Run `check` in a forked child; its exit code: 0 when it returned, 1 when it raised."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            check()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


class Resource:
    def __init__(self) -> None:
        self.pid, self.closed, self.forgotten = os.getpid(), False, False


def _per_process() -> PerProcess[Resource]:
    def close(r: Resource) -> None:
        r.closed = True

    def forget(r: Resource) -> None:
        r.forgotten = True

    return PerProcess(Resource, close=close, forget=forget)


def test_one_resource_per_process_made_on_first_use() -> None:
    holder = _per_process()
    first = holder.get()
    assert holder.get() is first  # made once

    def child() -> None:
        mine = holder.get()
        assert mine is not first and mine.pid == os.getpid()
        assert first.forgotten and not first.closed  # the parent's connections stay open
        assert holder.get() is mine
        holder.close()
        assert mine.closed

    assert in_forked_child(child) == 0
    assert holder.get() is first and not first.forgotten and not first.closed
    holder.close()
    assert first.closed
    assert holder.get() is not first  # made anew after close (the stores refuse that first)


def test_a_failed_make_keeps_nothing() -> None:
    calls: list[int] = []

    def make() -> Resource:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("database unreachable")
        return Resource()

    holder = PerProcess(make, close=lambda r: None)
    with pytest.raises(OSError):
        holder.get()
    assert isinstance(holder.get(), Resource) and len(calls) == 2


def test_sql_store_on_both_sides_of_a_fork(store_url: str) -> None:
    """The child writes and reads through the store it inherited, and the parent's pooled
    connections (a PostgreSQL session is one socket) still work after the child is gone."""
    store = SqlStore(store_url)
    parent_run = make_flow_run()
    store.write(Batch(flow_runs={parent_run.id: parent_run}))
    engine = store.engine()
    child_run = make_flow_run()

    def child() -> None:
        store.write(Batch(flow_runs={child_run.id: child_run}))
        assert store.engine() is not engine
        assert store.read_flow_run(parent_run.id).name == parent_run.name
        store.close()  # closes the child's engine only

    assert in_forked_child(child) == 0
    assert store.engine() is engine
    assert store.read_flow_run(child_run.id).name == child_run.name
    later = make_flow_run()
    store.write(Batch(flow_runs={later.id: later}))
    assert store.count_flow_runs() == 3
    store.close()
