"""`RunnerDeployment`: a flow with how it should run on its own, before it is registered.

`flow.to_deployment(...)` makes one (Prefect's name and arguments), `serve(*deployments)` and
`flow.serve(...)` register and run them. Every argument is checked here, when the spec is made,
so a malformed cron or an unknown time zone fails at the line that wrote it, not in a loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mainspring.engine.entrypoints import entrypoint_text
from mainspring.engine.parameters import Parameters
from mainspring.exceptions import ParameterBindError
from mainspring.model.deployments import Deployment
from mainspring.model.run_parameters import check_default_parameters
from mainspring.model.schedules import Cron, Interval, RRule, Schedule, schedule_from_dict

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow

__all__ = ["RunnerDeployment", "schedules_from_arguments"]


def schedules_from_arguments(
    cron: str | Iterable[str] | None = None,
    interval: float | timedelta | Iterable[float | timedelta] | None = None,
    rrule: str | Iterable[str] | None = None,
    schedules: Sequence[Schedule | dict[str, Any]] | None = None,
    timezone: str | None = None,
) -> list[Schedule]:
    """The schedules `cron=`, `interval=`, `rrule=` and `schedules=` name (each may be one or
    several), evaluated in `timezone`."""
    found: list[Schedule] = []
    for expression in [cron] if isinstance(cron, str) else list(cron or []):
        found.append(Cron(expression, timezone=timezone))
    intervals: list[float | timedelta]
    if interval is None:
        intervals = []
    elif isinstance(interval, int | float | timedelta):
        intervals = [interval]
    else:
        intervals = list(interval)
    for every in intervals:
        found.append(Interval(every, timezone=timezone))
    for rule in [rrule] if isinstance(rrule, str) else list(rrule or []):
        found.append(RRule(rule, timezone=timezone))
    for given in schedules or []:
        found.append(given if isinstance(given, Schedule) else schedule_from_dict(given))
    return found


@dataclass
class RunnerDeployment:
    """A flow and the deployment record that runs it (module docstring)."""

    flow: Flow
    deployment: Deployment

    @property
    def name(self) -> str:
        return self.deployment.name

    @classmethod
    def from_flow(
        cls,
        flow: Flow,
        name: str,
        *,
        cron: str | Iterable[str] | None = None,
        interval: float | timedelta | Iterable[float | timedelta] | None = None,
        rrule: str | Iterable[str] | None = None,
        schedules: Sequence[Schedule | dict[str, Any]] | None = None,
        parameters: dict[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        paused: bool = False,
        timezone: str | None = None,
        concurrency_limit: int | None = None,
        description: str | None = None,
        version: str | None = None,
        catch_up: str = "latest",
        max_lateness: float | timedelta | None = None,
        entrypoint: str | None = None,
        retries: int = 0,
    ) -> RunnerDeployment:
        where = entrypoint or entrypoint_text(flow)
        if where is None:
            raise ValueError(
                f"flow {flow.name!r} is not defined in a file (an interactive session's "
                "__main__?), so a subprocess cannot load it: define it in a script or module "
                "to deploy it, or load it with flow.from_source(source, entrypoint)"
            )
        signature = Parameters(flow.fn, f"Flow {flow.name!r}")
        try:  # a name the flow does not take fails here, not at every run
            signature.signature.bind_partial(**dict(parameters or {}))
        except TypeError as exc:
            raise ParameterBindError(f"Deployment {name!r} of flow {flow.name!r}: {exc}") from None
        schema = signature.json_schema()
        # and one of the wrong type fails here too, naming it (ParameterTypeError), as the
        # store would refuse it when registered and a run asked for with it
        owner = f"Deployment {name!r} of flow {flow.name!r}"
        check_default_parameters(owner, flow.name, dict(parameters or {}), schema)
        if isinstance(max_lateness, timedelta):
            max_lateness = max_lateness.total_seconds()
        deployment = Deployment(
            flow_name=flow.name,
            name=name,
            entrypoint=where,
            parameters=dict(parameters or {}),
            parameter_openapi_schema=schema,
            tags=list(tags or []),
            description=description if description is not None else flow.description,
            version=version,
            schedules=schedules_from_arguments(cron, interval, rrule, schedules, timezone),  # type: ignore[arg-type]
            paused=paused,
            catch_up=catch_up,  # type: ignore[arg-type]
            max_lateness=max_lateness,
            concurrency_limit=concurrency_limit,
            retries=retries,
        )
        return cls(flow, deployment)
