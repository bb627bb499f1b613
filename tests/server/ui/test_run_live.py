"""The live run page's `tasks` events (server/ui/run_live.py) over a real store, SQLite and
PostgreSQL: a tally of the run's task runs at the start, then only what changed since the
cursor, coalesced, as groups, runs and counts; and the page and stream that carry them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from mainspring.model import FlowRun, State, StateRecord, StateType, TaskRun, new_id
from mainspring.server.ui import run_live
from mainspring.server.ui.run_live import TaskWatch
from mainspring.store.base import Batch
from mainspring.store.sql import SqlStore

from .conftest import ui_client

T0 = 1_780_000_000.0


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    s = SqlStore(store_url, end_dead_runs=False)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_live, "EVERY", 0.0)


def _task(run: FlowRun, task: str, i: int, state: StateType, **fields) -> TaskRun:
    return TaskRun(
        id=fields.pop("id", new_id()),
        name=f"{task}-{i}",
        task_name=task,
        task_key=f"{task}-{i}",
        state=State(state, ts=T0 + i),
        flow_run_id=run.id,
        created=T0 + i,
        **fields,
    )


def _record(store: SqlStore, *tasks: TaskRun, runs: tuple[FlowRun, ...] = ()) -> None:
    states = [StateRecord(t.id, True, t.state.type, t.state.name, None, t.state.ts) for t in tasks]
    states += [StateRecord(r.id, False, r.state.type, r.state.name, None, T0) for r in runs]
    store.write(
        Batch(
            flow_runs={r.id: r for r in runs},
            task_runs={t.id: t for t in tasks},
            states=states,
        )
    )


def test_changes_arrive_as_small_tallied_events(store: SqlStore) -> None:
    run = FlowRun(new_id(), "busy", "job", State(StateType.RUNNING), created=T0, start_time=T0)
    first = _task(run, "load", 0, StateType.RUNNING, start_time=T0)
    _record(store, first, runs=(run,))
    watch = TaskWatch(store, run.id, store.change_cursor())
    assert watch.look() is None  # nothing new: no event

    done = dataclasses.replace(first, state=State(StateType.COMPLETED), end_time=T0 + 2)
    mapped = [_task(run, "work", i, StateType.RUNNING, start_time=T0 + 3) for i in range(3)]
    child = FlowRun(
        new_id(), "kid", "child", State(StateType.RUNNING), parent_flow_run_id=run.id, created=T0
    )
    _record(store, done, *mapped, runs=(child,))
    event = json.loads(watch.look() or "")
    groups = {g["name"]: g for g in event["groups"]}
    assert groups["load"] == {
        "name": "load",
        "count": 1,
        "segments": [["completed", 1]],  # Running before: counted once, as it is now
        "start": T0,
        "end": T0 + 2,
        "unfinished": 0,
    }
    assert groups["work"]["count"] == 3 and groups["work"]["unfinished"] == 3
    assert [r["id"] for r in event["runs"]] == [done.id, *(t.id for t in mapped)]
    assert event["runs"][0]["state"] == "completed" and "Completed" in event["runs"][0]["badge"]
    assert event["total"] == 4 and event["counts"].startswith("4 · ")
    assert [s["name"] for s in event["subflows"]] == ["kid"]
    assert watch.look() is None

    failed = dataclasses.replace(mapped[1], state=State(StateType.FAILED, message="<boom>"))
    _record(store, failed)
    event = json.loads(watch.look() or "")
    assert [g["name"] for g in event["groups"]] == ["work"]  # only the group touched
    assert event["groups"][0]["segments"] == [["failed", 1], ["running", 2]]
    assert event["runs"][0]["error"] == "<boom>"  # escaped by the page (textContent)
    assert "&lt;" not in event["runs"][0]["badge"] and "<boom>" not in event["counts"]


def test_a_running_run_page_streams_its_task_changes(store: SqlStore) -> None:
    run = FlowRun(new_id(), "busy", "job", State(StateType.RUNNING), created=T0, start_time=T0)
    _record(store, runs=(run,))
    with ui_client(store) as client:
        html = client.get(f"/runs/flow-run/{run.id}").text
        cursor = store.change_cursor()
        assert f"&amp;changes={cursor}" in html and 'sse-swap="tasks,end"' in html
        assert "run_live.js" in html
        _record(store, _task(run, "load", 0, StateType.COMPLETED, start_time=T0, end_time=T0))
        _record(store, runs=(dataclasses.replace(run, state=State(StateType.COMPLETED)),))
        url = f"/runs/flow-run/{run.id}/logs/stream?offset=0&changes={cursor}"
        body = client.get(url).text
        finished = client.get(f"/runs/flow-run/{run.id}").text
    tasks = [b for b in body.split("\n\n") if b.startswith("event: tasks")]
    assert len(tasks) == 1  # the changes before the end, once
    assert '"name":"load"' in tasks[0]
    assert body.rstrip().endswith("event: end\ndata: the run has finished")
    assert "sse-connect" not in finished and "run_live.js" not in finished


def test_a_run_with_more_log_lines_than_a_page_is_live_too(store: SqlStore) -> None:
    from mainspring.model import LogRecord
    from mainspring.server.ui.run_logs import PAGE

    run = FlowRun(new_id(), "chatty", "job", State(StateType.RUNNING), created=T0, start_time=T0)
    lines = [LogRecord(run.id, None, 20, "x", f"line {i}", T0 + i) for i in range(PAGE + 1)]
    store.write(Batch(flow_runs={run.id: run}, logs=lines))
    with ui_client(store) as client:
        html = client.get(f"/runs/flow-run/{run.id}").text
        _record(store, runs=(dataclasses.replace(run, state=State(StateType.COMPLETED)),))
        body = client.get(f"/runs/flow-run/{run.id}/logs/stream?tail=false&changes=0").text
    # the first page of logs is not their end: the page follows the run, not the lines
    assert "/logs/stream?tail=false&amp;changes=" in html
    assert 'id="live-note"' not in html and 'sse-swap="log"' not in html
    assert "event: log" not in body and "event: state" in body and "event: end" in body


def test_the_axis_of_a_run_of_a_millisecond_reads_in_fractions() -> None:
    from mainspring.server.ui.run_timeline import tick_label

    assert [tick_label(0.001 * i / 4, 0.001) for i in range(5)] == [
        "+0 ms",
        "+0.25 ms",
        "+0.5 ms",
        "+0.75 ms",
        "+1 ms",
    ]
    assert tick_label(90.0, 360.0) == "+1m 30s"
