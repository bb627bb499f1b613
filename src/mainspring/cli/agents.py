"""`mainspring agent start -q QUEUE`: Prefect 2's agent, as a process worker of that queue.

Prefect 2 agents served work queues, and Prefect 3 moved those queues into the process pool
`default-agent-pool`; an agent here is a worker of that pool limited to the queues given, so
deployment files written for agents (`deployment build` / `apply`) run unchanged.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from mainspring.cli.output import fail, settings, store_errors

app = typer.Typer(help="Prefect 2 style agents (process workers of work queues).")


@app.command("start")
def start_agent(
    queue: Annotated[
        list[str] | None,
        typer.Option("--work-queue", "-q", help="A work queue to serve (repeatable)."),
    ] = None,
    pool: Annotated[
        str | None, typer.Option("--pool", "-p", help="The work pool (default-agent-pool).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many runs at once.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The agent's name.")] = None,
) -> None:
    """Run the queues' flow runs in subprocesses until Ctrl-C (as `worker start` does)."""
    from mainspring.cli.deployment_build import DEFAULT_AGENT_POOL, ensure_pool_and_queue
    from mainspring.deploy.worker import run_worker
    from mainspring.exceptions import ObjectNotFound
    from mainspring.store import open_store

    queues = queue or ["default"]
    pool_name = pool or DEFAULT_AGENT_POOL
    settings()
    print(
        f"Note: agents are workers now; this is `mainspring worker start --pool {pool_name} "
        + " ".join(f"-q {q}" for q in queues)
        + "`.",
        file=sys.stderr,
    )
    with store_errors():
        backend = open_store()
    try:
        with store_errors():
            if pool is None:
                ensure_pool_and_queue(backend, pool_name, queues[0])
                for other in queues[1:]:
                    ensure_pool_and_queue(backend, pool_name, other)
        try:
            run_worker(backend, pool_name, limit=limit, queues=queues, name=name)
        except ObjectNotFound:
            fail(f"Error: there is no work pool named {pool_name!r}")
        except TypeError as exc:
            fail(f"Error: {exc}")
    finally:
        backend.close()
