"""`/api/artifacts`: create, update (progress), read, list and delete runs' artifacts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from mainspring.model.artifacts import Artifact
from mainspring.server.api.deps import NOT_FOUND, ErrorOut, StoreDep, invalid
from mainspring.server.schemas import ID_PATTERN
from mainspring.server.schemas.artifacts import (
    KEY_PATTERN,
    ArtifactIn,
    ArtifactOut,
    ArtifactType,
    ProgressIn,
)
from mainspring.store.artifacts import ArtifactStore

router = APIRouter(prefix="/artifacts", tags=["artifacts"])

ArtifactId = Annotated[str, Path(pattern=ID_PATTERN, description="An artifact's id.")]
EXISTS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "An artifact with this id exists."}
}


def _artifacts(store: object) -> ArtifactStore:
    if not isinstance(store, ArtifactStore):
        raise HTTPException(501, "This server's store keeps no artifacts")
    return store


@router.post("", response_model=ArtifactOut, status_code=201, responses=EXISTS)
def create_artifact(store: StoreDep, body: ArtifactIn) -> ArtifactOut:
    """Store an artifact a run created (a new version of its key, when it has one)."""
    try:
        artifact = Artifact(**body.model_dump())
    except (TypeError, ValueError) as exc:
        raise invalid(("body", "data"), str(exc)) from None
    try:
        return ArtifactOut.of(_artifacts(store).create_artifact(artifact))
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("", response_model=list[ArtifactOut])
def list_artifacts(
    store: StoreDep,
    key: Annotated[str | None, Query(pattern=KEY_PATTERN, max_length=255)] = None,
    flow_run_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    task_run_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    type: Annotated[ArtifactType | None, Query()] = None,
    latest_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[ArtifactOut]:
    """Artifacts, newest first; `latest_only`: each key's newest version."""
    found = _artifacts(store).read_artifacts(
        key=key,
        flow_run_id=flow_run_id,
        task_run_id=task_run_id,
        type=type,
        latest_only=latest_only,
        limit=limit,
        offset=offset,
    )
    return [ArtifactOut.of(a) for a in found]


@router.get("/{artifact_id}", response_model=ArtifactOut, responses=NOT_FOUND)
def read_artifact(store: StoreDep, artifact_id: ArtifactId) -> ArtifactOut:
    return ArtifactOut.of(_artifacts(store).read_artifact(artifact_id))


@router.patch("/{artifact_id}", response_model=ArtifactOut, responses=NOT_FOUND)
def update_progress(store: StoreDep, artifact_id: ArtifactId, body: ProgressIn) -> ArtifactOut:
    """Set a progress artifact's figure (422 for other kinds)."""
    try:
        updated = _artifacts(store).update_artifact(artifact_id, body.progress, body.description)
    except ValueError as exc:
        raise invalid(("path", "artifact_id"), str(exc)) from None
    return ArtifactOut.of(updated)


@router.delete("/{artifact_id}", status_code=204, responses=NOT_FOUND)
def delete_artifact(store: StoreDep, artifact_id: ArtifactId) -> Response:
    _artifacts(store).delete_artifact(artifact_id)
    return Response(status_code=204)
