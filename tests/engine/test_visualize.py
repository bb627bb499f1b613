"""visualize(): the DOT source, Graphviz when its `dot` is installed, the pure-Python SVG
otherwise, and the dry trace that lets `@flow` flows be drawn too.

`dot` may or may not be installed where the tests run (.ci/run installs it): each test that
needs it absent takes it off PATH; those that need it present are skipped without it.
"""

from __future__ import annotations

import shutil
import struct
import xml.etree.ElementTree as ET

import pytest

from mainspring import Flow, Parameter, flow, get_run_logger, task
from mainspring.engine.dag.tracing import TraceError, trace_flow
from mainspring.engine.dag.visualize import VisualizationError, to_dot

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
        ("source (parameter)", "extract", '[label="source"]'),  # as its `source` argument
        ("extract", "transform", '[label="rows"]'),
        ("transform", "load", '[label="rows"]'),
        ("create_table", "load", '[style="dashed"]'),  # order only
    ]:
        assert f'"{upstream}" -> "{downstream}" {attrs};' in source


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


def test_dots_in_the_filename_are_kept(tmp_path, no_dot):
    written = etl_dag().visualize(filename=tmp_path / "etl.v2", format="svg")
    assert written == [tmp_path / "etl.v2.svg", tmp_path / "etl.v2.dot"]
    assert all(p.is_file() for p in written)


def test_nodes_sharing_a_name_get_distinct_ids():
    with Flow("twice") as f:
        transform(transform(extract("a")))
    source = to_dot(f.dag)
    assert '"transform" -> "transform [2]" [label="rows"];' in source
    assert '"transform [2]" [label="transform", shape=box];' in source


# -- the real Graphviz (skipped where its `dot` program is not installed) ---------------------
@pytest.fixture
def dot():
    path = shutil.which("dot")
    if path is None:
        pytest.skip("Graphviz's dot is not installed (apt install graphviz)")
    return path


def png_size(path) -> tuple[int, int]:
    """Width and height from a PNG's signature and IHDR chunk (or fail: not a PNG)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def graphviz_svg(path) -> tuple[list[str], list[str], list[str]]:
    """From an SVG drawn by Graphviz: node ids (its <title>s), node texts, edge titles."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"

    def groups(cls):
        return [g for g in root.iter(f"{SVG}g") if g.get("class") == cls]

    nodes = groups("node")
    ids = [g.find(f"{SVG}title").text for g in nodes]
    texts = [t.text for g in nodes for t in g.iter(f"{SVG}text")]
    edges = [g.find(f"{SVG}title").text for g in groups("edge")]
    return ids, texts, edges


ETL_NODES = ["source (parameter)", "extract", "transform", "create_table", "load"]
ETL_EDGES = [
    "source (parameter)->extract",
    "extract->transform",
    "transform->load",
    "create_table->load",
]


def test_with_dot_png_is_drawn_by_graphviz(tmp_path, dot):
    written = etl_dag().visualize(filename=tmp_path / "etl")  # format="png" by default

    assert written == [tmp_path / "etl.png", tmp_path / "etl.dot"]
    width, height = png_size(written[0])
    assert 100 < width < height < 2000  # five rows of nodes: taller than wide
    assert '"extract" -> "transform"' in written[1].read_text()


def test_with_dot_svg_nodes_are_named_after_tasks(tmp_path, dot):
    written = etl_dag().visualize(filename=tmp_path / "etl.svg", format="svg")

    assert written == [tmp_path / "etl.svg", tmp_path / "etl.dot"]
    text = written[0].read_text()
    assert "Generated by graphviz" in text  # Graphviz's drawing, not the fallback's
    ids, texts, edges = graphviz_svg(written[0])
    assert sorted(ids) == sorted(ETL_NODES)
    assert sorted(t for t in texts) == sorted(ETL_NODES)
    assert sorted(edges) == sorted(ETL_EDGES)


def test_with_dot_other_formats_and_odd_names(tmp_path, dot):
    @task(name='say "hi" \\ to Zoë')
    def odd(x):
        return x

    with Flow("odd names") as f:
        first = odd(Parameter("who"))
        odd(first)

    pdf = f.visualize(filename=tmp_path / "odd", format="PDF")[0]
    assert pdf == tmp_path / "odd.pdf" and pdf.read_bytes().startswith(b"%PDF-")
    ids, texts, edges = graphviz_svg(f.visualize(filename=tmp_path / "odd", format="svg")[0])
    name = 'say "hi" \\ to Zoë'
    assert texts == ["who (parameter)", name, name]  # labels exactly as the task is named
    id_ = name.replace("\\", "\u2216")  # ids keep backslashes raw: shown as a look-alike
    assert ids == ["who (parameter)", id_, f"{id_} [2]"]
    assert edges == [f"who (parameter)->{id_}", f"{id_}->{id_} [2]"]


def test_with_dot_an_unknown_format_says_which_exist(tmp_path, dot):
    with pytest.raises(VisualizationError, match=r"dot -Tnope.*png"):
        etl_dag().visualize(filename=tmp_path / "etl", format="nope")


def test_with_dot_a_decorated_flow_is_drawn_too(tmp_path, dot):
    @flow
    def pipeline(source: str):
        load(transform(extract(source)), "db", wait_for=[create_table.submit()])

    png = pipeline.visualize(filename=tmp_path / "pipeline")[0]
    png_size(png)
    svg = pipeline.visualize(filename=tmp_path / "pipeline", format="svg")[0]
    assert sorted(graphviz_svg(svg)[0]) == sorted(ETL_NODES)


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


def test_a_dry_trace_draws_values_passed_on_as_a_real_run_records_them():
    """visualize() and the run graph agree: a result passed on as a value is an edge, as a
    future is (the recorded run's side: test_value_edges.py)."""

    @flow
    def pipeline():
        fetched = extract.submit("a").result()
        direct = extract("b")
        transform(fetched)
        transform([direct, 1])
        load({"rows": direct}, "db")

    dag = trace_flow(pipeline)
    names = {(e.upstream.name, e.downstream.name) for e in dag.edges}
    assert len(dag.edges) == 3
    assert names == {("extract", "transform"), ("extract", "load")}
    assert {e.upstream for e in dag.edges} == set(dag.nodes[:2])
