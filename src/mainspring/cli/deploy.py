"""`mainspring deploy`: register a flow as a deployment, from arguments or mainspring.yaml.

Everything is checked (the file, the flow, its parameters, the schedule) before the store is
written, so a mistake registers nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from mainspring.model.deployments import Deployment


def deploy(
    entrypoint: Annotated[
        str | None,
        typer.Argument(
            help="path/to/file.py:flow_function, or a flow's bare name to find it among this "
            "folder's Python files (omit to read mainspring.yaml)."
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            "-n",
            help="The deployment's name (default: the flow function's; with mainspring.yaml: "
            "pick one).",
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Register every deployment of mainspring.yaml.")
    ] = False,
    cron: Annotated[str | None, typer.Option(help="Cron schedule, e.g. '0 3 * * *'.")] = None,
    interval: Annotated[
        str | None, typer.Option(help="Interval schedule: every this many seconds.")
    ] = None,
    rrule: Annotated[str | None, typer.Option(help="iCalendar recurrence rule schedule.")] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone the schedule is read in (default UTC).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A default parameter, name=value (JSON or text)."),
    ] = None,
    pool: Annotated[str | None, typer.Option("--pool", help="The work pool that runs it.")] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="The pool's work queue.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="A tag for its runs (repeatable).")
    ] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Register it paused.")] = False,
    description: Annotated[
        str | None, typer.Option(help="Description (default: docstring).")
    ] = None,
    concurrency_limit: Annotated[
        int | None, typer.Option(min=0, help="At most this many of its runs at once.")
    ] = None,
    image: Annotated[
        str | None, typer.Option(help="The image its runs start from (docker, kubernetes pools).")
    ] = None,
    job_variable: Annotated[
        list[str] | None,
        typer.Option(
            "--job-variable", "-j", help="A job variable of its pool, name=value (JSON or text)."
        ),
    ] = None,
) -> None:
    """Register (or update) a deployment of a flow, with an optional schedule."""
    from mainspring.cli.deploy_specs import (
        DeploySpecError,
        build_deployment,
        build_schedules,
        deployment_from_entry,
        job_variables,
        read_project_file,
        resolve_entrypoint,
    )
    from mainspring.cli.output import fail

    try:
        if entrypoint is None:
            if not all_ and name is None:
                fail(
                    "Error: give path/to/file.py:flow_function --name NAME, or --all / --name "
                    "to deploy from mainspring.yaml"
                )
            entries = read_project_file()
            if not all_:
                entries = [e for e in entries if e["name"] == name]
                if not entries:
                    fail(f"Error: mainspring.yaml has no deployment named {name!r}")
            deployments = [deployment_from_entry(e) for e in entries]
        else:
            if all_:
                fail("Error: --all reads mainspring.yaml; do not give an entrypoint with it")
            entrypoint = resolve_entrypoint(entrypoint)
            if name is None:
                name = entrypoint.rpartition(":")[2].rpartition(".")[2]
            deployments = [
                build_deployment(
                    entrypoint,
                    name,
                    parameters=param or [],
                    schedules=build_schedules(cron, interval, rrule, timezone),
                    tags=tag or [],
                    pool=pool,
                    queue=queue,
                    paused=paused,
                    description=description,
                    concurrency_limit=concurrency_limit,
                    job_variables=job_variables(image, job_variable),
                )
            ]
    except DeploySpecError as exc:
        fail(f"Error: {exc}")
    register_deployments(deployments)


def _check_job_variables(backend: Any, deployments: list[Deployment]) -> None:
    """Each deployment's job variables against its pool's type, when the pool exists (one
    registered later is checked by its worker, which ends a run with bad ones Crashed)."""
    from mainspring.cli.output import fail, store_errors
    from mainspring.exceptions import ObjectNotFound
    from mainspring.model.job_variables import check_job_variables

    for deployment in deployments:
        if deployment.work_pool_name is None:
            if deployment.job_variables:
                fail(f"Error: {deployment.full_name!r}: job variables need a work pool (--pool)")
            continue
        with store_errors():
            try:
                pool = backend.read_work_pool(deployment.work_pool_name)
            except ObjectNotFound:
                continue
        try:
            check_job_variables(
                pool.type, deployment.job_variables, f"{deployment.full_name!r} on {pool.name!r}"
            )
        except (TypeError, ValueError) as exc:
            fail(f"Error: {exc}")


def register_deployments(deployments: list[Deployment]) -> None:
    from mainspring.cli.deployment_lookup import deployment_store
    from mainspring.cli.output import console, store_errors
    from mainspring.model.schedules import schedule_from_dict

    backend = deployment_store()
    out = console()
    _check_job_variables(backend, deployments)  # all of them first: a mistake registers none
    for deployment in deployments:
        with store_errors():
            stored = backend.upsert_deployment(deployment)
        schedules = [schedule_from_dict(s).description for s in stored.schedules]
        out.print(
            f"Deployment {stored.full_name!r} registered ({stored.id})"
            + (", paused" if stored.paused else "")
            + ("; schedule: " + "; ".join(schedules) if schedules else "; no schedule")
        )
    if len(deployments) == 1:
        out.print(f"Run it with: mainspring deployment run {deployments[0].full_name!r}")
