"""`mainspring api-key ...`: create and list the server's API keys.

A key is printed once, when created; the database keeps only a salted hash of it.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="API keys of the server: create, list.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the key is for (unique).")],
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The key may read but not write.")
    ] = False,
) -> None:
    """Create a key and print it (stdout, alone on its line): it cannot be shown again."""
    from mainspring.cli.output import err_console, fail, store_errors
    from mainspring.cli.server import server_store
    from mainspring.server.auth import create_api_key

    store = server_store()
    try:
        with store_errors():
            info, key = create_api_key(store, name, read_only=read_only)
    except ValueError as exc:
        fail(f"Error: {exc}")
    finally:
        store.close()
    kind = "read-only " if info.read_only else ""
    err_console().print(
        f"Created {kind}API key {info.name!r} ({info.id}). Store it now; it is not shown again. "
        "Clients send it as MAINSPRING_API_KEY.",
        markup=False,
    )
    typer.echo(key)


@app.command("ls")
def list_keys() -> None:
    """List the keys (never their secrets): name, id, access, created, last used."""
    from mainspring.cli.output import NONE, console, format_time, new_table, store_errors
    from mainspring.cli.server import server_store
    from mainspring.server.auth import list_api_keys

    store = server_store()
    try:
        with store_errors():
            keys = list_api_keys(store)
    finally:
        store.close()
    table = new_table("API keys")
    for column in ("Name", "ID", "Access", "Created", "Last used"):
        table.add_column(column, overflow="fold")
    for k in keys:
        access = "read-only" if k.read_only else "read-write"
        last = format_time(k.last_used) if k.last_used else NONE
        table.add_row(k.name, k.id, access, format_time(k.created), last)
    console().print(table)
