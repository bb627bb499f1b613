"""Bodies of /api/artifacts: what a run creates for people to read (model/artifacts.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mainspring.model.artifacts import MAX_KEY, Artifact
from mainspring.server.schemas.common import Id, Text

#: An artifact key as the model checks it (Prefect's rule).
KEY_PATTERN = r"^[a-z0-9-]+$"
ArtifactType = Literal["markdown", "table", "link", "progress"]


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class ArtifactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    type: ArtifactType
    data: Any = Field(
        description="Markdown text, table rows, {'link': url, 'text': ...} or a percentage."
    )
    key: str | None = Field(None, pattern=KEY_PATTERN, max_length=MAX_KEY)
    description: Text | None = None
    flow_run_id: Id | None = None
    task_run_id: Id | None = None


class ProgressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    progress: float = Field(ge=0, le=100, allow_inf_nan=False)
    description: Text | None = None


class ArtifactOut(BaseModel):
    id: str
    type: str
    data: Any
    key: str | None
    description: str | None
    flow_run_id: str | None
    task_run_id: str | None
    created: datetime
    updated: datetime

    @classmethod
    def of(cls, a: Artifact) -> ArtifactOut:
        return cls(
            id=a.id,
            type=a.type,
            data=a.data,
            key=a.key,
            description=a.description,
            flow_run_id=a.flow_run_id,
            task_run_id=a.task_run_id,
            created=_time(a.created),
            updated=_time(a.updated),
        )
