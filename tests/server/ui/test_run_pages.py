"""The flow-run and task-run pages as HTML (the app in-process over history.py's real runs):
what a person checks on them, escaping of hostile text, 404s, the actions and who may use
them, the log filter and the log stream."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring.model import FlowRunFilter, State, StateType, new_id
from mainspring.server.auth import create_api_key
from mainspring.store.sql import SqlStore

from .conftest import ui_client
from .history import HOSTILE, POOL


def run_of(store: SqlStore, flow_name: str):
    [run] = store.read_flow_runs(FlowRunFilter(flow_names=[flow_name]), limit=1)
    return run


@pytest.fixture
def scratch_store(history_home: Path, tmp_path: Path) -> Iterator[SqlStore]:
    """A copy of the history, for tests that change runs or add keys."""
    copy = tmp_path / "scratch.db"
    with sqlite3.connect(history_home / "mainspring.db") as source, sqlite3.connect(copy) as to:
        source.backup(to)  # with what the write-ahead log still holds
    store = SqlStore(f"sqlite:///{copy}", end_dead_runs=False)
    yield store
    store.close()


def csrf(client) -> str:
    client.get("/settings")
    return client.cookies.get("ms_csrf")


def test_a_completed_run_shows_its_name_state_tasks_and_result(client, history_store) -> None:
    run = history_store.read_flow_runs(
        FlowRunFilter(flow_names=["weather"], states=["COMPLETED"]), limit=10
    )[0]  # the latest: three cities
    page = client.get(f"/runs/flow-run/{run.id}")
    assert page.status_code == 200
    html = page.text
    assert f"<title>{run.name} · weather · Mainspring</title>" in html
    assert "✔</span> Completed" in html
    assert "&#34;cities&#34;: [" in html and "&#34;Quito&#34;" in html  # the parameters
    # the Gantt: extract was mapped over 3 cities (one group of 3), transform called 3 times
    rows = re.findall(r'data-count="(\d+)" data-name="([^"]+)"', html)
    assert {name: int(n) for n, name in rows} == {"extract": 3, "transform": 3}
    assert html.count('class="gantt-row ') == 2
    for task_run in history_store.read_task_runs(run.id):
        assert f'href="/runs/task-run/{task_run.id}"' in html
    assert "Got 3 readings" in html  # a log line
    assert "The result was not persisted" in html
    assert "Cancel run" not in html and "Retry" not in html  # nothing to do to a finished run


def test_a_failed_run_shows_the_failing_task_and_its_traceback(client, history_store) -> None:
    run = run_of(history_store, "flaky-import")
    html = client.get(f"/runs/flow-run/{run.id}").text
    assert "✖</span> Failed" in html
    assert 'id="error-h"' in html
    assert "Traceback (most recent call last)" in html
    assert "ConnectionError: http://source.invalid/data.csv is unreachable" in html
    # not a deployment run: the page says how to retry it instead of offering a button
    assert f"mainspring flow-run retry {run.id}" in html
    assert f'action="/runs/flow-run/{run.id}/retry"' not in html

    [task_run] = history_store.read_task_runs(run.id)
    task_html = client.get(f"/runs/task-run/{task_run.id}").text
    assert f'href="/runs/flow-run/{run.id}"' in task_html
    attempts = re.search(r'id="attempts-h".*?</table>', task_html, re.S).group(0)
    assert attempts.count("<tr><td>") == 3  # two retries, then Failed
    assert attempts.count("AwaitingRetry") == 2 and "✖</span> Failed" in attempts
    assert "Retries are exhausted" in task_html
    assert "none (not cached)" in task_html
    assert 'class="log-task"' not in task_html  # its lines do not link to the page itself


def test_subflow_runs_link_to_each_other(client, history_store) -> None:
    parent = run_of(history_store, "weather-summary")
    children = history_store.read_flow_runs(FlowRunFilter(parent_flow_run_id=parent.id))
    assert len(children) == 2
    html = client.get(f"/runs/flow-run/{parent.id}").text
    assert 'id="subflows-h"' in html
    for child in children:
        assert f'href="/runs/flow-run/{child.id}"' in html
        child_html = client.get(f"/runs/flow-run/{child.id}").text
        assert f'<a href="/runs/flow-run/{parent.id}">{parent.name}</a>' in child_html
    assert html.count('class="gantt-row gantt-subflow"') == 2


def test_hostile_text_is_escaped_on_both_pages(client, history_store) -> None:
    run = run_of(history_store, f"hostile {HOSTILE}")
    html = client.get(f"/runs/flow-run/{run.id}").text
    [task_run] = history_store.read_task_runs(run.id)
    task_html = client.get(f"/runs/task-run/{task_run.id}").text
    for page in (html, task_html):
        assert "<script>alert(" not in page
        assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # the flow name, parameter
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the error
    assert "Hostile log line: &lt;script&gt;" in task_html  # a log line
    stream = client.get(f"/runs/flow-run/{run.id}/logs/stream").text
    assert "<script>alert(" not in stream and "&lt;script&gt;" in stream


def test_unknown_and_malformed_ids_are_404_pages(client) -> None:
    for path in (
        f"/runs/flow-run/{new_id()}",
        f"/runs/task-run/{new_id()}",
        "/runs/flow-run/not-an-id",
        "/runs/task-run/%3Cscript%3E",
        f"/runs/flow-run/{new_id()}/logs/stream",
    ):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "<title>Not found · Mainspring</title>" in page.text
        assert "<script>" not in page.text.split("</head>")[1]


def test_logs_filter_by_level_and_text(client, history_store) -> None:
    run = run_of(history_store, "flaky-import")
    page = f"/runs/flow-run/{run.id}"
    everything = client.get(page).text
    assert "Retry 1/2 will start" in everything
    errors = client.get(page, params={"level": "error"}).text
    logs = errors.split('id="logs-h"')[1]
    assert "Retry 1/2 will start" not in logs and "Retries are exhausted" in logs
    assert '<option value="error" selected>' in errors
    found = client.get(page, params={"q": "retry 2/2"}).text.split('id="logs-h"')[1]
    assert found.count('<li class="log ') == 1 and "Retry 2/2" in found
    nothing = client.get(page, params={"q": "no such words"}).text
    assert "No log lines match." in nothing
    junk = client.get(page, params={"level": "<b>", "log_page": "x", "task_page": "-3"})
    assert junk.status_code == 200  # nonsense in the query is ignored, not a 500


def test_the_log_stream_of_a_finished_run_sends_its_lines_then_ends(client, history_store):
    run = run_of(history_store, "flaky-import")
    lines = history_store.read_logs(run.id)
    with client.stream("GET", f"/runs/flow-run/{run.id}/logs/stream?offset=2") as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        body = answer.read().decode()
    assert f"id: {len(lines)}" in body  # the page now holds every line
    assert lines[0].message not in body  # the page had the first two already
    assert "event: log" in body and "event: state" in body
    assert body.rstrip().endswith("event: end\ndata: the run has finished")
    resumed = client.get(
        f"/runs/flow-run/{run.id}/logs/stream", headers={"Last-Event-ID": str(len(lines))}
    ).text
    assert "event: log" not in resumed and "event: end" in resumed


def running_run(store: SqlStore) -> str:
    """A flow run Running in a process elsewhere (heartbeating), as the store sees it."""
    from mainspring.model import FlowRun
    from mainspring.store.base import Batch

    now = time.time()
    run = FlowRun(
        new_id(),
        "busy-bee",
        "long-job",
        State(StateType.RUNNING),
        created=now,
        start_time=now,
        heartbeat=now,
        run_count=1,
        host="another-host",
        pid=4242,
    )
    store.write(Batch(flow_runs={run.id: run}))
    return run.id


def test_cancel_from_the_page(scratch_store) -> None:
    run_id = running_run(scratch_store)
    with ui_client(scratch_store) as client:
        html = client.get(f"/runs/flow-run/{run_id}").text
        assert f'action="/runs/flow-run/{run_id}/cancel"' in html
        assert f'sse-connect="/runs/flow-run/{run_id}/logs/stream?offset=0&amp;changes=' in html
        done = client.post(
            f"/runs/flow-run/{run_id}/cancel",
            data={"csrf_token": csrf(client)},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == f"/runs/flow-run/{run_id}"
        after = client.get(f"/runs/flow-run/{run_id}").text
        assert "The run is Cancelling" in after  # the flash
        assert "Cancelling" in after and "Cancel run" not in after
    assert scratch_store.read_flow_run(run_id).state.type is StateType.CANCELLING


def test_read_only_viewers_see_no_actions_and_are_refused(scratch_store) -> None:
    run_id = running_run(scratch_store)
    _, read_key = create_api_key(scratch_store, "viewer", read_only=True)
    with ui_client(scratch_store) as client:
        client.cookies.set("ms_api_key", read_key)
        html = client.get(f"/runs/flow-run/{run_id}").text
        assert "Cancel run" not in html and "read-only" in html
        for action in ("cancel", "retry"):
            refused = client.post(
                f"/runs/flow-run/{run_id}/{action}", data={"csrf_token": csrf(client)}
            )
            assert refused.status_code == 403, action
            assert "read-only" in refused.text
        client.cookies.delete("ms_api_key")
        assert (
            client.post(
                f"/runs/flow-run/{run_id}/cancel", data={"csrf_token": csrf(client)}
            ).status_code
            == 401
        )
    assert scratch_store.read_flow_run(run_id).state.type is StateType.RUNNING


def test_retry_hands_a_failed_deployment_run_back_to_its_pool(scratch_store) -> None:
    deployment = scratch_store.find_deployment("weather", "nightly")
    run = scratch_store.create_deployment_run(deployment.id, {"cities": []}, when=time.time()).run
    [claimed] = scratch_store.claim_runs(POOL, None, "worker-1", 5)
    assert claimed.run.id == run.id
    scratch_store.set_state(run.id, State(StateType.RUNNING))
    scratch_store.set_state(run.id, State(StateType.FAILED, message="it broke"))
    with ui_client(scratch_store) as client:
        html = client.get(f"/runs/flow-run/{run.id}").text
        assert f'action="/runs/flow-run/{run.id}/retry"' in html
        assert "mainspring flow-run retry" not in html
        token = csrf(client)
        after = client.post(f"/runs/flow-run/{run.id}/retry", data={"csrf_token": token}).text
        assert "Scheduled again" in after  # the flash, on the run's page
        assert scratch_store.read_flow_run(run.id).state.name == "Scheduled"
        [again] = scratch_store.claim_runs(POOL, None, "worker-2", 5)
        assert again.run.id == run.id
        # a second click, once the run is going again, is refused with the reason
        refused = client.post(f"/runs/flow-run/{run.id}/retry", data={"csrf_token": token})
        assert "Not retried: The run is Pending" in refused.text


def test_a_run_of_10000_task_runs_renders_a_bounded_page(tmp_path) -> None:
    """The timeline, the graph and the table stay small whatever the run's size (the page
    does not hold one element per task run)."""
    from mainspring.model import FlowRun, TaskRun, TaskRunEdge
    from mainspring.store.base import Batch

    store = SqlStore(f"sqlite:///{tmp_path / 'big.db'}")
    t0 = time.time() - 100
    run = FlowRun(
        new_id(),
        "huge-map",
        "big",
        State(StateType.COMPLETED, ts=t0 + 90),
        created=t0,
        start_time=t0,
        end_time=t0 + 90,
        run_count=1,
    )
    load = TaskRun(
        new_id(),
        "load-0",
        "load",
        "load-0",
        State(StateType.COMPLETED, ts=t0 + 0.5),
        flow_run_id=run.id,
        created=t0,
        start_time=t0,
        end_time=t0 + 0.5,
        run_count=1,
    )
    batch = Batch(flow_runs={run.id: run}, task_runs={load.id: load})
    for i in range(10_000):
        kind = StateType.FAILED if i % 1000 == 0 else StateType.COMPLETED
        begin = t0 + 1 + i / 200
        tr = TaskRun(
            new_id(),
            f"work-{i}",
            "work",
            f"work-{i}",
            State(kind, ts=begin + 1),
            flow_run_id=run.id,
            created=begin,
            start_time=begin,
            end_time=begin + 1,
            run_count=1,
        )
        batch.task_runs[tr.id] = tr
        batch.edges.append(TaskRunEdge(run.id, tr.id, load.id))
    store.write(batch)
    with ui_client(store) as client:
        html = client.get(f"/runs/flow-run/{run.id}").text
        graph = client.get(f"/runs/flow-run/{run.id}/graph?fragment=true").text
        graph_page = client.get(f"/runs/flow-run/{run.id}/graph").text
        task_html = client.get(f"/runs/task-run/{load.id}").text
        assert client.get(f"/runs/flow-run/{new_id()}/graph").status_code == 404
    store.close()
    assert 'data-count="10000" data-name="work"' in html
    assert 'data-count="1" data-name="load"' in html
    assert f'<a href="/runs/task-run/{load.id}">load</a>' in html  # a task called once
    assert "✖</span> Failed</span> 10" in html  # the run's task runs by state
    assert "All 10,000 runs of work" in html
    assert html.count('class="gantt-line"') <= 60
    assert html.count('"><td><a href="/runs/task-run/') == 50  # one page of the table
    assert "Page 1 of 201" in html
    assert len(html) < 300_000
    # the graph: two nodes (load, work with its 10,000 runs) and one arrow of 10,000 edges
    assert graph.count('<g class="node"') == 2 and "10,000 runs · failed" in graph
    assert "<title>10000 data edge(s)</title>" in graph
    assert "<title>Dependencies · huge-map · Mainspring</title>" in graph_page
    assert f'hx-get="/runs/flow-run/{run.id}/graph?fragment=true"' in html
    # the task run fed 10,000: its page names the first 100 users, not all
    assert task_html.count('<li><a href="/runs/task-run/') == 100


@pytest.mark.postgres
def test_the_run_pages_on_postgresql(postgres_database: str) -> None:
    from mainspring.model import FlowRun, LogRecord, TaskRun, TaskRunEdge
    from mainspring.store.base import Batch

    store = SqlStore(postgres_database)
    t0 = time.time() - 60
    run = FlowRun(
        new_id(),
        "pg-run",
        "on-postgres",
        State(StateType.FAILED, message="<b>no</b>"),
        created=t0,
        start_time=t0,
        end_time=t0 + 5,
        run_count=1,
    )
    first = TaskRun(
        new_id(),
        "a-0",
        "a",
        "a-0",
        State(StateType.COMPLETED),
        flow_run_id=run.id,
        created=t0,
        start_time=t0,
        end_time=t0 + 1,
        run_count=1,
    )
    second = TaskRun(
        new_id(),
        "b-0",
        "b",
        "b-0",
        State(StateType.FAILED),
        flow_run_id=run.id,
        created=t0 + 1,
        start_time=t0 + 1,
        end_time=t0 + 2,
        run_count=1,
    )
    trace = "b failed\nTraceback (most recent call last):\nValueError: <script>x</script>"
    store.write(
        Batch(
            flow_runs={run.id: run},
            task_runs={first.id: first, second.id: second},
            edges=[TaskRunEdge(run.id, second.id, first.id)],
            logs=[LogRecord(run.id, second.id, 40, "mainspring.task_runs", trace, t0 + 2)],
        )
    )
    try:
        with ui_client(store) as client:
            html = client.get(f"/runs/flow-run/{run.id}").text
            graph = client.get(f"/runs/flow-run/{run.id}/graph?fragment=true").text
            task_html = client.get(f"/runs/task-run/{second.id}").text
            stream = client.get(f"/runs/flow-run/{run.id}/logs/stream?offset=x").text
    finally:
        store.close()
    assert "&lt;b&gt;no&lt;/b&gt;" in html and "ValueError: &lt;script&gt;x" in html
    assert html.count('class="gantt-row ') == 2
    assert "<title>1 data edge(s)</title>" in graph
    assert f'<a href="/runs/task-run/{first.id}">a-0</a>' in task_html  # its input's source
    assert "event: log" in stream and "<script>" not in stream


def test_the_other_pages_link_to_the_run_pages(client, history_store) -> None:
    run = run_of(history_store, "flaky-import")
    assert f'href="/runs/flow-run/{run.id}"' in client.get("/runs").text
    assert f'href="/runs/flow-run/{run.id}"' in client.get("/dashboard").text  # failed runs
