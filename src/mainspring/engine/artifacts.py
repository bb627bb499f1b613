"""`create_markdown_artifact`, `create_table_artifact`, `create_link_artifact`,
`create_progress_artifact` and `update_progress_artifact`, as in Prefect 3
(`from mainspring.artifacts import ...`).

An artifact attaches to the flow run and task run it is created in (none outside a run) and is
written to the run's store at once — one write, not a recorder batch — so it shows (in the API,
the CLI and the UI) while the run goes on. Artifacts are for people, made a few times a run;
they are not on the task-call hot path.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from mainspring.engine.context import flow_run_context, task_run_context
from mainspring.exceptions import MainspringError
from mainspring.model.artifacts import Artifact, check_progress
from mainspring.model.runs import new_id
from mainspring.store.artifacts import ArtifactStore
from mainspring.store.recorder import get_recorder

__all__ = [
    "create_link_artifact",
    "create_markdown_artifact",
    "create_progress_artifact",
    "create_table_artifact",
    "update_progress_artifact",
]


def create_markdown_artifact(
    markdown: str, key: str | None = None, description: str | None = None
) -> UUID:
    """A Markdown report (rendered on the run's page); returns its id."""
    return _create("markdown", markdown, key, description)


def create_table_artifact(
    table: dict[str, list[Any]] | list[dict[str, Any]] | list[list[Any]],
    key: str | None = None,
    description: str | None = None,
) -> UUID:
    """A table: a list of row dicts, a dict of columns, or a list of lists; returns its id.
    Missing values (NaN) show empty; what JSON has no type for shows as its text."""
    return _create("table", table, key, description)


def create_link_artifact(
    link: str,
    link_text: str | None = None,
    key: str | None = None,
    description: str | None = None,
) -> UUID:
    """A link (to a dashboard, a file, a report); returns its id."""
    return _create("link", {"link": link, "text": link_text}, key, description)


def create_progress_artifact(
    progress: float, key: str | None = None, description: str | None = None
) -> UUID:
    """A progress figure (0-100) to update as work goes on; returns its id."""
    return _create("progress", progress, key, description)


def update_progress_artifact(
    artifact_id: UUID | str, progress: float, description: str | None = None
) -> UUID:
    """Set a progress artifact's figure (0-100); returns its id."""
    check_progress(progress)
    _store().update_artifact(str(artifact_id), progress, description)
    return UUID(str(artifact_id))


def _create(kind: str, data: Any, key: str | None, description: str | None) -> UUID:
    flow_ctx = flow_run_context.get()
    task_ctx = task_run_context.get()
    artifact = Artifact(
        id=new_id(),
        type=kind,
        data=data,
        key=key,
        description=description,
        flow_run_id=flow_ctx.flow_run.id if flow_ctx is not None else None,
        task_run_id=task_ctx.task_run.id if task_ctx is not None else None,
    )
    _store().create_artifact(artifact)
    return UUID(artifact.id)


def _store() -> ArtifactStore:
    flow_ctx = flow_run_context.get()
    recorder = flow_ctx.recorder if flow_ctx is not None else get_recorder()
    store = recorder.store
    if not isinstance(store, ArtifactStore):
        raise MainspringError(f"The store in use ({type(store).__name__}) keeps no artifacts")
    return store
