"""`mainspring worker start`: claim and run the runs of a work pool (deploy/worker.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from mainspring.cli.output import fail, settings, store_errors

app = typer.Typer(help="Workers: processes that run the flow runs of a work pool.")


@app.command("start")
def start_worker(
    pool: Annotated[str, typer.Option("--pool", "-p", help="The work pool to take runs from.")],
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many runs at once.")
    ] = None,
    queue: Annotated[
        list[str] | None, typer.Option("--queue", "-q", help="Only these queues (repeatable).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The worker's name.")] = None,
) -> None:
    """Run the pool's due flow runs in subprocesses until Ctrl-C (running ones are cancelled).
    Without a server (MAINSPRING_API_URL unset) the worker also schedules the runs."""
    from mainspring.deploy.worker import run_worker
    from mainspring.exceptions import ObjectNotFound
    from mainspring.store import open_store

    settings()
    with store_errors():
        backend = open_store()
    try:
        try:
            run_worker(backend, pool, limit=limit, queues=queue or None, name=name)
        except ObjectNotFound:
            fail(f"Error: there is no work pool named {pool!r}")
        except (TypeError, RuntimeError) as exc:  # RuntimeError: no cluster, no Docker SDK
            fail(f"Error: {exc}")
    finally:
        backend.close()
