"""Prefetch with real processes on SQLite: serve() claims a run before its time and starts its
forked child, which calls the flow only at the scheduled time; a prefetched run cancelled
while its child waits, or whose deployment is paused meanwhile (serve() and a worker), ends
Cancelled and its flow never runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mainspring.deploy.workers.process import Runner, child_environment
from mainspring.model.deployments import Deployment, DeploymentRun, WorkPool
from mainspring.model.schedules import Interval
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

from .test_runner import run_until_ended
from .test_serve import FLOW, SRC, completed, start_serve, stop_serve, wait_for
from .workers import start_worker, stop, wait_until

pytestmark = pytest.mark.slow

MARKER = """
from mainspring import flow

@flow
def marker(path: str) -> None:
    open(path, "w").close()
"""


def test_serve_prefetches_runs_and_starts_them_at_their_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAINSPRING_WORKER_PREFETCH_SECONDS", "1.5")
    script = tmp_path / "served_flow.py"
    script.write_text(textwrap.dedent(FLOW))
    store = SqlStore(get_settings().effective_database_url)
    process = start_serve(script, interval=2.0)
    try:
        found = wait_for(store, lambda runs: len(completed(runs)) >= 3, timeout=60)
    finally:
        out = stop_serve(process)
        store.close()
    done = completed(found)
    for r in done:  # never started (Running) before its time, claimed ahead or not
        assert r.run.start_time is not None and r.expected_start_time is not None, out
        assert r.expected_start_time <= r.run.start_time, out
    # claimed ahead of its time (the first runs may not be: made by serve()'s first tick
    # within the prefetch of their time, on a loaded machine)
    ahead = [r for r in done if (r.claimed_at or 0) < (r.expected_start_time or 0)]
    assert len(ahead) >= 2, out


def test_a_prefetched_run_cancelled_while_it_waits_ends_cancelled_and_never_runs(
    tmp_path: Path,
) -> None:
    (tmp_path / "marker.py").write_text(textwrap.dedent(MARKER))
    ran = tmp_path / "ran"
    store = SqlStore(get_settings().effective_database_url)
    runner = Runner(store, env=child_environment(), fork=True)
    try:
        store.create_work_pool(WorkPool("pool"))
        d = store.upsert_deployment(
            Deployment(
                flow_name="marker",
                name="d",
                entrypoint=f"{tmp_path / 'marker.py'}:marker",
                parameters={"path": str(ran)},
                work_pool_name="pool",
            )
        )
        at = time.time() + 20
        store.create_deployment_run(d.id, when=at)
        [claimed] = store.claim_runs("pool", None, "w", 1, ahead=30)
        assert store.start_claimed_run(claimed.run.id, "w")
        runner.start(claimed.run.id, not_before=at)
        wait_until(  # its child took it up and waits, its code loaded
            lambda: store.read_flow_run(claimed.run.id).pid is not None, what="the child"
        )
        runner.cancel(claimed.run.id)
        run_until_ended(runner, claimed.run.id)
        assert time.time() < at, "the cancel was seen only at the run's time"
        assert store.read_flow_run(claimed.run.id).state.name == "Cancelled"
        time.sleep(0.5)
        assert not ran.exists()
    finally:
        runner.stop()
        store.close()


SERVED_MARKER = """
import sys
from datetime import datetime, timezone
from mainspring import flow
from mainspring.schedules import Interval

@flow
def marker(path: str) -> None:
    open(path, "w").close()

if __name__ == "__main__":
    at = datetime.fromtimestamp(float(sys.argv[1]), tz=timezone.utc)
    marker.serve(
        "served",
        schedules=[Interval(3600, anchor_date=at)],
        parameters={"path": sys.argv[2]},
    )
"""

#: Seconds ahead the runs are claimed in these tests, and when their run is due: far enough
#: that the pause surely lands while the run's process waits, even on a loaded machine.
AHEAD = 40
DUE_IN = 25


def _waiting_run(store: SqlStore, deployment_id: str) -> DeploymentRun:
    """The deployment's run once a process took it up (claimed ahead, its pid recorded)."""

    def taken_up() -> DeploymentRun | None:
        found = [r for r in store.read_deployment_runs(deployment_id) if r.run.pid is not None]
        return found[0] if found else None

    return wait_until(taken_up, timeout=DUE_IN - 5, what="a process taking up the run")


def _check_paused_run_never_ran(
    store: SqlStore, deployment_id: str, at: float, ran: Path, out: str
) -> None:
    assert not ran.exists(), out
    [run] = store.read_deployment_runs(deployment_id)
    assert run.expected_start_time == at
    assert (run.run.state.name, run.run.state.message) == (
        "Cancelled",
        "Its deployment was paused before the run started",
    ), out
    assert run.run.start_time is None, out  # never Running


def test_pausing_serve_s_deployment_stops_a_run_claimed_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve() claims the run ahead of its time and its forked child waits for the instant; a
    pause meanwhile ends it Cancelled, and the flow is never called."""
    monkeypatch.setenv("MAINSPRING_WORKER_PREFETCH_SECONDS", str(AHEAD))
    script = tmp_path / "served_marker.py"
    script.write_text(textwrap.dedent(SERVED_MARKER))
    ran = tmp_path / "ran"
    at = float(int(time.time()) + DUE_IN)
    store = SqlStore(get_settings().effective_database_url)
    env = dict(os.environ, PYTHONPATH=SRC)
    process = subprocess.Popen(
        [sys.executable, str(script), str(at), str(ran)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deployment = wait_until(
            lambda: next(iter(store.read_deployments("marker")), None), what="serve()"
        )
        waiting = _waiting_run(store, deployment.id)
        assert time.time() < at - 2, "the run was taken up too late to test a pause"
        store.set_deployment_paused(deployment.id, True)
        time.sleep(max(0.0, at - time.time()) + 2.0)  # past its time: it would have run
    finally:
        out = stop_serve(process)
        store.close()
    assert waiting.claimed_at is not None and waiting.claimed_at < at
    store = SqlStore(get_settings().effective_database_url)
    try:
        _check_paused_run_never_ran(store, deployment.id, at, ran, out)
    finally:
        store.close()


def test_pausing_a_workers_deployment_stops_a_run_claimed_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with `mainspring worker start` (on the embedded store it schedules too)."""
    (tmp_path / "marker.py").write_text(textwrap.dedent(MARKER))
    ran = tmp_path / "ran"
    at = float(int(time.time()) + DUE_IN)
    store = SqlStore(get_settings().effective_database_url)
    try:
        store.create_work_pool(WorkPool("pool"))
        deployment = store.upsert_deployment(
            Deployment(
                flow_name="marker",
                name="d",
                entrypoint=f"{tmp_path / 'marker.py'}:marker",
                parameters={"path": str(ran)},
                schedules=[Interval(3600, anchor_date=datetime.fromtimestamp(at, tz=UTC))],
                work_pool_name="pool",
            )
        )
        process = start_worker("--pool", "pool", MAINSPRING_WORKER_PREFETCH_SECONDS=str(AHEAD))
        try:
            _waiting_run(store, deployment.id)
            assert time.time() < at - 2, "the run was taken up too late to test a pause"
            store.set_deployment_paused(deployment.id, True)
            time.sleep(max(0.0, at - time.time()) + 2.0)
        finally:
            out = stop(process)
        _check_paused_run_never_ran(store, deployment.id, at, ran, out)
    finally:
        store.close()
