"""The ArtifactStore protocol: the artifacts runs create (model/artifacts.py).

Apart from `Store` (store/base.py) because artifacts are written by user code calling
`create_*_artifact`, once in a while, not by the engine's hot path: each call is one write,
direct to the store (no recorder batch), so a progress figure shows while the run goes on.
`SqlStore` implements it (store/sql/artifacts.py); `ApiStore` carries it over /api/artifacts
(store/http/artifacts.py; server/api/artifacts.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from mainspring.model.artifacts import Artifact

__all__ = ["ArtifactStore"]


class ArtifactStore(ABC):
    """Persistence of artifacts. Times are epoch seconds."""

    @abstractmethod
    def create_artifact(self, artifact: Artifact) -> Artifact:
        """Store a new artifact (a new version, for a key that has some); return it as stored,
        with `created` and `updated` set by the store when 0. `ValueError` if its id exists.
        The run it names need not be stored yet: runs reach the store in batches."""

    @abstractmethod
    def update_artifact(
        self, artifact_id: str, data: object, description: str | None = None
    ) -> Artifact:
        """Replace a progress artifact's figure (and description when given); return it.
        `ObjectNotFound` if there is none; `ValueError` for another type or a bad figure."""

    @abstractmethod
    def read_artifact(self, artifact_id: str) -> Artifact:
        """The artifact; `ObjectNotFound` if there is none."""

    @abstractmethod
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
        """Artifacts matching every filter given, newest first (by `created`, then id).
        `latest_only`: for each key, only its newest version (unkeyed ones all count)."""

    @abstractmethod
    def delete_artifact(self, artifact_id: str) -> None:
        """Delete one artifact (one version); `ObjectNotFound` if there is none."""
