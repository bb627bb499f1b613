"""ApiArtifacts: the ArtifactStore protocol over /api/artifacts, mixed into ApiStore
(server/api/artifacts.py is the other end). 404 naming the artifact -> ObjectNotFound,
409 and 422 -> ValueError, as SqlStore raises them."""

from __future__ import annotations

from typing import Any

import orjson

from mainspring.exceptions import ObjectNotFound
from mainspring.model.artifacts import Artifact, check_progress
from mainspring.store.artifacts import ArtifactStore
from mainspring.store.http.answers import detail as _detail
from mainspring.store.http.server_calls import ServerCalls
from mainspring.store.http.wire import epoch


def _artifact(body: dict[str, Any]) -> Artifact:
    return Artifact(
        id=body["id"],
        type=body["type"],
        data=body["data"],
        key=body["key"],
        description=body["description"],
        flow_run_id=body["flow_run_id"],
        task_run_id=body["task_run_id"],
        created=epoch(body["created"]) or 0.0,
        updated=epoch(body["updated"]) or 0.0,
    )


class ApiArtifacts(ArtifactStore, ServerCalls):
    """The ArtifactStore half of ApiStore; needs its `_request` and `_fail`."""

    def _artifacts_call(
        self, method: str, path: str, body: Any = None, *, params: Any = None
    ) -> Any:
        content = None if body is None else orjson.dumps(body)
        response = self._request(method, path, params=params, content=content)
        status = response.status_code
        if status in (200, 201):
            return orjson.loads(response.content)
        if status == 204:
            return None
        detail = _detail(response)
        if status == 404 and detail != "Not Found":
            raise ObjectNotFound(detail)
        if status in (409, 422):
            raise ValueError(detail)
        self._fail(response)

    def create_artifact(self, artifact: Artifact) -> Artifact:
        body = {
            "id": artifact.id,
            "type": artifact.type,
            "data": artifact.data,
            "key": artifact.key,
            "description": artifact.description,
            "flow_run_id": artifact.flow_run_id,
            "task_run_id": artifact.task_run_id,
        }
        return _artifact(self._artifacts_call("POST", "/artifacts", body))

    def update_artifact(
        self, artifact_id: str, data: object, description: str | None = None
    ) -> Artifact:
        body = {"progress": check_progress(data), "description": description}
        return _artifact(self._artifacts_call("PATCH", f"/artifacts/{artifact_id}", body))

    def read_artifact(self, artifact_id: str) -> Artifact:
        return _artifact(self._artifacts_call("GET", f"/artifacts/{artifact_id}"))

    def read_artifacts(
        self,
        *,
        key: str | None = None,
        flow_run_id: str | None = None,
        task_run_id: str | None = None,
        type: str | None = None,
        latest_only: bool = False,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Artifact]:
        given = {
            "key": key,
            "flow_run_id": flow_run_id,
            "task_run_id": task_run_id,
            "type": type,
        }
        params: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        params.update(limit=limit, offset=offset)
        if latest_only:
            params["latest_only"] = "true"
        return [_artifact(a) for a in self._artifacts_call("GET", "/artifacts", params=params)]

    def delete_artifact(self, artifact_id: str) -> None:
        self._artifacts_call("DELETE", f"/artifacts/{artifact_id}")
