"""`flow.deploy(...)`: registers a deployment for a work pool's workers in the store this
process uses, returns its id, says how to start a worker; every mistake is one clear error and
registers nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mainspring import Flow
from mainspring.deploy.flow_files import load_flow_file
from mainspring.exceptions import (
    InvalidSchedule,
    ObjectNotFound,
    ParameterBindError,
    ParameterTypeError,
)
from mainspring.model.deployments import WorkPool
from mainspring.model.schedules import Cron
from mainspring.store import get_store

from .workers import SRC

FLOW = """
from mainspring import flow

@flow
def report(day: str = "today", rows: int = 10) -> str:
    return f"{day}: {rows}"
"""


@pytest.fixture
def report(tmp_path: Path) -> Flow:
    path = tmp_path / "report.py"
    path.write_text(textwrap.dedent(FLOW))
    flow, _ = load_flow_file(f"{path}:report")
    return flow


@pytest.fixture
def pool() -> WorkPool:
    return get_store().create_work_pool(WorkPool("local"))  # type: ignore[attr-defined]


def test_deploy_registers_for_the_pool_and_returns_the_id(
    report: Flow, pool: WorkPool, capsys: pytest.CaptureFixture[str]
) -> None:
    made = report.deploy(
        "nightly",
        work_pool_name="local",
        cron="0 3 * * *",
        timezone="Europe/Paris",
        parameters={"rows": 5},
        tags=["etl"],
        retries=2,
        concurrency_limit=1,
        version="1.2",
    )
    stored = get_store().read_deployment(made)  # type: ignore[attr-defined]
    assert stored.full_name == "report/nightly"
    assert (stored.work_pool_name, stored.retries, stored.concurrency_limit) == ("local", 2, 1)
    assert stored.parameters == {"rows": 5} and stored.tags == ["etl"]
    assert stored.schedules == [Cron("0 3 * * *", timezone="Europe/Paris").to_dict()]
    assert stored.entrypoint is not None and stored.entrypoint.endswith("report.py:report")
    out = capsys.readouterr().out
    assert "mainspring worker start --pool local" in out and made in out
    assert report.deploy("nightly", work_pool_name="local", print_next_steps=False) == made


def test_an_unknown_pool_is_named_and_nothing_is_registered(report: Flow) -> None:
    with pytest.raises(ObjectNotFound, match=r"no work pool named 'nowhere'.*work-pool create"):
        report.deploy("nightly", work_pool_name="nowhere")
    assert get_store().read_deployments() == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"cron": "61 * * * *"}, InvalidSchedule, "61"),
        ({"interval": -5}, InvalidSchedule, "interval"),
        ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, InvalidSchedule, "Mars/Olympus"),
        ({"parameters": {"colour": "red"}}, ParameterBindError, "colour"),
        ({"parameters": {"rows": "many"}}, ParameterTypeError, "'rows' expects integer"),
        ({"work_pool_name": None}, ValueError, "work_pool_name"),
        ({"job_variables": {"env": {}}}, ValueError, "'env' not known to a process work pool"),
        ({"image": "python:3.12"}, ValueError, "'image' not known to a process work pool"),
    ],
)
def test_bad_arguments_register_nothing(
    report: Flow, pool: WorkPool, options: dict, error: type, words: str
) -> None:
    arguments = {"work_pool_name": "local", **options}
    with pytest.raises(error, match=words):
        report.deploy("nightly", **arguments)
    assert get_store().read_deployments() == []  # type: ignore[attr-defined]


def test_a_flow_of_an_interactive_session_cannot_be_deployed() -> None:
    code = textwrap.dedent(
        """
        from mainspring import flow
        from mainspring.model.deployments import WorkPool
        from mainspring.store import get_store

        get_store().create_work_pool(WorkPool("local"))

        @flow
        def typed_in() -> None: ...

        try:
            typed_in.deploy("d", work_pool_name="local")
        except ValueError as exc:
            print("refused:", exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, PYTHONPATH=SRC),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "refused: flow 'typed-in' is not defined in a file" in done.stdout
    assert "from_source" in done.stdout


def test_flows_loaded_from_two_files_keep_their_own_entrypoints(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / f"{name}.py").write_text(
            textwrap.dedent(f"from mainspring import flow\n\n@flow\ndef {name}() -> None: ...\n")
        )
    one, _ = load_flow_file(f"{tmp_path / 'one.py'}:one")
    two, _ = load_flow_file(f"{tmp_path / 'two.py'}:two")
    get_store().create_work_pool(WorkPool("local"))  # type: ignore[attr-defined]
    for flow, name in ((one, "one"), (two, "two")):
        made = flow.deploy("d", work_pool_name="local", print_next_steps=False)
        stored = get_store().read_deployment(made)  # type: ignore[attr-defined]
        assert stored.entrypoint == f"{tmp_path / name}.py:{name}"


def test_image_and_job_variables_go_to_a_docker_pool(report: Flow) -> None:
    store = get_store()
    store.create_work_pool(WorkPool("boxes", type="docker"))  # type: ignore[attr-defined]
    deployment_id = report.deploy(
        "in-a-box", work_pool_name="boxes", image="etl:1", job_variables={"mem_limit": "1g"}
    )
    stored = store.read_deployment(deployment_id)  # type: ignore[attr-defined]
    assert stored.job_variables == {"mem_limit": "1g", "image": "etl:1"}
    with pytest.raises(ValueError, match="'memory' not known to a docker work pool"):
        report.deploy("typo", work_pool_name="boxes", job_variables={"memory": "1g"})


def test_to_deployment_refuses_a_default_parameter_of_the_wrong_type(report: Flow) -> None:
    with pytest.raises(ParameterTypeError, match="'nightly' of flow 'report' parameter 'rows'"):
        report.to_deployment("nightly", parameters={"day": "monday", "rows": [1]})
    spec = report.to_deployment("nightly", parameters={"rows": 3})
    assert spec.deployment.parameters == {"rows": 3}


def test_a_default_the_flow_call_would_coerce_is_taken_and_the_run_coerces_it(
    report: Flow, pool: WorkPool
) -> None:
    """ "3" for `rows: int`: to_deployment() and flow.deploy() take it (the flow call coerces
    it), keep it as given, and the run gets 3; "3 rows" is refused, naming the parameter."""
    from mainspring.deploy.execute import execute_flow_run

    assert report.to_deployment("n", parameters={"rows": "3"}).deployment.parameters == {
        "rows": "3"
    }
    with pytest.raises(ParameterTypeError, match=r"parameter 'rows' expects integer"):
        report.deploy("nightly", work_pool_name="local", parameters={"rows": "3 rows"})
    deployment_id = report.deploy("nightly", work_pool_name="local", parameters={"rows": "3"})
    store = get_store()
    assert store.read_deployment(deployment_id).parameters == {"rows": "3"}  # type: ignore[attr-defined]
    run = store.create_deployment_run(deployment_id)  # type: ignore[attr-defined]
    state = execute_flow_run(run.run.id)
    assert state.is_completed() and state.result() == "today: 3"
