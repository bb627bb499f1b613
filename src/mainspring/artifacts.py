"""Artifacts under the import path Prefect users write:
`from mainspring.artifacts import create_markdown_artifact` (engine/artifacts.py)."""

from mainspring.engine.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

__all__ = [
    "create_link_artifact",
    "create_markdown_artifact",
    "create_progress_artifact",
    "create_table_artifact",
    "update_progress_artifact",
]
