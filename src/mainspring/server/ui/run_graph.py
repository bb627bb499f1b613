"""The dependency graph of a flow run, as the page draws it: one node per task (a mapped
task's runs are one node, with their count), one arrow per pair of tasks that passed data or
waited on each other, laid out in layers on the server (a plain SVG, no script).

The data is the graph API's (`/api/flow_runs/ID/graph`: the run's task runs and their edges)
counted by task in the database (`TaskRunSummaries`), so that a run of 10,000 task runs is a
handful of nodes read in one query; the page links to the API for the edges run by run.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from mainspring.model import StateType
from mainspring.model.task_groups import TaskGroup, TaskLink
from mainspring.server.ui.badges import CHART_ORDER, LOOKS

#: Tasks drawn at most; a run of more different tasks lists them instead.
MAX_NODES = 150
NODE_WIDTH, NODE_HEIGHT, GAP_X, GAP_Y, PAD = 170, 42, 60, 16, 8


@dataclass(slots=True)
class Node:
    name: str
    count: int
    state: StateType  # the one that needs attention first among its runs
    colour: str
    x: int
    y: int


@dataclass(slots=True)
class Arrow:
    path: str  # SVG path data
    kind: str  # "data" or "wait"
    count: int


@dataclass(slots=True)
class Graph:
    nodes: list[Node]
    arrows: list[Arrow]
    width: int
    height: int
    too_big: bool = False
    task_count: int = 0


def _layers(names: list[str], links: set[tuple[str, str]]) -> dict[str, int]:
    """Each task's layer: the longest chain of upstream tasks before it (Kahn's order; tasks in
    a cycle, which repeated calls can make between tasks, go after the others)."""
    upstream: dict[str, set[str]] = defaultdict(set)
    downstream: dict[str, set[str]] = defaultdict(set)
    for source, target in links:
        upstream[target].add(source)
        downstream[source].add(target)
    waiting = {n: len(upstream[n]) for n in names}
    ready = [n for n in names if waiting[n] == 0]
    layer = dict.fromkeys(names, 0)
    done: set[str] = set()
    while ready:
        name = ready.pop()
        done.add(name)
        for after in downstream[name]:
            layer[after] = max(layer[after], layer[name] + 1)
            waiting[after] -= 1
            if waiting[after] == 0:
                ready.append(after)
    deepest = max(layer.values(), default=0)
    for name in names:
        if name not in done:
            layer[name] = deepest + 1
    return layer


def build_graph(groups: list[TaskGroup], links: list[TaskLink]) -> Graph:
    """The graph of a run's task groups (`read_task_groups`) and the links between them
    (`read_task_links`: edges counted by task)."""
    states = {g.task_name: g.by_state for g in groups}
    names = list(states)
    if len(names) > MAX_NODES:
        return Graph([], [], 0, 0, too_big=True, task_count=len(names))
    counted: Counter[tuple[str, str, str]] = Counter()
    for link in links:
        if (
            link.upstream != link.downstream
            and link.upstream in states
            and link.downstream in states
        ):
            counted[(link.upstream, link.downstream, link.kind)] += link.count
    layer = _layers(names, {(s, t) for s, t, _ in counted})
    slots: Counter[int] = Counter()
    nodes: dict[str, Node] = {}
    for name in names:
        column = layer[name]
        row = slots[column]
        slots[column] += 1
        worst = next(t for t in CHART_ORDER if states[name].get(t))
        nodes[name] = Node(
            name,
            sum(states[name].values()),
            worst,
            LOOKS[worst].colour,
            PAD + column * (NODE_WIDTH + GAP_X),
            PAD + row * (NODE_HEIGHT + GAP_Y),
        )
    arrows = []
    for (source, target, kind), count in counted.items():
        a, b = nodes[source], nodes[target]
        x1, y1 = a.x + NODE_WIDTH, a.y + NODE_HEIGHT // 2
        x2, y2 = b.x, b.y + NODE_HEIGHT // 2
        if x2 <= x1:  # a cycle's back edge: around below
            path = f"M{x1},{y1} C{x1 + 40},{y1 + 60} {x2 - 40},{y2 + 60} {x2},{y2}"
        else:
            mid = (x1 + x2) // 2
            path = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
        arrows.append(Arrow(path, kind, count))
    width = PAD * 2 + (max(layer.values(), default=0) + 1) * (NODE_WIDTH + GAP_X)
    height = PAD * 2 + max(slots.values(), default=0) * (NODE_HEIGHT + GAP_Y)
    return Graph(list(nodes.values()), arrows, width, height, task_count=len(names))
