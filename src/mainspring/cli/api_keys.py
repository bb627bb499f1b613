"""`mainspring api-key ...`: create, list and revoke the server's API keys.

A key is printed once, when created; the database keeps only a salted hash of it.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

app = typer.Typer(help="API keys of the server: create, list, revoke.", no_args_is_help=True)

#: Seconds per unit of a lifetime such as `30d`.
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_lifetime(text: str) -> float:
    """`90m`, `12h`, `30d`, `2w` (or seconds, `45s`) as seconds; anything else is a usage
    error."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    seconds = float(match[1]) * UNITS[match[2]] if match else 0.0
    if not seconds > 0:
        raise typer.BadParameter(
            f"{text!r} is not a lifetime: write a positive number and a unit, s, m, h, d or w "
            "(e.g. 30d)."
        )
    return seconds


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the key is for (unique).")],
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The key may read but not write.")
    ] = False,
    expires_in: Annotated[
        float | None,
        typer.Option(
            parser=parse_lifetime,
            metavar="LIFETIME",
            help="The key stops working after this long: 90m, 12h, 30d, 2w. Default: never.",
        ),
    ] = None,
) -> None:
    """Create a key and print it (stdout, alone on its line): it cannot be shown again."""
    from mainspring.cli.output import err_console, fail, store_errors
    from mainspring.cli.server import server_store
    from mainspring.server.auth import create_api_key

    store = server_store()
    try:
        with store_errors():
            info, key = create_api_key(store, name, read_only=read_only, expires_in=expires_in)
    except ValueError as exc:
        fail(f"Error: {exc}")
    finally:
        store.close()
    from mainspring.cli.output import format_time

    kind = "read-only " if info.read_only else ""
    until = f", valid until {format_time(info.expires)}" if info.expires else ""
    err_console().print(
        f"Created {kind}API key {info.name!r} ({info.id}{until}). Store it now; it is not "
        "shown again. Clients send it as MAINSPRING_API_KEY.",
        markup=False,
    )
    typer.echo(key)


@app.command("ls")
def list_keys() -> None:
    """List the keys (never their secrets): name, id, access, created, last used, expiry and
    whether each is active, expired or revoked."""
    import time

    from mainspring.cli.output import NONE, console, format_time, new_table, store_errors
    from mainspring.cli.server import server_store

    store = server_store()
    try:
        with store_errors():
            keys = store.read_api_keys()
    finally:
        store.close()
    table = new_table("API keys")
    for column in ("Name", "ID", "Access", "Created", "Last used", "Expires", "Status"):
        table.add_column(column, overflow="fold")
    now = time.time()
    for k in keys:
        access = "read-only" if k.read_only else "read-write"
        last = format_time(k.last_used) if k.last_used else NONE
        if k.revoked is not None:
            status = f"revoked {format_time(k.revoked)}"
        else:
            status = "expired" if k.refusal(now) else "active"
        row = (k.name, k.id, access, format_time(k.created), last, format_time(k.expires))
        table.add_row(*row, status)
    console().print(table)


@app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="The key's id (as `ls` shows it) or name.")],
) -> None:
    """Revoke a key: the server refuses it from then on (within a few seconds)."""
    from mainspring.cli.output import err_console, fail, format_time, store_errors
    from mainspring.cli.server import server_store

    store = server_store()
    try:
        with store_errors():
            info, newly = store.revoke_api_key(key)
    except LookupError as exc:
        fail(f"Error: {exc.args[0]}")
    finally:
        store.close()
    when = format_time(info.revoked)
    said = "Revoked" if newly else "Already revoked:"
    err_console().print(f"{said} API key {info.name!r} ({info.id}) at {when}.", markup=False)
