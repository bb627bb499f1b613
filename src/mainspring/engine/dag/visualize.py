"""Drawing a flow's graph: DOT source always, a picture by Graphviz or by a fallback.

Graphviz is not a dependency (it is a C program, not a wheel): when its `dot` program is on
PATH, `visualize()` renders the DOT source with it, in any format `dot` knows (png, svg,
pdf...). Without it, the DOT source is still written, and an SVG is drawn by the small
layered layout below (nodes in rows by depth, edges as arrows); asking for another format
then warns and says what to install.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from mainspring.exceptions import MainspringError

if TYPE_CHECKING:
    from mainspring.engine.dag.graph import Dag, Node

INSTALL_HINT = (
    "install Graphviz for it: `apt install graphviz`, `brew install graphviz` or "
    "`conda install graphviz` (the `dot` program must be on PATH)"
)


class VisualizationError(MainspringError):
    """The graph could not be drawn as asked."""


def visualize(dag: Dag, filename: str | Path | None = None, format: str = "png") -> list[Path]:
    """Write the drawing of `dag` and its DOT source; return their paths, drawing first.

    `filename` is the path without extension (one given is replaced by `format`'s); by
    default a file named after the flow in a `mainspring-visualize` temporary folder.
    """
    format = format.lower().lstrip(".")
    if filename is None:
        folder = Path(tempfile.gettempdir()) / "mainspring-visualize"
        base = folder / (re.sub(r"[^\w.-]+", "-", dag.name).strip("-") or "flow")
    else:
        base = Path(filename)
        if base.suffix.lower().lstrip(".") in {format, *_KNOWN_SUFFIXES}:
            base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    source = _with_extension(base, "dot")
    source.write_text(to_dot(dag), encoding="utf-8")
    if format in ("dot", "gv"):
        return [source]
    dot = shutil.which("dot")
    if dot is not None:
        target = _with_extension(base, format)
        _run_dot(dot, format, source, target)
        return [target, source]
    target = _with_extension(base, "svg")
    if format != "svg":
        warnings.warn(
            f"Graphviz's `dot` program is not on PATH, so {format!r} cannot be drawn; wrote "
            f"an SVG ({target}) and the DOT source instead. To get {format!r}, {INSTALL_HINT}.",
            stacklevel=3,
        )
    target.write_text(to_svg(dag), encoding="utf-8")
    return [target, source]


_KNOWN_SUFFIXES = frozenset({"dot", "gv", "svg", "png", "pdf", "jpg", "jpeg", "gif", "webp"})


def _with_extension(base: Path, extension: str) -> Path:
    """`base` plus `.extension`, keeping dots already in the name (`etl.v2` -> `etl.v2.png`,
    where `with_suffix` would give `etl.png`)."""
    return base.with_name(f"{base.name}.{extension}")


def _run_dot(dot: str, format: str, source: Path, target: Path) -> None:
    """Render `source` into `target` with Graphviz; its complaints become our error (its
    warnings on stderr with exit status 0, such as font substitutions, are not errors)."""
    try:
        done = subprocess.run(
            [dot, f"-T{format}", str(source), "-o", str(target)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VisualizationError(f"Graphviz `{dot} -T{format}` could not run: {exc}") from exc
    if done.returncode != 0:
        raise VisualizationError(f"Graphviz `dot -T{format}` failed: {done.stderr.strip()}")


# -- DOT ---------------------------------------------------------------------------------------
def label_of(node: Node) -> str:
    if node.kind == "parameter":
        return f"{node.name} (parameter)"
    if node.kind == "flow":
        return f"{node.name} (subflow)"
    return f"{node.name} (mapped)" if node.mapped else node.name


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_DOT_SHAPES = {"task": "box", "parameter": "ellipse", "flow": "box3d"}
_FILL = {"task": "#eef3fb", "parameter": "#fdf3e1", "flow": "#e9f7ef"}


def node_ids(dag: Dag) -> dict[Node, str]:
    """Each node's DOT id: its label, numbered when several nodes share one (`transform`,
    `transform [2]`). Graphviz writes ids into its SVG as each node's <title>, which browsers
    show on hover, so they should read as task names, not `n3`.

    Graphviz keeps backslashes in ids as written (only labels process escapes), and a
    backslash before the closing quote would swallow it, so in an id each backslash becomes
    U+2216, a look-alike; labels show names exactly.
    """
    ids: dict[Node, str] = {}
    used: set[str] = set()
    for node in dag.nodes:
        name = candidate = _plain_id(label_of(node))
        count = 1
        while candidate in used:
            count += 1
            candidate = f"{name} [{count}]"
        used.add(candidate)
        ids[node] = candidate
    return ids


def _plain_id(text: str) -> str:
    return text.replace("\\", "\u2216").replace("\n", " ")


def _dot_id(text: str) -> str:
    """A quoted DOT id for text already made plain (no backslashes, no newlines)."""
    return '"' + text.replace('"', '\\"') + '"'


def to_dot(dag: Dag) -> str:
    """The graph in Graphviz's language: one statement per node, one per edge; data edges
    carry the argument's name, order-only edges are dashed."""
    ids = {node: _dot_id(name) for node, name in node_ids(dag).items()}
    lines = [f"digraph {_dot_id(_plain_id(dag.name))} {{", "  rankdir=TB;"]
    lines.append(
        '  node [fontname="Helvetica", style="rounded,filled", fillcolor="#eef3fb", '
        'color="#4a6fa5"];'
    )
    lines.append(
        '  edge [fontname="Helvetica", fontsize=10, color="#555555", fontcolor="#555555"];'
    )
    for node in dag.nodes:
        shape = _DOT_SHAPES.get(node.kind, "box")
        extra = ", peripheries=2" if node.mapped else ""
        fill = (
            f', fillcolor="{_FILL[node.kind]}"'
            if node.kind != "task" and node.kind in _FILL
            else ""
        )
        label = _dot_string(label_of(node))
        lines.append(f"  {ids[node]} [label={label}, shape={shape}{fill}{extra}];")
    for edge in dag.edges:
        attrs = f" [label={_dot_string(edge.key)}]" if edge.key else ' [style="dashed"]'
        lines.append(f"  {ids[edge.upstream]} -> {ids[edge.downstream]}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- the pure-Python SVG fallback ------------------------------------------------------------
CHAR_WIDTH, NODE_HEIGHT, H_GAP, ROW_GAP, MARGIN = 7.2, 34, 28, 70, 24


def layout(dag: Dag) -> dict[Node, tuple[float, float, float]]:
    """Place each node: (centre x, top y, width). Rows are depths (longest path from a root);
    within a row, nodes are ordered by the mean position of their upstreams (one barycentre
    sweep, which removes most crossings in the graphs flows have), then centred."""
    depth = dag.depths()
    rows: dict[int, list[Node]] = {}
    for node in dag.nodes:
        rows.setdefault(depth[node], []).append(node)
    order: dict[Node, float] = {}
    for level in sorted(rows):
        if level > 0:
            rows[level].sort(key=lambda n: _barycentre(dag, n, order))
        for i, node in enumerate(rows[level]):
            order[node] = i
    widths = {n: max(60.0, CHAR_WIDTH * len(label_of(n)) + 24) for n in dag.nodes}
    row_width = {lv: sum(widths[n] for n in ns) + H_GAP * (len(ns) - 1) for lv, ns in rows.items()}
    total = max(row_width.values(), default=0.0)
    placed: dict[Node, tuple[float, float, float]] = {}
    for level, nodes in rows.items():
        x = MARGIN + (total - row_width[level]) / 2
        y = MARGIN + level * (NODE_HEIGHT + ROW_GAP)
        for node in nodes:
            placed[node] = (x + widths[node] / 2, y, widths[node])
            x += widths[node] + H_GAP
    return placed


def _barycentre(dag: Dag, node: Node, order: dict[Node, float]) -> float:
    ups = [order[u] for u in dag.upstream_of(node) if u in order]
    return sum(ups) / len(ups) if ups else float("inf")


def to_svg(dag: Dag) -> str:
    """A standalone SVG of the graph, laid out by `layout`."""
    placed = layout(dag)
    width = max((x + w / 2 for x, _, w in placed.values()), default=0.0) + MARGIN
    height = max((y + NODE_HEIGHT for _, y, _ in placed.values()), default=0.0) + MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="12">',
        f"<title>{escape(dag.name)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for edge in dag.edges:
        x1, y1, _ = placed[edge.upstream]
        x2, y2, _ = placed[edge.downstream]
        y1 += NODE_HEIGHT
        dash = "" if edge.key else ' stroke-dasharray="5,4"'
        out.append(
            f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"{dash}/>'
        )
        if edge.key:
            out.append(
                f'<text class="edge-label" x="{(x1 + x2) / 2 + 4:.1f}" '
                f'y="{(y1 + y2) / 2:.1f}" fill="#555" font-size="10">{escape(edge.key)}</text>'
            )
    for node in dag.nodes:
        x, y, w = placed[node]
        fill = _FILL.get(node.kind, "#eef3fb")
        rx = NODE_HEIGHT / 2 if node.kind == "parameter" else 6
        out.append(f'<g class="node {node.kind}"><title>{escape(label_of(node))}</title>')
        if node.mapped:  # a second outline, as Graphviz draws peripheries=2
            out.append(
                f'<rect x="{x - w / 2 - 3:.1f}" y="{y - 3:.1f}" width="{w + 6:.1f}" '
                f'height="{NODE_HEIGHT + 6}" rx="{rx + 3}" fill="none" stroke="#4a6fa5"/>'
            )
        out.append(
            f'<rect x="{x - w / 2:.1f}" y="{y:.1f}" width="{w:.1f}" height="{NODE_HEIGHT}" '
            f'rx="{rx}" fill="{fill}" stroke="#4a6fa5"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{y + NODE_HEIGHT / 2 + 4:.1f}" text-anchor="middle" '
            f"data-node={quoteattr(node.name)}>{escape(label_of(node))}</text></g>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
