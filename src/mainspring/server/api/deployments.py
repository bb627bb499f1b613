"""`/api/deployments`: register, read, pause, resume and delete deployments; ask for runs.

Asking for a run wakes the claims waiting at this server (server/run_signal.py), so a worker
hears of it within milliseconds.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from mainspring.exceptions import ParameterTypeError
from mainspring.model import STATE_NAMES
from mainspring.server.api.deps import NOT_FOUND, ErrorOut, StoreDep, invalid
from mainspring.server.run_signal import RunSignal
from mainspring.server.schemas import ID_PATTERN
from mainspring.server.schemas.common import Name
from mainspring.server.schemas.deployments import (
    DeploymentIn,
    DeploymentOut,
    DeploymentRunIn,
    DeploymentRunOut,
    EmptyIn,
)
from mainspring.store.deployments import DeploymentStore

router = APIRouter(prefix="/deployments", tags=["deployments"])

EXISTS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "One of that name or id exists already."}
}

DeploymentId = Annotated[str, Path(pattern=ID_PATTERN, description="A deployment's id.")]
STATE_NAME = "^(" + "|".join(STATE_NAMES) + ")$"


def deployment_store(store: object) -> DeploymentStore:
    """The server's store as a DeploymentStore (SqlStore is one); 501 for a store that is not."""
    if not isinstance(store, DeploymentStore):
        raise HTTPException(501, "This server's store keeps no deployments")
    return store


@router.post("", response_model=DeploymentOut, responses=EXISTS)
def upsert_deployment(store: StoreDep, body: DeploymentIn) -> DeploymentOut:
    """Register a deployment, or update the one with its (flow_name, name) in place (its id
    and creation time stay; runs planned from changed schedules or parameters are replaced)."""
    try:
        record = body.to_record()
    except (TypeError, ValueError) as exc:
        raise invalid(("body",), str(exc)) from None
    try:
        return DeploymentOut.of(deployment_store(store).upsert_deployment(record))
    except ParameterTypeError as exc:  # a default parameter its schema refuses
        raise invalid(("body", "parameters", exc.parameter), str(exc)) from None
    except ValueError as exc:  # its id is another deployment's
        raise HTTPException(409, str(exc)) from None


@router.get("", response_model=list[DeploymentOut])
def list_deployments(
    store: StoreDep,
    flow_name: Annotated[Name | None, Query(description="Only this flow's.")] = None,
) -> list[DeploymentOut]:
    """All deployments (of one flow when given), by flow name then name."""
    return [DeploymentOut.of(d) for d in deployment_store(store).read_deployments(flow_name)]


@router.get("/by_name", response_model=DeploymentOut, responses=NOT_FOUND)
def find_deployment(store: StoreDep, flow_name: Name, name: Name) -> DeploymentOut:
    """The deployment 'flow_name/name'."""
    return DeploymentOut.of(deployment_store(store).find_deployment(flow_name, name))


@router.get("/{deployment_id}", response_model=DeploymentOut, responses=NOT_FOUND)
def read_deployment(store: StoreDep, deployment_id: DeploymentId) -> DeploymentOut:
    return DeploymentOut.of(deployment_store(store).read_deployment(deployment_id))


@router.delete("/{deployment_id}", status_code=204, responses=NOT_FOUND)
def delete_deployment(store: StoreDep, deployment_id: DeploymentId) -> Response:
    """Delete the deployment and its runs not started; the history of the others stays."""
    deployment_store(store).delete_deployment(deployment_id)
    return Response(status_code=204)


@router.post("/{deployment_id}/pause", response_model=DeploymentOut, responses=NOT_FOUND)
def pause_deployment(store: StoreDep, deployment_id: DeploymentId, _body: EmptyIn) -> DeploymentOut:
    """Stop its schedules: the runs they made that wait for a worker are deleted (runs asked
    for by hand stay). The body is `{}`."""
    return DeploymentOut.of(deployment_store(store).set_deployment_paused(deployment_id, True))


@router.post("/{deployment_id}/resume", response_model=DeploymentOut, responses=NOT_FOUND)
def resume_deployment(
    store: StoreDep, deployment_id: DeploymentId, _body: EmptyIn
) -> DeploymentOut:
    """Restart its schedules from now on (times missed while paused are not caught up). The
    body is `{}`."""
    return DeploymentOut.of(deployment_store(store).set_deployment_paused(deployment_id, False))


@router.post(
    "/{deployment_id}/runs", response_model=DeploymentRunOut, status_code=201, responses=NOT_FOUND
)
async def create_deployment_run(
    request: Request, store: StoreDep, deployment_id: DeploymentId, body: DeploymentRunIn
) -> DeploymentRunOut:
    """Ask for a run now (or at `when`): Scheduled, with the deployment's parameters and these
    over them, checked against the flow's parameter schema (a 422 names the parameter)."""
    deployments = deployment_store(store)
    try:
        made = await run_in_threadpool(
            deployments.create_deployment_run,
            deployment_id,
            body.decoded_parameters(),
            when=body.when,
            tags=body.tags,
            parent_flow_run_id=body.parent_flow_run_id,
            idempotency_key=body.idempotency_key,
        )
    except ParameterTypeError as exc:
        raise invalid(("body", "parameters", exc.parameter), str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise invalid(("body", "parameters"), str(exc)) from None
    signal: RunSignal = request.app.state.run_signal
    signal.notify()
    return DeploymentRunOut.of(made)


@router.get("/{deployment_id}/runs", response_model=list[DeploymentRunOut], responses=NOT_FOUND)
def list_deployment_runs(
    store: StoreDep,
    deployment_id: DeploymentId,
    state: Annotated[
        list[Annotated[str, Query(pattern=STATE_NAME)]],
        Query(description="Only runs in any of these states (names: Scheduled, Late, ...)."),
    ] = [],  # noqa: B006
) -> list[DeploymentRunOut]:
    """The deployment's runs, by expected start time."""
    deployments = deployment_store(store)
    deployments.read_deployment(deployment_id)  # 404 for an unknown deployment
    runs = deployments.read_deployment_runs(deployment_id, state or None)
    return [DeploymentRunOut.of(r) for r in runs]
