"""The same store contract runs on SQLite and on PostgreSQL: `store_url` is parametrized."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mainspring.model import FlowRun, LogRecord, State, StateRecord, StateType, TaskRun, new_id
from mainspring.store.sql import SqlStore

T0 = 1_700_000_000.0  # a fixed epoch so expectations are exact
_clock = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'mainspring.db'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    s = SqlStore(store_url)
    yield s
    s.close()


def make_flow_run(flow_name: str = "etl", **fields: Any) -> FlowRun:
    state = fields.pop("state", None) or State(StateType.RUNNING, ts=T0 + next(_clock))
    fields.setdefault("id", new_id())
    fields.setdefault("name", f"run-{fields['id'][:8]}")
    fields.setdefault("created", state.ts)
    return FlowRun(flow_name=flow_name, state=state, **fields)


def make_task_run(flow_run_id: str | None, key: str = "t-0", **fields: Any) -> TaskRun:
    state = fields.pop("state", None) or State(StateType.COMPLETED, ts=T0 + next(_clock))
    fields.setdefault("id", new_id())
    fields.setdefault("created", state.ts)
    return TaskRun(
        name=fields.pop("name", key),
        task_name=fields.pop("task_name", key.rsplit("-", 1)[0]),
        task_key=key,
        state=state,
        flow_run_id=flow_run_id,
        **fields,
    )


def make_state(run_id: str, name: str, ts: float, is_task: bool = False) -> StateRecord:
    from mainspring.model import STATE_NAMES

    return StateRecord(run_id, is_task, STATE_NAMES[name], name, f"{name} message", ts)


def make_log(flow_run_id: str, task_run_id: str | None, level: int, ts: float) -> LogRecord:
    return LogRecord(flow_run_id, task_run_id, level, "mainspring.test", f"line at {ts}", ts)


def now() -> float:
    return time.time()
