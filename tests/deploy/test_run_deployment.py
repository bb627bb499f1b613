"""`run_deployment(...)` from Python on the embedded store: made through the store, returned
at once with timeout=0, waited for with a real worker, linked to the calling flow run,
idempotent with a key, and refused clearly when the name or the parameters are wrong."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

import mainspring
import mainspring.deployments
from mainspring import flow
from mainspring.deploy.flow_files import load_flow_file
from mainspring.exceptions import ObjectNotFound, ParameterTypeError
from mainspring.model import FlowRunFilter
from mainspring.model.deployments import WorkPool
from mainspring.store import get_store

from .workers import start_worker, stop

FLOW = """
from mainspring import flow

@flow
def add(x: int, y: int = 1) -> int:
    return x + y
"""


@pytest.fixture
def deployment_id(tmp_path: Path) -> str:
    path = tmp_path / "add.py"
    path.write_text(textwrap.dedent(FLOW))
    add, _ = load_flow_file(f"{path}:add")
    get_store().create_work_pool(WorkPool("local"))  # type: ignore[attr-defined]
    return add.deploy(
        "adder", work_pool_name="local", parameters={"y": 10}, tags=["math"], print_next_steps=False
    )


def test_importable_where_prefect_has_it() -> None:
    assert mainspring.run_deployment is mainspring.deployments.run_deployment
    assert "run_deployment" in mainspring.__all__


def test_timeout_zero_returns_the_scheduled_run_at_once(deployment_id: str) -> None:
    when = datetime(2030, 1, 1, 12, tzinfo=UTC)
    run = mainspring.run_deployment(
        "add/adder", {"x": 1}, timeout=0, scheduled_time=when, tags=["asked"]
    )
    assert run.state.name == "Scheduled" and run.deployment_id == deployment_id
    assert run.parameters == {"x": 1, "y": 10}
    assert run.tags == ["math", "asked"]
    [made] = get_store().read_deployment_runs(deployment_id)  # type: ignore[attr-defined]
    assert made.run.id == run.id and made.expected_start_time == when.timestamp()
    by_id = mainspring.run_deployment(deployment_id, {"x": 2}, timeout=0)
    assert by_id.id != run.id and by_id.parameters == {"x": 2, "y": 10}


def test_a_timeout_returns_the_run_as_it_is_then(deployment_id: str) -> None:
    run = mainspring.run_deployment("add/adder", {"x": 1}, timeout=0.3, poll_interval=0.1)
    assert run.state.name == "Scheduled"  # no worker: it waits for one


def test_an_idempotency_key_returns_the_first_run(deployment_id: str) -> None:
    first = mainspring.run_deployment("add/adder", {"x": 1}, timeout=0, idempotency_key="k")
    again = mainspring.run_deployment("add/adder", {"x": 5}, timeout=0, idempotency_key="k")
    assert again.id == first.id and again.parameters["x"] == 1


def test_wrong_names_and_parameters_are_clear_and_make_nothing(deployment_id: str) -> None:
    with pytest.raises(ObjectNotFound, match="add/nothing"):
        mainspring.run_deployment("add/nothing", timeout=0)
    with pytest.raises(ObjectNotFound, match="flow-name/deployment-name"):
        mainspring.run_deployment("adder", timeout=0)
    with pytest.raises(ParameterTypeError, match="'x'"):
        mainspring.run_deployment("add/adder", {"x": "not a number"}, timeout=0)
    with pytest.raises(ValueError, match="x"):
        mainspring.run_deployment("add/adder", {}, timeout=0)  # x is required
    with pytest.raises(ValueError, match="timeout"):
        mainspring.run_deployment("add/adder", {"x": 1}, timeout=-1)
    assert get_store().read_deployment_runs(deployment_id) == []  # type: ignore[attr-defined]


def test_inside_a_flow_the_run_is_a_subflow_run_of_the_caller(deployment_id: str) -> None:
    @flow
    def caller() -> str:
        return mainspring.run_deployment("add/adder", {"x": 3}, timeout=0).id

    state = caller(return_state=True)
    child_id = state.result()
    store = get_store()
    child = store.read_flow_run(child_id)
    parent = store.read_flow_runs(FlowRunFilter(flow_names=["caller"]))[0]
    assert child.parent_flow_run_id == parent.id
    subflows = store.read_flow_runs(FlowRunFilter(parent_flow_run_id=parent.id))
    assert [r.id for r in subflows] == [child_id]


def test_waits_until_a_worker_finished_it(deployment_id: str) -> None:
    worker = start_worker("--pool", "local")
    try:
        run = mainspring.run_deployment("add/adder", {"x": 32}, timeout=90)
    finally:
        stop(worker)
    assert run.state.is_completed(), run.state
    assert run.end_time is not None and run.deployment_id == deployment_id
