"""`mainspring flow-run ...`: list flow runs, inspect one, read its logs, retry or cancel one."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mainspring.cli import flow_run_control
from mainspring.cli.output import (
    NONE,
    console,
    err_console,
    fail,
    format_duration,
    format_time,
    is_wide,
    name_and_id,
    new_table,
    not_an_id,
    read_flow_run,
    run_duration,
    state_text,
    store,
    store_errors,
)

if TYPE_CHECKING:
    from rich.table import Table

    from mainspring.model import FlowRun
    from mainspring.store import Store

app = typer.Typer(help="Flow runs: list, inspect, read logs, retry, cancel.", no_args_is_help=True)

LOG_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
LEVEL_STYLES = {10: "bright_black", 20: "", 30: "yellow", 40: "red", 50: "bold red"}
LOG_PAGE = 1000
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (times in ISO 8601 UTC).")]


class _RunsTable:
    """Flow runs as `ls` and `inspect` (subflows) show them: columns when wide, stacked when not."""

    def __init__(self, title: str, wide: bool) -> None:
        self.wide = wide
        self.table = new_table(title)
        if wide:
            self.table.add_column("ID", no_wrap=True, min_width=36)
            self.table.add_column("Name", overflow="fold", style="bold")
            self.table.add_column("Flow", overflow="fold")
        else:
            self.table.add_column("Flow run / ID", no_wrap=True, min_width=36)
        self.table.add_column("State", no_wrap=True)
        self.table.add_column("Started", min_width=10)
        self.table.add_column("Duration", justify="right", no_wrap=True)

    def add(self, run: FlowRun) -> None:
        if self.wide:
            cells: list[Any] = [run.id, run.name, run.flow_name]
        else:
            cells = [name_and_id(f"{run.flow_name} / {run.name}", run.id)]
        cells += [
            state_text(run.state),
            format_time(run.start_time if run.start_time is not None else run.created),
            run_duration(run.start_time, run.end_time, run.state),
        ]
        self.table.add_row(*cells)


@app.command("ls")
def list_flow_runs(
    flow: Annotated[
        list[str] | None, typer.Option("--flow", "-f", help="Only runs of this flow (repeatable).")
    ] = None,
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state", "-s", help="Only runs in this state type or name, e.g. FAILED, TimedOut."
        ),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only runs with this tag (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N runs.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List flow runs, most recent first."""
    from mainspring.model import FlowRunFilter

    run_filter = FlowRunFilter(flow_names=flow or [], states=state or [], tags=tag or [])
    try:
        run_filter.state_types_and_names()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--state'") from None

    backend = store()
    with store_errors():
        runs = backend.read_flow_runs(run_filter, limit=limit)
        total = len(runs) if len(runs) < limit else backend.count_flow_runs(run_filter)
    if as_json:
        from mainspring.cli.json_output import flow_run_json, print_json

        print_json([flow_run_json(run) for run in runs])
        return
    out = console()
    if not runs:
        out.print("No flow runs match." if flow or state or tag else "No flow runs yet.")
        return
    table = _RunsTable("Flow runs", is_wide(out))
    for run in runs:
        table.add(run)
    out.print(table.table)
    if total > len(runs):
        out.print(f"Showing {len(runs)} of {total} flow runs; use --limit to see more.")


def _details(run: FlowRun) -> Table:
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    state = state_text(run.state)
    if run.state.message:
        state.append(Text(f"  {run.state.message}"))
    flow = run.flow_name + (f" (version {run.flow_version})" if run.flow_version else "")
    rows: list[tuple[str, Any]] = [
        ("ID", run.id),
        ("Name", run.name),
        ("Flow", flow),
        ("State", state),
        ("Tags", ", ".join(run.tags) or NONE),
        ("Created", format_time(run.created)),
        ("Started", format_time(run.start_time)),
        ("Ended", format_time(run.end_time)),
        ("Duration", run_duration(run.start_time, run.end_time, run.state)),
        ("Run count", str(run.run_count)),
    ]
    if run.parent_flow_run_id:
        rows.append(("Parent flow run", run.parent_flow_run_id))
    if run.parent_task_run_id:
        rows.append(("Parent task run", run.parent_task_run_id))
    if run.deployment_id:
        rows.append(("Deployment", run.deployment_id))
    if run.pid is not None:
        rows.append(("Process", f"{run.pid} on {run.host}"))
    if run.entrypoint:
        rows.append(("Entrypoint", run.entrypoint))
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def _parameters(parameters: dict[str, Any]) -> Table:
    table = new_table("Parameters")
    table.add_column("Name", style="bold", overflow="fold")
    table.add_column("Value", overflow="fold")
    for name, value in parameters.items():
        table.add_row(name, _shown(value))
    return table


def _shown(value: Any) -> str:
    """A parameter as JSON text (NaN as NaN); an integer past the digits Python writes in
    decimal (10**5000) in its tagged form, which has no such limit."""
    try:
        return json.dumps(value, default=repr)
    except ValueError:
        from mainspring.store import json_values

        return json.dumps(json_values.encode(value))


def _timeline(backend: Store, run_id: str) -> Table:
    from mainspring.model import State

    with store_errors():
        states = backend.read_states(run_id)
    table = new_table("State timeline")
    table.add_column("Time")
    table.add_column("After", justify="right", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Message", overflow="fold")
    first = states[0].ts if states else 0.0
    for record in states:
        state = State(record.type, record.name, record.message, ts=record.ts)
        after = "" if record.ts == first else "+" + format_duration(record.ts - first)
        table.add_row(format_time(record.ts), after, state_text(state), record.message or "")
    return table


def _task_runs(backend: Store, flow_run_id: str, wide: bool) -> Table | None:
    with store_errors():
        task_runs = backend.read_task_runs(flow_run_id)
    if not task_runs:
        return None
    table = new_table(f"Task runs ({len(task_runs)})")
    if wide:
        table.add_column("ID", no_wrap=True, min_width=36)
        table.add_column("Name", overflow="fold", style="bold")
    else:
        table.add_column("Task run / ID", no_wrap=True, min_width=36)
    table.add_column("State", no_wrap=True)
    table.add_column("Started", min_width=10)
    table.add_column("Duration", justify="right", no_wrap=True)
    table.add_column("Tries", justify="right", no_wrap=True)
    for task_run in task_runs:
        first: list[Any] = (
            [task_run.id, task_run.name] if wide else [name_and_id(task_run.name, task_run.id)]
        )
        table.add_row(
            *first,
            state_text(task_run.state),
            format_time(task_run.start_time),
            run_duration(task_run.start_time, task_run.end_time, task_run.state),
            str(task_run.run_count),
        )
    return table


@app.command("inspect")
def inspect_flow_run(
    flow_run_id: Annotated[str, typer.Argument(metavar="ID", help="The flow run's id.")],
    as_json: JsonOption = False,
) -> None:
    """Show a flow run: its fields, parameters, state timeline, task runs and subflow runs."""
    from mainspring.model import FlowRunFilter, FlowRunSort

    backend = store()
    run = read_flow_run(backend, flow_run_id)
    if as_json:
        _print_run_json(backend, run)
        return
    out = console()
    out.print(_details(run))
    if run.parameters:
        out.print()
        out.print(_parameters(run.parameters))
    out.print()
    out.print(_timeline(backend, run.id))
    out.print()
    task_table = _task_runs(backend, run.id, is_wide(out))
    out.print(task_table if task_table is not None else "No task runs.")
    with store_errors():
        subflows = backend.read_flow_runs(
            FlowRunFilter(parent_flow_run_id=run.id), FlowRunSort.START_TIME_ASC, limit=1000
        )
    if subflows:
        out.print()
        table = _RunsTable(f"Subflow runs ({len(subflows)})", is_wide(out))
        for subflow in subflows:
            table.add(subflow)
        out.print(table.table)


def _print_run_json(backend: Store, run: FlowRun) -> None:
    """`inspect --json`: the run's fields, its state timeline, task runs and subflow ids."""
    from mainspring.cli.json_output import flow_run_json, iso, print_json, task_run_json
    from mainspring.model import FlowRunFilter, FlowRunSort

    with store_errors():
        states = backend.read_states(run.id)
        task_runs = backend.read_task_runs(run.id)
        subflows = backend.read_flow_runs(
            FlowRunFilter(parent_flow_run_id=run.id), FlowRunSort.START_TIME_ASC, limit=1000
        )
    shown = flow_run_json(run)
    shown["states"] = [
        {"type": s.type.value, "name": s.name, "message": s.message, "timestamp": iso(s.ts)}
        for s in states
    ]
    shown["task_runs"] = [task_run_json(t) for t in task_runs]
    shown["subflow_run_ids"] = [s.id for s in subflows]
    print_json(shown)


def _parse_level(value: str | None) -> int:
    """A level name (`warning`) or number (`30`) as the minimum level number."""
    if value is None:
        return 0
    if value.isdigit():
        return int(value)
    try:
        return LOG_LEVELS[value.upper()]
    except KeyError:
        raise typer.BadParameter(
            f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)} or a number."
        ) from None


@app.command("logs")
def flow_run_logs(
    flow_run_id: Annotated[str, typer.Argument(metavar="ID", help="The flow run's id.")],
    level: Annotated[
        str | None,
        typer.Option("--level", "-l", help="Minimum level: DEBUG, INFO, WARNING, ERROR, CRITICAL."),
    ] = None,
    task_run_id: Annotated[
        str | None, typer.Option("--task-run", help="Only the logs of this task run.")
    ] = None,
) -> None:
    """Print a flow run's log lines, oldest first."""
    from rich.text import Text

    from mainspring.exceptions import ObjectNotFound

    min_level = _parse_level(level)
    backend = store()
    run = read_flow_run(backend, flow_run_id)
    with store_errors():
        task_names = {t.id: t.name for t in backend.read_task_runs(run.id)}
    if task_run_id is not None and task_run_id not in task_names:
        if not_an_id(task_run_id):
            fail(f"No task run with id {task_run_id!r}.")
        with store_errors():
            try:
                backend.read_task_run(task_run_id)
            except ObjectNotFound:
                fail(f"No task run with id {task_run_id!r}.")
        fail(f"Task run {task_run_id!r} does not belong to flow run {run.id!r}.")

    out = console()
    shown, offset = 0, 0
    while True:
        with store_errors():
            page = backend.read_logs(run.id, task_run_id, min_level, limit=LOG_PAGE, offset=offset)
        for record in page:
            source = task_names.get(record.task_run_id or "", run.name)
            level_name = _level_name(record.level)
            line = Text(format_time(record.ts, precise=True) + " ", style="bright_black")
            line.append(f"{level_name:<8} ", style=LEVEL_STYLES.get(record.level, "") or "bold")
            line.append(f"{source} | ", style="cyan")
            line.append(record.message)
            out.print(line, soft_wrap=True)
        shown += len(page)
        offset += len(page)
        if len(page) < LOG_PAGE:
            break
    if not shown:  # said on stderr so that piped output stays nothing but log lines
        err_console().print(
            "No logs match." if level or task_run_id else "This flow run has no logs."
        )


def _level_name(level: int) -> str:
    for name, number in LOG_LEVELS.items():
        if number == level:
            return name
    return f"LEVEL{level}"


# retry and cancel change a run's state rather than read it: flow_run_control.py
app.command("retry")(flow_run_control.retry_flow_run)
app.command("cancel")(flow_run_control.cancel_flow_run)
app.command("execute", hidden=True)(flow_run_control.execute_flow_run)
