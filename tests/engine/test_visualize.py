"""visualize(): the DOT source, Graphviz when its `dot` is installed, the pure-Python SVG
otherwise, and the dry trace that lets `@flow` flows be drawn too.

`dot` may or may not be installed where the tests run: each test that needs it absent takes
it off PATH; the one that needs it present is skipped without it.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from mainspring import Flow, Parameter, flow, get_run_logger, task
from mainspring.engine.tracing import TraceError, trace_flow

SVG = "{http://www.w3.org/2000/svg}"


@task
def extract(source):
    return [1, 2, 3]


@task
def transform(rows):
    return rows


@task
def load(rows, target):
    return len(rows)


@task
def create_table():
    return None


def etl_dag() -> Flow:
    with Flow("etl dag") as f:
        source = Parameter("source", default="api")
        rows = transform(extract(source))
        load(rows, "db", upstream_tasks=[create_table()])
    return f


@pytest.fixture
def no_dot(tmp_path, monkeypatch):
    """A PATH on which there is no Graphviz."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None


def svg_labels(path) -> list[str]:
    root = ET.parse(path).getroot()  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    return [t.text for t in root.iter(f"{SVG}text") if t.get("data-node") is not None]


def test_without_dot_svg_and_dot_source_are_written(tmp_path, no_dot):
    written = etl_dag().visualize(filename=tmp_path / "etl", format="svg")

    assert written == [tmp_path / "etl.svg", tmp_path / "etl.dot"]
    labels = svg_labels(written[0])
    assert sorted(labels) == sorted(
        ["source (parameter)", "extract", "transform", "load", "create_table"]
    )
    root = ET.parse(written[0]).getroot()
    assert len([e for e in root.iter(f"{SVG}line") if e.get("class") == "edge"]) == 4
    source = written[1].read_text()
    assert source.startswith('digraph "etl dag" {')
    for upstream, downstream, attrs in [
        ("n0", "n1", '[label="source"]'),  # source -> extract, as its `source` argument
        ("n1", "n2", '[label="rows"]'),
        ("n2", "n4", '[label="rows"]'),
        ("n3", "n4", '[style="dashed"]'),  # create_table -> load: order only
    ]:
        assert f"{upstream} -> {downstream} {attrs};" in source


def test_layers_follow_dependencies(tmp_path, no_dot):
    written = etl_dag().visualize(filename=tmp_path / "etl", format="svg")
    root = ET.parse(written[0]).getroot()
    y = {
        t.get("data-node"): float(t.get("y")) for t in root.iter(f"{SVG}text") if t.get("data-node")
    }
    assert y["source"] < y["extract"] < y["transform"] < y["load"]
    assert y["create_table"] == y["source"]  # a root: top row


def test_png_without_dot_warns_what_to_install_and_writes_svg(tmp_path, no_dot):
    with pytest.warns(UserWarning, match="apt install graphviz"):
        written = etl_dag().visualize(filename=tmp_path / "etl")  # format="png" by default
    assert [p.suffix for p in written] == [".svg", ".dot"]
    assert all(p.is_file() for p in written)


def test_format_dot_writes_only_the_source(tmp_path):
    written = etl_dag().visualize(filename=tmp_path / "graph.dot", format="dot")
    assert written == [tmp_path / "graph.dot"]
    assert "->" in written[0].read_text()


def test_default_filename_is_named_after_the_flow(no_dot):
    written = etl_dag().visualize(format="svg")
    assert written[0].name == "etl-dag.svg" and written[0].is_file()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_with_dot_graphviz_renders(tmp_path):
    written = etl_dag().visualize(filename=tmp_path / "etl", format="png")
    assert written == [tmp_path / "etl.png", tmp_path / "etl.dot"]
    assert written[0].read_bytes().startswith(b"\x89PNG")
    svg = etl_dag().visualize(filename=tmp_path / "etl2", format="svg")[0]
    assert "transform" in svg.read_text()


# -- @flow flows: a dry trace --------------------------------------------------------------------
def test_a_decorated_flow_is_drawn_from_a_dry_trace_without_running(tmp_path, no_dot):
    ran = []

    @task
    def side_effect(x):
        ran.append(x)
        return x

    @flow
    def pipeline(source: str, target: str = "db"):
        get_run_logger().info("traced, not logged")
        table = create_table.submit()
        rows = transform(extract(source))
        side_effect.map(rows)
        return load(rows, target, wait_for=[table])

    written = pipeline.visualize(filename=tmp_path / "pipeline", format="svg")

    assert ran == []
    labels = svg_labels(written[0])
    assert sorted(labels) == sorted(
        [
            "source (parameter)",
            "create_table",
            "extract",
            "transform",
            "side_effect (mapped)",
            "load",
        ]
    )
    source = written[1].read_text()
    assert '[style="dashed"]' in source  # wait_for= is an order-only edge


def test_a_dry_trace_follows_loops_once_and_draws_subflows():
    @flow
    def child(rows):
        return rows

    @flow
    def parent():
        pages = extract.submit("api")
        for page in pages.result():  # traced once, for one placeholder element
            transform(page)
        child(pages)

    dag = trace_flow(parent)
    assert [n.name for n in dag.nodes] == ["extract", "GetItem", "transform", "child"]
    assert dag.nodes[-1].kind == "flow"


def test_a_flow_that_uses_a_results_value_cannot_be_traced_and_says_why():
    @flow
    def counting():
        rows = extract("api")
        return len(rows)

    with pytest.raises(TraceError, match="placeholders instead of task results"):
        counting.visualize(format="dot")


def test_an_async_flow_can_be_traced():
    @task
    async def fetch(x):
        return x

    @flow
    async def pipeline():
        value = await fetch(1)
        transform(value)

    assert [n.name for n in trace_flow(pipeline).nodes] == ["fetch", "transform"]
