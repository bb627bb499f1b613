"""`mainspring server start`: serve the REST API (uvicorn) over the configured database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mainspring.store.sql import SqlStore

app = typer.Typer(
    help="The Mainspring server: REST API over the run history.", no_args_is_help=True
)


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only.

    A host name other than `localhost` counts as reachable from elsewhere: it may resolve to
    any interface, and refusing is the safe answer.
    """
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def server_store() -> SqlStore:
    """The SQL store of this machine's settings: a server always speaks SQL, never HTTP to
    itself, even when MAINSPRING_API_URL is set for the clients of this environment."""
    from mainspring.cli.output import fail, settings
    from mainspring.store.sql import SqlStore

    try:
        return SqlStore(settings().effective_database_url)
    except ValueError as exc:
        fail(f"Error: {exc}")


@app.command("start")
def start(
    host: Annotated[str, typer.Option(help="Interface to bind; loopback by default.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 4200,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure", help="Allow binding beyond loopback with no API key (no authentication)."
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the API at http://HOST:PORT/api (docs at /api/docs) until interrupted."""
    import uvicorn

    from mainspring.cli.output import err_console, fail, store_errors
    from mainspring.server.app import create_app
    from mainspring.server.auth import list_api_keys

    store = server_store()
    exposed = not is_loopback(host)
    with store_errors():
        has_keys = bool(list_api_keys(store))  # also migrates the database before serving
    if exposed and not has_keys and not insecure:
        fail(
            f"Refusing to serve on {host}, which is reachable beyond this machine, without "
            "authentication: create a key first (mainspring api-key create NAME), bind "
            "127.0.0.1, or pass --insecure to serve without authentication."
        )
    if has_keys or (exposed and not insecure):
        auth = "API key required"
    else:
        auth = "no authentication" + (" (--insecure)" if insecure else " (loopback, no API key)")
    shown = f"[{host}]" if ":" in host else host
    err_console().print(
        f"Mainspring server on http://{shown}:{port}/api, docs at /api/docs; {auth}.",
        markup=False,
    )
    app_ = create_app(store, exposed=exposed, insecure=insecure)
    try:
        uvicorn.run(app_, host=host, port=port, log_level=log_level.lower())
    finally:
        store.close()
