"""`mainspring flow-run retry` and `mainspring flow-run cancel`: the commands that change a flow
run's state. They are registered on the `flow-run` app in flow_runs.py, beside the ones that
read runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mainspring.cli.output import console, fail, read_flow_run, state_text, store, store_errors

if TYPE_CHECKING:
    from mainspring.model import State
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
def _cancel_in_store(flow_run_id: str) -> tuple[str, str, State]:
    """Cancel through the orchestration rules on the configured database: (status, reason,
    resulting state).

    The store is opened without ending dead runs first (store/sql/dead_runs.py): a run whose
    process is gone would be Crashed before it could be cancelled; `set_state` cancels it at
    once instead, as asked.
    """
    from mainspring.cli.output import settings
    from mainspring.model import State
    from mainspring.model.orchestration import cancel_proposal
    from mainspring.server.transitions import set_state
    from mainspring.store.sql import SqlStore

    with store_errors():
        try:
            backend = SqlStore(settings().effective_database_url, end_dead_runs=False)
        except ValueError as exc:  # a database URL the store cannot use
            fail(f"Error: {exc}")
    try:
        run = read_flow_run(backend, flow_run_id)
        proposed = State(cancel_proposal(run.state.type, run.heartbeat), message=BY_USER)
        with store_errors():
            outcome = set_state(backend, run.id, proposed, is_task=False)
    finally:
        backend.close()
    return outcome.decision.status.value, outcome.decision.reason, outcome.state


def _cancel_via_api(api_url: str, api_key: str | None, flow_run_id: str) -> tuple[str, str, State]:
    """The same through a server's API (MAINSPRING_API_URL), with MAINSPRING_API_KEY if set."""
    import re

    import httpx

    from mainspring.model.orchestration import cancel_proposal
    from mainspring.settings import redact_url
    from mainspring.store.http.wire import ID_PATTERN

    if not re.fullmatch(ID_PATTERN.strip("^$"), flow_run_id):  # also keeps the path intact
        fail(f"No flow run with id {flow_run_id!r}.")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    base = api_url.rstrip("/")
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            response = client.get(f"/flow_runs/{flow_run_id}")
            if response.status_code == 200:
                run = response.json()
                from mainspring.model import StateType

                current = StateType(run["state"]["type"])
                proposed = cancel_proposal(current, run.get("heartbeat"))
                body = {"state": {"type": proposed.value, "message": BY_USER}}
                response = client.post(f"/flow_runs/{flow_run_id}/set_state", json=body)
    except httpx.HTTPError as exc:
        fail(f"Error: could not reach the server at {redact_url(base)}: {exc}")
    if response.status_code == 404:
        fail(f"No flow run with id {flow_run_id!r}.")
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", "")
        except (ValueError, AttributeError):  # not the API's JSON: a proxy's page, say
            detail = response.text[:200]
        fail(f"Error: the server answered {response.status_code}: {detail}")
    answer = response.json()
    from mainspring.store.http.wire import state_from_json

    return answer["status"], answer["reason"], state_from_json(answer["state"])


def cancel_flow_run(
    flow_run_id: Annotated[str, typer.Argument(metavar="ID", help="The flow run's id.")],
) -> None:
    """Cancel a flow run: a running one becomes Cancelling and the process running it stops it
    (within one heartbeat interval) and ends it Cancelled; one that has not started, or whose
    process on this host is gone, is Cancelled at once. Exits 1 for an unknown id or a run
    that has already finished."""
    from mainspring.cli.output import settings

    config = settings()
    if config.api_url:
        key = config.api_key.get_secret_value() if config.api_key else None
        status, reason, state = _cancel_via_api(config.api_url, key, flow_run_id)
    else:
        status, reason, state = _cancel_in_store(flow_run_id)
    state_name = state.name
    if status != "ACCEPT":
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
        interval = config.heartbeat_interval
        console().print(
            f"Flow run {flow_run_id} is Cancelling: the process running it stops it at its next "
            f"heartbeat (within {interval:g} s) and ends it Cancelled."
        )
