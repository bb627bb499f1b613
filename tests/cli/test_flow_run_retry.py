"""`mainspring flow-run retry ID`: what it says when a run cannot be resumed, and a resume.

The end-to-end proof (a flow process killed with SIGKILL, resumed by the real command in a
child process) is tests/engine/test_resume.py; these run the command in-process.
"""

from __future__ import annotations

import sys
import textwrap
import time

import pytest

from mainspring.model import new_id
from mainspring.store import get_store

from .history import invoke

MODULE = textwrap.dedent(
    """
    from mainspring import flow, task

    ATTEMPTS = []

    @task
    def step(i: int) -> int:
        return i

    @flow(name="cli-retry", persist_result=True)
    def cli_retry(fail: bool = True) -> int:
        total = step(1) + step(2)
        ATTEMPTS.append(1)
        if len(ATTEMPTS) == 1:
            raise RuntimeError("first attempt fails")
        return total
    """
)


@pytest.fixture
def cli_flow(home, tmp_path, monkeypatch):
    (tmp_path / "cli_retry_flows.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import cli_retry_flows

    yield cli_retry_flows.cli_retry
    sys.modules.pop("cli_retry_flows", None)


def test_retry_resumes_a_failed_run_and_refuses_a_completed_one(cli_flow):
    state = cli_flow(return_state=True)
    assert state.is_failed()
    (run,) = get_store().read_flow_runs()

    result = invoke("flow-run", "retry", run.id)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"Flow run {run.id} finished in state Completed" in result.stdout
    assert get_store().read_flow_run(run.id).run_count == 2

    again = invoke("flow-run", "retry", run.id)
    assert again.exit_code == 1
    assert "already Completed: there is nothing to resume" in again.stderr


def test_retry_of_an_unknown_run(home):
    result = invoke("flow-run", "retry", "00000000-0000-4000-8000-000000000000")
    assert result.exit_code == 1
    assert "No flow run with id" in result.stderr


CACHED = textwrap.dedent(
    """
    import os
    from datetime import timedelta
    from mainspring import flow, task
    from mainspring.cache_policies import INPUTS

    SIDE = os.environ["SIDE_FILE"]

    @task(cache_policy=INPUTS, cache_expiration=timedelta(seconds=0.5))
    def fetch(x: int) -> int:
        with open(SIDE, "a") as f:
            f.write(f"fetch {x}\\n")
        return 10 * x

    @task
    def check(value: int) -> int:
        if not os.path.exists(SIDE + ".fixed"):
            raise ValueError("check is broken")
        return value

    @flow(name="cached-resume", persist_result=True)
    def cached_resume(x: int = 1) -> int:
        return check(fetch(x))
    """
)


def test_retry_returns_a_cache_hit_after_its_cache_record_expired(home, tmp_path, monkeypatch):
    """A task that ended Cached is kept under its task key: the retry returns it without
    running, although the cache record it came from has expired by then."""
    side = tmp_path / "side.txt"
    monkeypatch.setenv("SIDE_FILE", str(side))
    (tmp_path / "cached_resume_flows.py").write_text(CACHED)
    monkeypatch.syspath_prepend(str(tmp_path))
    import cached_resume_flows

    try:
        flow_fn = cached_resume_flows.cached_resume
        fixed = tmp_path / "side.txt.fixed"
        fixed.touch()
        assert flow_fn() == 10  # computes fetch(1) and caches it
        fixed.unlink()
        failed = flow_fn(return_state=True)  # fetch(1) is a cache hit; check fails
        assert failed.is_failed()
        store = get_store()
        run = next(r for r in store.read_flow_runs() if r.state.is_failed())
        fetched = next(t for t in store.read_task_runs(run.id) if t.task_name == "fetch")
        assert fetched.state.name == "Cached"

        time.sleep(0.6)  # the cache record expires: a lookup would miss now
        fixed.touch()
        result = invoke("flow-run", "retry", run.id)
        assert result.exit_code == 0, result.stdout + result.stderr
        assert side.read_text().splitlines() == ["fetch 1"]  # fetch ran once, in the first run
        again = {t.task_name: t for t in store.read_task_runs(run.id)}
        assert again["fetch"].state.message.startswith("Resumed:")
        assert again["fetch"].state.result() == 10
        assert store.read_flow_run(run.id).state.result() == 10
    finally:
        sys.modules.pop("cached_resume_flows", None)


def test_retry_of_a_run_that_recorded_no_entrypoint_says_why(home):
    """A run recorded by an older Mainspring (or a flow defined interactively) does not say
    where its flow is, and has no manifest: retry cannot import it, and says so."""
    from mainspring.model import FlowRun
    from mainspring.model.states import Failed
    from mainspring.store import Batch

    run = FlowRun(new_id(), "old-run", "old-flow", Failed(message="boom"))
    get_store().write(Batch(flow_runs={run.id: run}))

    result = invoke("flow-run", "retry", run.id)
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "cannot be retried: it recorded no entrypoint" in message
    assert "Run the flow again" in message
