"""`mainspring flow-run retry` and `mainspring flow-run cancel`: the commands that change a flow
run's state. They are registered on the `flow-run` app in flow_runs.py, beside the ones that
read runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mainspring.cli.output import (
    console,
    fail,
    read_flow_run,
    settings,
    state_text,
    store,
    store_errors,
)

if TYPE_CHECKING:
    from mainspring.model.orchestration import Outcome
    from mainspring.store import Store

BY_USER = "Cancelled by user"


def retry_flow_run(
    flow_run_id: Annotated[str, typer.Argument(metavar="ID", help="The flow run's id.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Resume a run still marked Running whose process cannot be checked."
        ),
    ] = False,
) -> None:
    """Run a Failed, Crashed or Cancelled flow run again under the same id, in this process
    (a killed one too: it is found Crashed once its process is gone).

    Task runs that finished with a persisted result (persist_result=True on the flow or the
    task) return it without running again; the others run. Exits 0 when the run ends
    Completed, else 1.
    """
    import time

    from mainspring.engine.results.retry import resume_flow_run
    from mainspring.exceptions import ObjectNotFound, ResumeError

    backend = store()
    read_flow_run(backend, flow_run_id)  # a clear message for an unknown id
    started = time.time()
    try:
        state = resume_flow_run(flow_run_id, force=force)
    except (ResumeError, ObjectNotFound) as exc:
        fail(str(exc))
    out = console()
    out.print(f"Flow run {flow_run_id} finished in state ", state_text(state), sep="", end="")
    out.print(f": {state.message}" if state.message else "")
    out.print(_what_ran(backend, flow_run_id, started), markup=False)
    if not state.is_completed():
        raise typer.Exit(1)


def _what_ran(backend: Store, flow_run_id: str, since: float) -> str:
    """One line on what the retry did with the task runs: kept or run again."""
    from mainspring.engine.results.persistence import RESUMED_MESSAGE

    with store_errors():
        tasks = [t for t in backend.read_task_runs(flow_run_id) if t.state.ts >= since]
    kept = sum(1 for t in tasks if t.state.message == RESUMED_MESSAGE)
    if kept == 0:
        return f"No task run was kept from the earlier attempts; {len(tasks)} ran again."
    return (
        f"{kept} task runs returned their persisted result without running; "
        f"{len(tasks) - kept} ran again."
    )


# -- cancel ---------------------------------------------------------------------------------------
def _cancel(flow_run_id: str) -> Outcome:
    """Cancel through the orchestration rules of the configured store (`Store.set_state`: the
    database, or the server's API when MAINSPRING_API_URL is set).

    A SQL store is opened without ending dead runs first (store/sql/dead_runs.py): a run whose
    process is gone would be Crashed before it could be cancelled; `set_state` cancels it at
    once instead, as asked.
    """
    from mainspring.model import State
    from mainspring.model.orchestration import cancel_proposal
    from mainspring.store import open_store

    settings()
    with store_errors():
        try:
            backend = open_store(end_dead_runs=False)
        except ValueError as exc:  # a database or API URL the store cannot use
            fail(f"Error: {exc}")
    try:
        run = read_flow_run(backend, flow_run_id)
        proposed = State(cancel_proposal(run.state.type, run.heartbeat), message=BY_USER)
        with store_errors():
            return backend.set_state(run.id, proposed)
    finally:
        backend.close()


def cancel_flow_run(
    flow_run_id: Annotated[str, typer.Argument(metavar="ID", help="The flow run's id.")],
) -> None:
    """Cancel a flow run: a running one becomes Cancelling and the process running it stops it
    (within one heartbeat interval) and ends it Cancelled; one that has not started, or whose
    process on this host is gone, is Cancelled at once. Exits 1 for an unknown id or a run
    that has already finished."""
    outcome = _cancel(flow_run_id)
    state, reason = outcome.state, outcome.decision.reason
    state_name = state.name
    if not outcome.accepted:
        from mainspring.model import STATE_NAMES, TERMINAL_TYPES

        if state_name == "Cancelling":
            console().print(f"Flow run {flow_run_id} is already being cancelled.")
            return
        if STATE_NAMES.get(state_name) in TERMINAL_TYPES:
            fail(f"Flow run {flow_run_id} has already finished ({state_name}); nothing to cancel.")
        fail(f"Cannot cancel flow run {flow_run_id}: {reason}")
    if state_name == "Cancelled":  # it had not started, or its process is gone
        detail = "it had not started" if state.message == BY_USER else state.message
        console().print(f"Flow run {flow_run_id} is Cancelled ({detail}).", markup=False)
    else:
        interval = settings().heartbeat_interval
        console().print(
            f"Flow run {flow_run_id} is Cancelling: the process running it stops it at its next "
            f"heartbeat (within {interval:g} s) and ends it Cancelled."
        )


# -- execute (internal) ---------------------------------------------------------------------------
def execute_flow_run(
    flow_run_id: Annotated[
        str | None, typer.Argument(metavar="ID", help="The flow run's id.")
    ] = None,
    from_stdin: Annotated[
        bool,
        typer.Option(
            "--from-stdin",
            hidden=True,
            help="Load Mainspring and open the store first, then read the id from stdin (a "
            "runner's warm spare process; EOF: exit quietly).",
        ),
    ] = False,
) -> None:
    """Run a deployment's flow run that is waiting to start, in this process, under its id and
    with its stored parameters: what a worker's or serve()'s subprocess runs. Exits 0 when it
    ends Completed, else 1."""
    import sys

    from mainspring.deploy.execute import execute_exit_code

    settings()
    if from_stdin:
        from mainspring.store.recorder import get_recorder

        get_recorder().store  # noqa: B018  # the store opened before the run is known
        flow_run_id = sys.stdin.readline().strip()
        if not flow_run_id:
            return  # the runner stopped without needing this spare
    if not flow_run_id:
        fail("Error: give the flow run's ID")
    code = execute_exit_code(flow_run_id)  # the same ending as a forked run's process
    if code:
        raise typer.Exit(code)
