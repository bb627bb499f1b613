"""Artifacts: what a run shows people besides its logs — a Markdown report, a table, a link,
a progress figure — stored with the run that made it.

A keyed artifact (`key="daily-report"`) is a series: each run that creates it adds a version,
and listings show the latest; an artifact without a key stands alone. Progress artifacts are
the one kind updated in place (`update_progress_artifact`), so a long task can show how far it
is. The rules live here so the Python API, the store and the server refuse the same things.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from mainspring.model.text import MAX_TEXT, storable_json

__all__ = [
    "ARTIFACT_TYPES",
    "Artifact",
    "check_artifact_key",
    "check_progress",
    "table_rows",
]

ARTIFACT_TYPES = ("markdown", "table", "link", "progress")
#: Prefect's rule, so keys written for it work here: lowercase letters, digits and dashes.
_KEY = re.compile(r"^[a-z0-9-]+$")
MAX_KEY = 255


def check_artifact_key(key: Any) -> None:
    """ValueError (saying what is allowed) unless `key` is None or a valid key."""
    if key is None:
        return
    if not isinstance(key, str):
        raise TypeError(f"An artifact key must be a str, got {type(key).__name__}")
    if not _KEY.match(key) or len(key) > MAX_KEY:
        raise ValueError(
            f"Artifact key {key[:60]!r} is not allowed: use lowercase letters, digits and "
            f"dashes (at most {MAX_KEY}), e.g. 'daily-report'"
        )


def check_progress(progress: Any) -> float:
    """`progress` as a float in [0, 100]; TypeError or ValueError otherwise."""
    if isinstance(progress, bool) or not isinstance(progress, int | float):
        raise TypeError(f"progress must be a number from 0 to 100, got {progress!r}")
    value = float(progress)
    if math.isnan(value) or not 0 <= value <= 100:
        raise ValueError(f"progress must be from 0 to 100, got {progress!r}")
    return value


def table_rows(table: Any) -> list[dict[str, Any]] | list[list[Any]]:
    """A table as Prefect takes it — a list of row dicts, a dict of columns, or a list of
    lists — in a JSON form: rows of dicts (or of lists when the rows have no names)."""
    if isinstance(table, dict):
        columns = {str(k): list(v) for k, v in table.items()}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(
                "a table given as a dict of columns needs columns of one length, got "
                + ", ".join(f"{k}: {len(v)}" for k, v in columns.items())
            )
        count = lengths.pop() if lengths else 0
        return [{k: _cell(v[i]) for k, v in columns.items()} for i in range(count)]
    if isinstance(table, list | tuple):
        rows = list(table)
        if all(isinstance(r, dict) for r in rows):
            return [{str(k): _cell(v) for k, v in r.items()} for r in rows]
        if all(isinstance(r, list | tuple) for r in rows):
            return [[_cell(v) for v in r] for r in rows]
    raise TypeError(
        "a table must be a list of row dicts, a dict of columns or a list of lists, got "
        f"{type(table).__name__}"
    )


def _cell(value: Any) -> Any:
    """A table cell as JSON shows it: NaN and infinities (pandas' missing values) as empty,
    what JSON has no type for (dates, decimals, huge ints) as its text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    if isinstance(value, list | tuple):
        return [_cell(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    return str(value)


@dataclass
class Artifact:
    """One artifact (or one version of a keyed one). `data` is the Markdown text, the table's
    rows, the link (`{"link": url, "text": ...}`) or the progress percentage."""

    id: str
    type: str
    data: Any
    key: str | None = None
    description: str | None = None
    flow_run_id: str | None = None
    task_run_id: str | None = None
    created: float = 0.0
    updated: float = 0.0

    def __post_init__(self) -> None:
        if self.type not in ARTIFACT_TYPES:
            raise ValueError(
                f"unknown artifact type {self.type!r}; expected one of {', '.join(ARTIFACT_TYPES)}"
            )
        check_artifact_key(self.key)
        if self.type == "progress":
            self.data = check_progress(self.data)
        elif self.type == "markdown" and not isinstance(self.data, str):
            raise TypeError(f"a markdown artifact's content must be a str, got {self.data!r}")
        elif self.type == "table":
            self.data = table_rows(self.data)
        elif self.type == "link" and (
            not isinstance(self.data, dict) or not isinstance(self.data.get("link"), str)
        ):
            raise TypeError("a link artifact's data is {'link': url, 'text': optional}")
        if isinstance(self.data, str) and len(self.data) > MAX_TEXT:
            raise ValueError(
                f"an artifact's content is {len(self.data)} characters; the most is {MAX_TEXT}"
            )
        self.data = storable_json(self.data)
        if self.description is not None:
            self.description = storable_json(str(self.description))
