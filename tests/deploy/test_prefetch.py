"""Prefetch with real processes on SQLite: serve() claims a run before its time and starts its
forked child, which calls the flow only at the scheduled time; a prefetched run cancelled
while its child waits ends Cancelled and its flow never runs."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from mainspring.deploy.workers.process import Runner, child_environment
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.settings import get_settings
from mainspring.store.sql import SqlStore

from .test_runner import run_until_ended
from .test_serve import FLOW, completed, start_serve, stop_serve, wait_for
from .workers import wait_until

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
