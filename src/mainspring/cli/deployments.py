"""`mainspring deployment ...`: list, inspect, run, pause, resume, delete; their schedules."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from mainspring.cli.deployment_build import apply_command, build_command
from mainspring.cli.deployment_lookup import deployment_store, find_deployment
from mainspring.cli.output import (
    NONE,
    console,
    fail,
    format_time,
    new_table,
    say,
    state_text,
    store_errors,
)

app = typer.Typer(
    help="Deployments: list, inspect, run, pause, resume, delete.", no_args_is_help=True
)
schedule_app = typer.Typer(help="A deployment's schedules.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="'flow-name/deployment-name'.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (times in ISO 8601 UTC).")]
#: How often `run --watch` reads the run's state.
WATCH_POLL_SECONDS = 0.5


def _schedule_words(forms: list[dict[str, Any]]) -> str:
    from mainspring.model.schedules import schedule_from_dict

    return "; ".join(schedule_from_dict(s).description for s in forms) or NONE


@app.command("ls")
def list_deployments(as_json: JsonOption = False) -> None:
    """List every deployment, by flow then name."""
    from mainspring.cli.json_output import deployment_json, print_json

    backend = deployment_store()
    with store_errors():
        deployments = backend.read_deployments()
    if as_json:
        print_json([deployment_json(d) for d in deployments])
        return
    out = console()
    if not deployments:
        out.print("No deployments yet. Register one with: mainspring deploy file.py:flow --name N")
        return
    table = new_table("Deployments")
    table.add_column("Name", overflow="fold", style="bold")
    table.add_column("ID", no_wrap=True, min_width=36)
    table.add_column("Schedule", overflow="fold", ratio=1)
    table.add_column("Pool", overflow="fold")
    table.add_column("Paused", no_wrap=True)
    for d in deployments:
        table.add_row(
            d.full_name,
            d.id,
            _schedule_words(d.schedules),
            d.work_pool_name or NONE,
            "yes" if d.paused else "no",
        )
    out.print(table)


@app.command("inspect")
def inspect_deployment(name: NameArgument, as_json: JsonOption = False) -> None:
    """Show a deployment: where its code is, its parameters, schedules and pool."""
    import json

    from rich.table import Table

    from mainspring.cli.json_output import deployment_json, print_json

    backend = deployment_store()
    deployment = find_deployment(backend, name)
    if as_json:
        print_json(deployment_json(deployment))
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows = [
        ("Name", deployment.full_name),
        ("ID", deployment.id),
        ("Entrypoint", deployment.entrypoint or NONE),
        ("Description", deployment.description or NONE),
        ("Version", deployment.version or NONE),
        ("Schedules", _schedule_words(deployment.schedules)),
        ("Paused", "yes" if deployment.paused else "no"),
        ("Catch-up", deployment.catch_up.value),
        ("Parameters", json.dumps(deployment.parameters, default=repr)),
        ("Tags", ", ".join(deployment.tags) or NONE),
        ("Work pool", deployment.work_pool_name or NONE),
        ("Work queue", deployment.work_queue_name or NONE),
        ("Concurrency limit", str(deployment.concurrency_limit or NONE)),
        ("Created", format_time(deployment.created)),
        ("Updated", format_time(deployment.updated)),
    ]
    for label, value in rows:
        grid.add_row(label, value)
    console().print(grid)


@app.command("pause")
def pause_deployment(name: NameArgument) -> None:
    """Pause: the runs its schedules made that have not started are removed, and none are
    scheduled until resumed (runs asked for by hand stay)."""
    _set_paused(name, True)


@app.command("resume")
def resume_deployment(name: NameArgument) -> None:
    """Resume: the scheduler plans its runs again from now on."""
    _set_paused(name, False)


def _set_paused(name: str, paused: bool) -> None:
    backend = deployment_store()
    deployment = find_deployment(backend, name)
    with store_errors():
        backend.set_deployment_paused(deployment.id, paused)
    say(f"Deployment {deployment.full_name!r} {'paused' if paused else 'resumed'}.")


@app.command("delete")
def delete_deployment(name: NameArgument) -> None:
    """Delete it and its runs not yet started; the history of its other runs stays."""
    backend = deployment_store()
    deployment = find_deployment(backend, name)
    with store_errors():
        backend.delete_deployment(deployment.id)
    say(f"Deployment {deployment.full_name!r} deleted.")


@app.command("run")
def run_deployment(
    name: NameArgument,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Override a parameter, name=value (JSON or text)."),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Follow the run until it ends (exit 1 unless Completed)."),
    ] = False,
) -> None:
    """Ask for a run of the deployment now; a worker or `serve()` picks it up."""
    from mainspring.cli.deploy_specs import DeploySpecError, parse_params

    backend = deployment_store()
    deployment = find_deployment(backend, name)
    try:
        parameters = parse_params(param, deployment.parameter_openapi_schema)
    except DeploySpecError as exc:
        fail(f"Error: {exc}")
    with store_errors():
        try:
            run = backend.create_deployment_run(deployment.id, parameters=parameters).run
        except (TypeError, ValueError) as exc:
            fail(f"Error: {exc}")
    say(f"Created flow run {run.name!r} ({run.id}) of deployment {deployment.full_name!r}.")
    if watch:
        _watch(backend, run.id)


def _watch(backend: Any, run_id: str) -> None:
    """Print each state the run enters until a final one; exit 1 unless it Completed."""
    from rich.text import Text

    from mainspring.cli.output import read_flow_run
    from mainspring.model import StateType

    out = console()
    seen: str | None = None
    while True:
        run = read_flow_run(backend, run_id)
        if run.state.name != seen:
            seen = run.state.name
            line = Text(format_time(run.state.ts) + " ")
            line.append_text(state_text(run.state))
            if run.state.message:
                line.append(f"  {run.state.message}")
            out.print(line)
        if run.state.is_final():
            raise typer.Exit(0 if run.state.type is StateType.COMPLETED else 1)
        time.sleep(WATCH_POLL_SECONDS)


@schedule_app.command("ls")
def list_schedule(
    name: NameArgument,
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=1000, help="How many.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """The deployment's next run times, in each schedule's time zone, with its description."""
    from mainspring.cli.json_output import iso, print_json

    backend = deployment_store()
    deployment = find_deployment(backend, name)
    now = time.time()
    upcoming: list[tuple[float, Any]] = []
    for schedule in deployment.schedule_objects():
        if schedule.active:
            upcoming += [(t, schedule) for t in schedule.next_times(now, count=count)]
    upcoming.sort(key=lambda pair: pair[0])
    upcoming = upcoming[:count]
    if as_json:
        print_json(
            {
                "deployment": deployment.full_name,
                "paused": deployment.paused,
                "schedules": [s.description for s in deployment.schedule_objects()],
                "next_runs": [
                    {
                        "time": iso(t),
                        "local_time": s.localize(t).isoformat(),
                        "timezone": s.timezone,
                        "schedule": s.description,
                    }
                    for t, s in upcoming
                ],
            }
        )
        return
    out = console()
    if not deployment.schedules:
        out.print(f"Deployment {deployment.full_name!r} has no schedule; it runs on request.")
        return
    if deployment.paused:
        out.print(f"Deployment {deployment.full_name!r} is paused: these runs wait for resume.")
    table = new_table(f"Next runs of {deployment.full_name}")
    table.add_column("Time", no_wrap=True)
    table.add_column("Zone", no_wrap=True)
    table.add_column("Schedule", overflow="fold", ratio=1)
    for t, schedule in upcoming:
        table.add_row(
            schedule.localize(t).strftime("%Y-%m-%d %H:%M:%S %Z"),
            str(schedule.timezone),
            schedule.description,
        )
    out.print(table)
    if not upcoming:
        out.print("No upcoming runs (the schedules are inactive or have ended).")


# Prefect 2's two-step deployments (cli/deployment_build.py), listed after the commands above.
app.command("build")(build_command)
app.command("apply")(apply_command)
