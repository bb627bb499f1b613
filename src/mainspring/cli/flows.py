"""`mainspring flow ...`: the flows the store has seen."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Flows the store has recorded.", no_args_is_help=True)


@app.command("ls")
def list_flows(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (times in ISO 8601 UTC).")
    ] = False,
) -> None:
    """List every flow with its number of runs and when it was first seen."""
    from mainspring.cli.output import (
        console,
        format_time,
        is_wide,
        name_and_id,
        new_table,
        store,
        store_errors,
    )
    from mainspring.model import FlowRunFilter

    backend = store()
    with store_errors():
        flows = backend.read_flows()
        counts = {
            f.name: backend.count_flow_runs(FlowRunFilter(flow_names=[f.name])) for f in flows
        }
    if as_json:
        from mainspring.cli.json_output import flow_json, print_json

        print_json([flow_json(f, counts[f.name]) for f in flows])
        return
    out = console()
    if not flows:
        out.print("No flows yet. Run a function decorated with @flow to record one.")
        return
    wide = is_wide(out)
    table = new_table("Flows")
    if wide:
        table.add_column("Name", overflow="fold", style="bold")
        table.add_column("ID", no_wrap=True, min_width=36)
    else:
        table.add_column("Name / ID", no_wrap=True, min_width=36)
    table.add_column("Runs", justify="right", no_wrap=True)
    table.add_column("Created", min_width=10)
    table.add_column("Description", overflow="fold", ratio=1)
    for flow in flows:
        first = [flow.name, flow.id] if wide else [name_and_id(flow.name, flow.id)]
        table.add_row(
            *first, str(counts[flow.name]), format_time(flow.created), flow.description or ""
        )
    out.print(table)
