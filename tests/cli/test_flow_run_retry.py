"""`mainspring flow-run retry ID`: what it says when a run cannot be resumed, and a resume.

The end-to-end proof (a flow process killed with SIGKILL, resumed by the real command in a
child process) is tests/engine/test_resume.py; these run the command in-process.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

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
