"""`mainspring server start`: serve the REST API (uvicorn) over the configured database."""

from __future__ import annotations

import errno
import socket
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mainspring.settings import Settings
    from mainspring.store import Store

app = typer.Typer(
    help="The Mainspring server: REST API over the run history.", no_args_is_help=True
)


class LogLevel(StrEnum):
    """uvicorn's log levels: checked as the option is parsed, before anything is announced."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


#: Hosts that mean "every interface": not a name a client can send as its Host.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]", ""})


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


def server_store() -> Store:
    """The SQL store of this machine's settings: a server always speaks SQL, never HTTP to
    itself, even when MAINSPRING_API_URL is set for the clients of this environment."""
    from mainspring.cli.output import fail, settings
    from mainspring.store import open_store

    try:
        return open_store(settings().effective_database_url)
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
    log_level: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="uvicorn's log level.")
    ] = LogLevel.info,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log a line per request (uvicorn's access log); its start and stop lines stay.",
        ),
    ] = True,
) -> None:
    """Serve the web UI at http://HOST:PORT/ and the API at /api (docs at /api/docs) until
    interrupted."""
    import uvicorn

    from mainspring.cli.output import err_console, fail, store_errors
    from mainspring.server.app import create_app

    store = server_store()
    exposed = not is_loopback(host)
    with store_errors():
        has_keys = bool(store.read_api_keys())  # also migrates the database before serving
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
    listener = bind(host, port)
    port = listener.getsockname()[1]  # the one the system chose, for --port 0
    shown = f"[{host}]" if ":" in host else host
    err_console().print(
        f"Mainspring server on http://{shown}:{port}/api, docs at /api/docs; {auth}.",
        markup=False,
    )
    err_console().print(f"Web UI at http://{shown}:{port}/", markup=False)
    app_ = create_app(store, served_settings(host, port), exposed=exposed, insecure=insecure)
    freeze_startup_heap()
    config = uvicorn.Config(
        app_, host=host, port=port, log_level=log_level.value, access_log=access_log
    )
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        listener.close()
        store.close()


def served_settings(host: str, port: int) -> Settings:
    """The settings, with `--host` added to the host names the server answers to: a client
    reaching `--host build-box` sends `Host: build-box:PORT`."""
    from mainspring.cli.output import settings

    current = settings()
    if host.lower() in WILDCARD_HOSTS:
        return current
    name = f"[{host.strip('[]')}]" if ":" in host else host
    allowed = [*current.server_allowed_hosts, f"{name}:{port}"]
    return current.replaced(server_allowed_hosts=allowed)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on HOST:PORT, or a clear error before anything is served.

    Bound here rather than by uvicorn so that a port in use is said plainly (uvicorn logs it
    after announcing the server, then exits), and so that `--port 0` announces the port
    the system chose. Same options as uvicorn's own: SO_REUSEADDR, IPv6 for a host with a colon.
    """
    from mainspring.cli.output import fail

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio sets TCP_NODELAY only on connections whose socket
    # says so, and without it each answer on a kept-alive connection waited ~40 ms (Nagle's
    # algorithm against the client's delayed ACK): every request but a connection's first
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host.strip("[]"), port))
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"Error: port {port} on {host} is already in use (another Mainspring server?): "
                "stop what holds it or choose another with --port."
            )
        if exc.errno == errno.EACCES:
            fail(f"Error: not allowed to bind port {port} (ports below 1024 need privileges).")
        fail(f"Error: cannot serve on {host}:{port}: {exc.strerror or exc}.")
    # listening from now: a client that read the announced URL and connects at once waits in
    # the backlog until the app has started, rather than being refused (uvicorn listens only
    # after its "Application startup complete")
    listener.listen(UVICORN_BACKLOG)
    return listener


#: uvicorn's default backlog, which its own listen() on this socket keeps
UVICORN_BACKLOG = 2048


def freeze_startup_heap() -> None:
    """Leave what the server imported and built at startup out of every later garbage
    collection (`gc.freeze`, as CPython's documentation suggests for long-lived servers).

    Each `POST /api/batches` decodes thousands of records, so the collector runs a full
    collection every few batches, and a full collection walks every live object, ~1 us
    each: the 130,000+ that FastAPI, SQLAlchemy, pydantic and uvicorn leave alive cost
    ~100 ms a time, in the middle of some client's write. Frozen, they are no longer walked;
    they live as long as the process anyway. Only this process's own heap: this is the
    server's command, not library code running in a user's program.
    """
    import gc

    import uvicorn.protocols.http.h11_impl  # noqa: F401  # imported by uvicorn.run otherwise

    gc.collect()
    gc.freeze()
