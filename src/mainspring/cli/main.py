"""The `mainspring` typer app: registers each command group and `mainspring version`.

Command modules import the store, SQLAlchemy and rich tables inside their commands, so
`mainspring --help` stays fast.
"""

from __future__ import annotations

import typer

from mainspring.cli import (
    agents,
    api_keys,
    artifacts,
    automations,
    blocks,
    concurrency_limits,
    config,
    deploy,
    deployment_build,
    deployments,
    docker,
    flow_runs,
    flows,
    server,
    variables,
    work_pools,
    workers,
)

app = typer.Typer(
    name="mainspring",
    help="Mainspring: a Python-first workflow orchestrator.",
    no_args_is_help=True,
    # Locals can hold a database URL with its password: never print them in a traceback.
    pretty_exceptions_show_locals=False,
)
app.add_typer(flows.app, name="flow")
app.add_typer(flow_runs.app, name="flow-run")
app.add_typer(config.app, name="config")
app.add_typer(server.app, name="server")
app.add_typer(api_keys.app, name="api-key")
deployments.app.command("build")(deployment_build.build_command)
deployments.app.command("apply")(deployment_build.apply_command)
app.add_typer(deployments.app, name="deployment")
app.add_typer(work_pools.app, name="work-pool")
app.command("deploy")(deploy.deploy)
app.add_typer(workers.app, name="worker")
app.add_typer(agents.app, name="agent")
app.add_typer(automations.app, name="automation")
app.add_typer(blocks.app, name="block")
app.add_typer(variables.app, name="variable")
app.add_typer(artifacts.app, name="artifact")
app.add_typer(docker.app, name="docker")
app.add_typer(concurrency_limits.tags_app, name="concurrency-limit")
app.add_typer(concurrency_limits.global_app, name="global-concurrency-limit")


@app.command()
def version() -> None:
    """Show the versions of Mainspring, Python and SQLAlchemy, and the store in use."""
    import platform
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    from rich.table import Table

    from mainspring._version import __version__
    from mainspring.cli.output import console, settings
    from mainspring.settings import redact_url

    current = settings()
    try:
        sqlalchemy_version = dist_version("sqlalchemy")  # metadata only: no import cost
    except PackageNotFoundError:
        sqlalchemy_version = "not installed"

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("Version", __version__)
    grid.add_row("Python", f"{platform.python_version()} ({platform.python_implementation()})")
    if current.api_url:
        grid.add_row("API URL", redact_url(current.api_url))
    grid.add_row("Database URL", redact_url(current.effective_database_url))
    grid.add_row("SQLAlchemy", sqlalchemy_version)
    console().print(grid)


def main() -> None:
    """Console-script entry point (`mainspring = "mainspring.cli.main:main"`)."""
    app()


if __name__ == "__main__":
    main()
