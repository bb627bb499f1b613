"""RunInsights (the web UI's aggregates) and the runs filters it added, on SQLite and
PostgreSQL: counts by state in time buckets, task-run counts, flow statistics, duration
points, upcoming runs; the deployment and name-search filters."""

from __future__ import annotations

import pytest

from mainspring.exceptions import NeedsDatabase
from mainspring.model import FlowRunFilter, State, StateType
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.store.base import Batch
from mainspring.store.http import ApiStore

from .conftest import T0, make_flow_run, make_task_run

C, F, X, R = StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.RUNNING


def run(flow: str, type_: StateType, at: float, duration: float | None = 10.0, **fields):
    end = at + duration if duration is not None and type_ is not R else None
    state = State(type_, ts=end if end is not None else at + 1)
    return make_flow_run(flow, state=state, start_time=at, end_time=end, created=at, **fields)


@pytest.fixture
def history(store):
    runs = [
        run("etl", C, T0 + 0),
        run("etl", C, T0 + 100, 30.0),
        run("etl", F, T0 + 250),
        run("report", X, T0 + 260),
        run("report", R, T0 + 390),
        run("etl", C, T0 + 1000),  # outside a window ending at T0 + 400
    ]
    tasks = [
        make_task_run(runs[0].id, "a-0", created=T0 + 1),
        make_task_run(runs[0].id, "a-1", created=T0 + 2),
        make_task_run(runs[2].id, "a-0", state=State(F, ts=T0 + 251), created=T0 + 251),
        make_task_run(runs[5].id, "a-0", created=T0 + 1001),  # created after the window
    ]
    store.write(Batch(flow_runs={r.id: r for r in runs}, task_runs={t.id: t for t in tasks}))
    return runs


def test_flow_runs_by_state_fall_in_their_buckets(store, history) -> None:
    buckets = store.count_flow_runs_by_state(T0, T0 + 400, 4)  # 100 s each
    got = {(b.bucket, b.state_type): b.count for b in buckets}
    assert got == {(0, C): 1, (1, C): 1, (2, F): 1, (2, X): 1, (3, R): 1}
    assert store.count_flow_runs_by_state(T0 + 5000, T0 + 6000, 10) == []


def test_bad_windows_are_refused(store) -> None:
    for since, until, buckets in ((T0, T0, 1), (T0, T0 + 1, 0), (T0, T0 + 1, 1001)):
        with pytest.raises(ValueError):
            store.count_flow_runs_by_state(since, until, buckets)


def test_task_runs_by_state_in_a_window_and_by_run(store, history) -> None:
    assert store.count_task_runs_by_state(T0, T0 + 400) == {C: 2, F: 1}
    counts = store.count_task_runs_of([history[0].id, history[2].id, history[1].id])
    assert counts == {history[0].id: {C: 2}, history[2].id: {F: 1}}
    assert store.count_task_runs_of([]) == {}


def test_flow_stats_count_outcomes(store, history) -> None:
    stats = {s.flow_name: s for s in store.read_flow_stats()}
    assert (stats["etl"].runs, stats["etl"].completed, stats["etl"].failed) == (4, 3, 1)
    assert stats["etl"].success_rate == 0.75
    assert stats["etl"].last_run == T0 + 1000
    assert (stats["report"].runs, stats["report"].failed, stats["report"].finished) == (2, 1, 1)
    recent = {s.flow_name: s.runs for s in store.read_flow_stats(since=T0 + 255)}
    assert recent == {"etl": 1, "report": 2}
    (report,) = store.read_flow_stats(since=T0 + 255, flow_name="report")
    assert (report.flow_name, report.runs) == ("report", 2)
    assert store.read_flow_stats(since=T0 + 2000, flow_name="etl") == []


def test_run_points_have_durations(store, history) -> None:
    points = store.read_run_points(FlowRunFilter(flow_names=["etl"]), limit=3)
    assert [p.id for p in points] == [history[5].id, history[2].id, history[1].id]
    assert [p.duration for p in points] == [10.0, 10.0, 30.0]
    (running,) = store.read_run_points(FlowRunFilter(states=["RUNNING"]), limit=10)
    assert running.duration == 1.0  # until its current state


def test_filter_by_deployment_and_by_name(store) -> None:
    deployment = store.upsert_deployment(Deployment("etl", "nightly"))
    store.create_deployment_run(deployment.id, when=T0)
    plain = make_flow_run("etl", name="Purple_Dog 100%")
    other = make_flow_run("etl", name="purpleXdog 1000")
    store.write(Batch(flow_runs={plain.id: plain, other.id: other}))

    (of_deployment,) = store.read_flow_runs(FlowRunFilter(deployment_ids=[deployment.id]))
    assert of_deployment.deployment_id == deployment.id
    found = store.read_flow_runs(FlowRunFilter(name_contains="purple_dog"))
    assert [r.id for r in found] == [plain.id]  # any case; `_` is a character, not a wildcard
    assert store.count_flow_runs(FlowRunFilter(name_contains="100%")) == 1
    assert store.count_flow_runs(FlowRunFilter(name_contains="PURPLE")) == 2


def test_recent_failures_newest_first_in_the_window(store, history) -> None:
    failures = store.read_recent_failures(T0 + 200, limit=10)
    assert [r.id for r in failures] == [history[3].id, history[2].id]  # crashed, then failed
    assert [r.id for r in store.read_recent_failures(T0 + 200, limit=1)] == [history[3].id]
    assert store.read_recent_failures(T0 + 255, limit=10)[0].state.type is X
    assert store.read_recent_failures(T0 + 300, limit=10) == []


def test_upcoming_runs_soonest_first(store) -> None:
    store.create_work_pool(WorkPool("pool"))
    deployment = store.upsert_deployment(Deployment("etl", "d", work_pool_name="pool"))
    later = store.create_deployment_run(deployment.id, when=T0 + 200)
    sooner = store.create_deployment_run(deployment.id, when=T0 + 100)
    upcoming = store.read_upcoming_runs(limit=5)
    assert [u.run.id for u in upcoming] == [sooner.run.id, later.run.id]
    assert upcoming[0].expected_start_time == T0 + 100
    assert len(store.read_upcoming_runs(limit=1)) == 1


def test_a_remote_store_says_these_need_the_database() -> None:
    remote = ApiStore("http://127.0.0.1:9/api")
    with pytest.raises(NeedsDatabase, match="web UI"):
        remote.read_flow_stats()
    remote.close()
