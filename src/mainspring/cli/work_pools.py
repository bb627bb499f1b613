"""`mainspring work-pool ...`: create, list and inspect the pools workers take runs from."""

from __future__ import annotations

from typing import Annotated

import typer

from mainspring.cli.deployment_lookup import deployment_store, find_work_pool
from mainspring.cli.output import NONE, console, fail, format_time, new_table, store_errors

app = typer.Typer(help="Work pools: create, list, inspect.", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (times in ISO 8601 UTC).")]


@app.command("create")
def create_work_pool(
    name: Annotated[str, typer.Argument(help="The pool's name.")],
    pool_type: Annotated[
        str, typer.Option("--type", help="The pool's type: process, docker or kubernetes.")
    ] = "process",
    image: Annotated[
        str | None, typer.Option(help="A docker or kubernetes pool's default image for its runs.")
    ] = None,
    job_variable: Annotated[
        list[str] | None,
        typer.Option(
            "--job-variable", "-j", help="A default job variable of its runs, name=value."
        ),
    ] = None,
    concurrency_limit: Annotated[
        int | None, typer.Option(min=0, help="At most this many of its runs at once.")
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the pool is for.")] = None,
) -> None:
    """Create a work pool (with its 'default' queue)."""
    from mainspring.cli.deploy_specs import DeploySpecError, job_variables
    from mainspring.model.deployments import WorkPool

    try:
        pool = WorkPool(
            name,
            type=pool_type,
            concurrency_limit=concurrency_limit,
            description=description,
            base_job_template=job_variables(image, job_variable),
        )
    except (TypeError, ValueError, DeploySpecError) as exc:
        fail(f"Error: {exc}")
    backend = deployment_store()
    with store_errors():
        try:
            stored = backend.create_work_pool(pool)
        except ValueError as exc:
            fail(f"Error: {exc}")
    console().print(f"Work pool {stored.name!r} ({stored.type}) created.")


@app.command("ls")
def list_work_pools(as_json: JsonOption = False) -> None:
    """List every work pool."""
    from mainspring.cli.json_output import print_json, work_pool_json

    backend = deployment_store()
    with store_errors():
        pools = backend.read_work_pools()
    if as_json:
        print_json([work_pool_json(p) for p in pools])
        return
    out = console()
    if not pools:
        out.print("No work pools yet. Create one with: mainspring work-pool create NAME")
        return
    table = new_table("Work pools")
    table.add_column("Name", overflow="fold", style="bold")
    table.add_column("Type", no_wrap=True)
    table.add_column("Limit", justify="right", no_wrap=True)
    table.add_column("Paused", no_wrap=True)
    table.add_column("Created", min_width=10)
    for p in pools:
        limit = NONE if p.concurrency_limit is None else str(p.concurrency_limit)
        table.add_row(p.name, p.type, limit, "yes" if p.paused else "no", format_time(p.created))
    out.print(table)


@app.command("inspect")
def inspect_work_pool(
    name: Annotated[str, typer.Argument(help="The pool's name.")], as_json: JsonOption = False
) -> None:
    """Show a work pool, its queues and its workers."""
    from rich.table import Table

    from mainspring.cli.json_output import print_json, work_pool_json

    backend = deployment_store()
    pool = find_work_pool(backend, name)
    with store_errors():
        queues = backend.read_work_queues(pool.name)
        workers = backend.read_workers(pool.name)
    if as_json:
        print_json(work_pool_json(pool, queues, workers))
        return
    out = console()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    limit = NONE if pool.concurrency_limit is None else str(pool.concurrency_limit)
    for label, value in (
        ("Name", pool.name),
        ("Type", pool.type),
        ("Concurrency limit", limit),
        ("Paused", "yes" if pool.paused else "no"),
        ("Description", pool.description or NONE),
        ("Created", format_time(pool.created)),
    ):
        grid.add_row(label, value)
    out.print(grid)
    table = new_table("Work queues")
    table.add_column("Name", style="bold", overflow="fold")
    table.add_column("Priority", justify="right")
    table.add_column("Limit", justify="right")
    for q in queues:
        table.add_row(
            q.name,
            str(q.priority),
            NONE if q.concurrency_limit is None else str(q.concurrency_limit),
        )
    out.print()
    out.print(table)
    out.print()
    if workers:
        wt = new_table("Workers")
        wt.add_column("Name", style="bold", overflow="fold")
        wt.add_column("Last heartbeat")
        for w in workers:
            wt.add_row(w.name, format_time(w.last_heartbeat))
        out.print(wt)
    else:
        out.print("No workers yet.")
