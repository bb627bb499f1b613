"""What a worker's subprocess does with a run cancelled after the worker took up its claim
(`start_claimed_run` gave it a sign of life, so a cancel is Cancelling, not Cancelled): it
ends the run Cancelled without running the flow."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mainspring.deploy.execute import CancelledBeforeStart, execute_flow_run
from mainspring.model.deployments import Deployment, WorkPool
from mainspring.model.orchestration import cancel_proposal
from mainspring.model.states import State
from mainspring.store import get_store


def test_a_run_cancelled_between_take_up_and_start_is_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "mark.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            from mainspring import flow

            @flow
            def mark() -> None:
                Path({str(marker)!r}).touch()
            """
        )
    )
    store = get_store()
    store.create_work_pool(WorkPool("pool"))  # type: ignore[attr-defined]
    deployment = store.upsert_deployment(  # type: ignore[attr-defined]
        Deployment(flow_name="mark", name="d", entrypoint=f"{script}:mark", work_pool_name="pool")
    )
    run_id = store.create_deployment_run(deployment.id).run.id  # type: ignore[attr-defined]
    store.claim_runs("pool", None, "w", 1)  # type: ignore[attr-defined]
    assert store.start_claimed_run(run_id, "w")  # type: ignore[attr-defined]
    run = store.read_flow_run(run_id)
    proposal = cancel_proposal(run.state.type, run.heartbeat)
    assert store.set_state(run_id, State(proposal)).state.name == "Cancelling"
    with pytest.raises(CancelledBeforeStart):
        execute_flow_run(run_id)
    assert store.read_flow_run(run_id).state.name == "Cancelled"
    assert not marker.exists()
