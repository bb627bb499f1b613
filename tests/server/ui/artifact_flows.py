"""A real flow that leaves every kind of artifact, some of them hostile, for the UI's tests
(and, run as a script, for the screenshots: `python tests/server/ui/artifact_flows.py`
records into the store its environment names)."""

from __future__ import annotations

from mainspring import flow, task
from mainspring.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

HOSTILE_MARKDOWN = (
    "# Daily report\n\n"
    "Loaded **3** rows. <script>alert('md')</script> <img src=x onerror=alert(2)>\n\n"
    "[safe link](https://example.com/report) and [bad link](javascript:alert(3))\n\n"
    "| city | temp |\n|---|---|\n| Oslo | 3.5 |\n"
)
HOSTILE_CELL = "<b onmouseover=alert(4)>bold</b>"
BAD_URL = "javascript:alert(5)"


@task
def load(rows: int) -> int:
    progress = create_progress_artifact(0, key="load-progress", description="loading rows")
    update_progress_artifact(progress, 42.5)
    create_table_artifact(
        [{"city": "Oslo", "temp": 3.5}, {"city": HOSTILE_CELL, "temp": None}],
        key="weather-table",
        description="Readings <i>today</i>",
    )
    return rows


@flow(name="reporting")
def reporting(rows: int = 3) -> int:
    loaded = load(rows)
    create_markdown_artifact(HOSTILE_MARKDOWN, key="daily-report")
    create_link_artifact("https://example.com/dashboard", link_text="the dashboard")
    create_link_artifact(BAD_URL, link_text="click me")
    return loaded


if __name__ == "__main__":
    reporting()
