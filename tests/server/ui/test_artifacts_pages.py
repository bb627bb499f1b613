"""Artifacts in the UI (httpx against the app), made by a real flow recording into a real store
(SQLite and PostgreSQL): on the flow run's and the task run's pages and on /artifacts, Markdown
rendered with its HTML escaped, tables as tables, only http(s) links clickable, progress as a
bar with its number; hostile content stays text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mainspring.server.ui.artifact_view import render_markdown, safe_href
from mainspring.store.sql import SqlStore

from .artifact_flows import BAD_URL, HOSTILE_CELL, reporting
from .conftest import ui_client
from .test_pages import text_of


@pytest.fixture
def reported(flow_store: SqlStore) -> Iterator[tuple[SqlStore, str, str]]:
    """The store, the id of a run of `reporting` and of its task run `load`."""
    assert reporting() == 3
    (run,) = flow_store.read_flow_runs(limit=1)
    (task,) = flow_store.read_task_runs(run.id)
    yield flow_store, run.id, task.id


def no_live_markup(html: str) -> None:
    """Nothing a run wrote became markup: no script element, handler or javascript: href."""
    assert "<script>alert" not in html
    assert "<img src=x" not in html and "<b onmouseover" not in html
    assert 'href="javascript:' not in html.lower()
    assert "<i>today</i>" not in html


def test_a_flow_runs_page_shows_its_artifacts_safely(reported) -> None:
    store, run_id, task_id = reported
    with ui_client(store) as client:
        html = client.get(f"/runs/flow-run/{run_id}").text
    section = html[html.index('id="artifacts"') :]
    section = section[: section.index("</section>")]
    no_live_markup(section)
    # Markdown rendered: a heading, bold, a table; its raw HTML shown as text
    assert "<h1>Daily report</h1>" in section and "<strong>3</strong>" in section
    assert "<td>Oslo</td>" in section
    assert "&lt;script&gt;alert('md')&lt;/script&gt;" in section
    # only the http(s) link is a link; the javascript: one is text
    assert '<a href="https://example.com/report" rel="nofollow noopener noreferrer">' in section
    assert "[bad link](javascript:alert(3))" in text_of(section)
    assert '<a href="https://example.com/dashboard"' in section
    assert "the dashboard" in section
    assert "click me" in section and "not an http or https link" in section
    # the table artifact: a cell with HTML is text, None is empty; the task's progress
    assert "&lt;b onmouseover=alert(4)&gt;bold&lt;/b&gt;" in section
    assert re.search(r"<th scope=\"col\">city</th>\s*<th scope=\"col\">temp</th>", section)
    assert '<progress max="100" value="42.5">' in section and "42.5%" in section
    assert f'href="/runs/task-run/{task_id}">made in a task run' in section
    assert 'href="/artifacts?key=daily-report"' in section


def test_a_task_runs_page_shows_its_own_artifacts_only(reported) -> None:
    store, _run_id, task_id = reported
    with ui_client(store) as client:
        html = client.get(f"/runs/task-run/{task_id}").text
    section = html[html.index('id="artifacts"') :]
    section = section[: section.index("</section>")]
    no_live_markup(section)
    assert "weather-table" in section and "load-progress" in section
    assert "daily-report" not in section and "the dashboard" not in section  # the flow's
    assert "Readings &lt;i&gt;today&lt;/i&gt;" in section  # a description is text


def test_the_artifacts_page_lists_the_latest_version_of_each_key(reported) -> None:
    store, run_id, _task_id = reported
    reporting(rows=5)  # a second version of each key
    runs = store.read_flow_runs(limit=2)
    newest = max(runs, key=lambda r: r.created or 0)
    with ui_client(store) as client:
        page = client.get("/artifacts")
        assert page.status_code == 200
        html = page.text
        no_live_markup(html)
        # one entry per key, each from the newest run; unkeyed links of both runs
        assert html.count('class="artifact-key"') == 3
        assert html.count('id="artifact-') == 3 + 4
        assert f'href="/runs/flow-run/{newest.id}">{newest.name}</a>' in html
        assert 'aria-current="page">Artifacts</a>' in html
        versions = client.get("/artifacts?key=daily-report")
        assert versions.status_code == 200
        assert versions.text.count('id="artifact-') == 2
        assert f'href="/runs/flow-run/{run_id}"' in versions.text  # the older version's run
        bad = client.get("/artifacts?key=<script>")
        assert bad.status_code == 400 and "<script>" not in bad.text
        none = client.get("/artifacts?key=no-such-key")
        assert "No artifact has this key" in text_of(none.text)


def test_empty_states_say_what_to_do(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with ui_client(store) as client:
            text = text_of(client.get("/artifacts").text)
        assert "No artifacts yet" in text and "create_markdown_artifact" in text
    finally:
        store.close()


@pytest.mark.parametrize(
    "url",
    [BAD_URL, " JavaScript:alert(1)", "data:text/html,x", "file:///etc/passwd", "//evil", "", None],
)
def test_only_http_and_https_links_are_links(url) -> None:
    assert safe_href(url) is None


def test_markdown_keeps_html_and_images_out() -> None:
    html = str(
        render_markdown(
            "<iframe src=https://evil></iframe>\n\n![x](https://tracker.example/p.png)\n\n"
            "[a](vbscript:x) <javascript:alert(1)> [b](https://ok.example)\n\n"
            f"| h |\n|---|\n| {HOSTILE_CELL} |"
        )
    )
    assert "<iframe" not in html and "<img" not in html and "vbscript:" not in html.split("[a]")[0]
    assert 'href="vbscript' not in html and 'href="javascript' not in html
    assert '<a href="https://ok.example"' in html
    assert "&lt;b onmouseover=alert(4)&gt;" in html
