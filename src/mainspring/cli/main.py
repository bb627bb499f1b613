"""The `mainspring` typer app: each command group by name, imported only when invoked.

`mainspring deployment run` imports the deployment commands and what they use, not every
other group (cli/lazy.py); `--help` lists them all from the names and help lines below, which a
test keeps equal to each group's own. Command modules import the store, SQLAlchemy and rich
tables inside their commands, so `mainspring --help` stays fast.
"""

from __future__ import annotations

import typer

from mainspring.cli.lazy import LazyCommand, LazyGroup
from mainspring.cli.loading import freeze_after_loading

#: Every command, in the order `--help` lists them: (name, "module:attribute", help line).
COMMANDS = (
    LazyCommand(
        "deploy",
        "mainspring.cli.deploy:deploy",
        "Register (or update) a deployment of a flow, with an optional schedule.",
    ),
    LazyCommand(
        "version",
        "mainspring.cli.main:version",
        "Show the versions of Mainspring, Python and SQLAlchemy, and the store in use.",
    ),
    LazyCommand("flow", "mainspring.cli.flows:app", "Flows the store has recorded."),
    LazyCommand(
        "flow-run",
        "mainspring.cli.flow_runs:app",
        "Flow runs: list, inspect, read logs, retry, cancel.",
    ),
    LazyCommand("config", "mainspring.cli.config:app", "Settings: see what is in effect."),
    LazyCommand(
        "server",
        "mainspring.cli.server:app",
        "The Mainspring server: REST API over the run history.",
    ),
    LazyCommand(
        "api-key", "mainspring.cli.api_keys:app", "API keys of the server: create, list, revoke."
    ),
    LazyCommand(
        "deployment",
        "mainspring.cli.deployments:app",
        "Deployments: list, inspect, run, pause, resume, delete.",
    ),
    LazyCommand("work-pool", "mainspring.cli.work_pools:app", "Work pools: create, list, inspect."),
    LazyCommand(
        "worker",
        "mainspring.cli.workers:app",
        "Workers: processes that run the flow runs of a work pool.",
    ),
    LazyCommand(
        "agent",
        "mainspring.cli.agents:app",
        "Prefect 2 style agents (process workers of work queues).",
    ),
    LazyCommand(
        "automation",
        "mainspring.cli.automations:app",
        "Automations: react to runs and events (notify, run, pause, cancel).",
    ),
    LazyCommand(
        "block", "mainspring.cli.blocks:app", "Blocks: list, inspect, delete; block types."
    ),
    LazyCommand("variable", "mainspring.cli.variables:app", "Variables: list, get, set, unset."),
    LazyCommand(
        "artifact",
        "mainspring.cli.artifacts:app",
        "Artifacts: Markdown, tables, links and progress from runs.",
    ),
    LazyCommand("docker", "mainspring.cli.docker:app", "Images for docker work pools."),
    LazyCommand(
        "concurrency-limit",
        "mainspring.cli.concurrency_limits:tags_app",
        "Tag concurrency limits: at most N task runs with the tag run at once.",
    ),
    LazyCommand(
        "global-concurrency-limit",
        "mainspring.cli.concurrency_limits:global_app",
        "Global concurrency limits, taken from code with concurrency() and rate_limit().",
    ),
)


class MainspringGroup(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    name="mainspring",
    cls=MainspringGroup,
    help="Mainspring: a Python-first workflow orchestrator.",
    no_args_is_help=True,
    # Locals can hold a database URL with its password: never print them in a traceback.
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _no_options() -> None:
    # the group's own options are typer's (--help, completion); what runs is a command
    pass


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
    freeze_after_loading()
    app()


if __name__ == "__main__":
    main()
