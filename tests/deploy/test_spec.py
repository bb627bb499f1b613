"""flow.to_deployment(): every argument is checked when the spec is made, with a clear error."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mainspring import RunnerDeployment, flow
from mainspring.exceptions import InvalidSchedule, ParameterBindError


@flow
def nightly(day: str = "today", limit: int = 10) -> None:
    pass


def test_a_spec_carries_schedules_parameters_and_the_entrypoint() -> None:
    spec = nightly.to_deployment(
        "nightly",
        cron="30 1 * * *",
        interval=[60, timedelta(hours=1)],
        timezone="America/New_York",
        parameters={"limit": 5},
        tags=["etl"],
        paused=True,
        concurrency_limit=1,
    )
    assert isinstance(spec, RunnerDeployment)
    d = spec.deployment
    assert (d.flow_name, d.name, d.paused, d.concurrency_limit) == ("nightly", "nightly", True, 1)
    assert [s["kind"] for s in d.schedules] == ["cron", "interval", "interval"]
    assert {s["timezone"] for s in d.schedules} == {"America/New_York"}
    assert d.parameters == {"limit": 5} and d.tags == ["etl"]
    assert d.entrypoint is not None and d.entrypoint.endswith(":nightly")
    assert "limit" in str(d.parameter_openapi_schema)


def test_bad_arguments_fail_when_the_spec_is_made() -> None:
    with pytest.raises(InvalidSchedule):
        nightly.to_deployment("bad", cron="61 * * * *")
    with pytest.raises(InvalidSchedule):
        nightly.to_deployment("bad", cron="0 * * * *", timezone="Mars/Olympus")
    with pytest.raises(ParameterBindError, match="unexpected"):
        nightly.to_deployment("bad", parameters={"nope": 1})
    with pytest.raises(ValueError, match="catch-up"):
        nightly.to_deployment("bad", interval=60, catch_up="sometimes")


def test_serve_needs_deployments() -> None:
    from mainspring import serve

    with pytest.raises(ValueError, match="at least one"):
        serve()
    with pytest.raises(TypeError, match="to_deployment"):
        serve(nightly)  # type: ignore[arg-type]
