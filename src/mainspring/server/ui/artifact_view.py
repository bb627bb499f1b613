"""Artifacts as a page shows them: Markdown rendered safely, tables as tables, links that can
only go to http(s), progress as a bar with its number.

An artifact's content is whatever a run's code wrote, so it is hostile until shown otherwise.
Markdown goes through markdown-it-py (CommonMark, the library `rich` already depends on) with
raw HTML off (`<script>` comes out as text), images off (no request to a URL a run chose) and
link targets limited to http and https (anything else stays text); the renderer escapes every
text it emits. Tables and links are plain values the template escapes itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from mainspring.model.artifacts import Artifact

#: Link schemes a page links to; anything else (javascript:, data:, file:) is shown as text.
SAFE_SCHEMES = ("http://", "https://")
#: Rows of a table artifact drawn on a page (the rest is counted, not drawn).
MAX_ROWS = 200


def safe_href(url: object) -> str | None:
    """`url` when it is an http(s) URL, else None (so the page shows it as text)."""
    if not isinstance(url, str):
        return None
    cleaned = url.strip()
    if not cleaned.lower().startswith(SAFE_SCHEMES) or any(c in cleaned for c in "\r\n\t\x00"):
        return None
    return cleaned


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.disable("image")
    md.validateLink = lambda url: safe_href(url) is not None  # type: ignore[method-assign]

    def link_open(renderer: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    return md


_MD = _markdown()


def render_markdown(text: str) -> Markup:
    """`text` as HTML: CommonMark and tables, raw HTML escaped, only http(s) links."""
    return Markup(_MD.render(text))  # markdown-it escapes all text; raw HTML is off


@dataclass(slots=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    total: int  # rows in the artifact (more than `rows` when it was cut)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def table_of(data: Any) -> Table:
    """A table artifact's rows (row dicts, or lists when unnamed) as columns and text cells."""
    rows = data if isinstance(data, list) else []
    shown = rows[:MAX_ROWS]
    if shown and all(isinstance(r, dict) for r in shown):
        columns: list[str] = []
        for row in shown:
            columns.extend(k for k in row if k not in columns)
        cells = [[_cell_text(row.get(c)) for c in columns] for row in shown]
    else:
        width = max((len(r) for r in shown if isinstance(r, list)), default=0)
        columns = [str(i + 1) for i in range(width)]
        cells = [
            [_cell_text(r[i]) if isinstance(r, list) and i < len(r) else "" for i in range(width)]
            for r in shown
        ]
    return Table(columns, cells, len(rows))


@dataclass(slots=True)
class ArtifactView:
    """What a page draws for one artifact (only the field of its type is set)."""

    artifact: Artifact
    markdown: Markup | None = None
    table: Table | None = None
    link_text: str | None = None
    link_href: str | None = None  # None: the link is not http(s), shown as text
    progress: float | None = None


def view_of(artifact: Artifact) -> ArtifactView:
    view = ArtifactView(artifact)
    if artifact.type == "markdown":
        view.markdown = render_markdown(str(artifact.data))
    elif artifact.type == "table":
        view.table = table_of(artifact.data)
    elif artifact.type == "link":
        data = artifact.data if isinstance(artifact.data, dict) else {}
        url = str(data.get("link", ""))
        view.link_href = safe_href(url)
        view.link_text = str(data.get("text") or url)
    elif artifact.type == "progress":
        view.progress = float(artifact.data)
    return view


def views_of(artifacts: list[Artifact]) -> list[ArtifactView]:
    return [view_of(a) for a in artifacts]
