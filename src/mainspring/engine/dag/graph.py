"""The explicit DAG of the Prefect 1 style: nodes (task calls, parameters) and the edges between.

    with Flow("etl") as f:           # see dag_flow.py
        url = Parameter("url")
        raw = extract(url)           # a Node: the call is recorded, not run
        load(transform(raw))

This module is the graph alone, with no running: `dag_flow.py` is the user's `Flow("name")`,
`dag_run.py` executes a graph inside a real flow run, `dag_state.py` is the state it returns,
`tracing.py` builds graphs from task calls, and `visualize.py` draws them. A `@flow`'s dry
trace produces the same graph, which is why drawing needs nothing else.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mainspring.exceptions import MainspringError, ParameterBindError

_CONTAINERS = (list, tuple, set, frozenset, dict)
_NO_DEFAULT: Any = object()


class DagError(MainspringError):
    """The graph cannot be built or run as given (a cycle, a missing argument, a bad node)."""


class Node:
    """One node of a DAG: a task with its arguments (which may hold other nodes).

    Returned by a task call inside `with Flow(...)` (and by a dry trace) in place of the
    task's result, so that passing it to another task records an edge. It is hashable by
    identity: the final state's `result[node]` is that node's State.
    """

    kind = "task"

    def __init__(self, task: Any, name: str | None = None, mapped: bool = False) -> None:
        self.task = task
        self.name = name or getattr(task, "name", None) or "task"
        self.mapped = mapped
        #: bound arguments, parameter name -> value (nodes inside are data edges)
        self.inputs: dict[str, Any] = {}
        #: nodes that must finish first without passing data (`upstream_tasks=`)
        self.upstream: list[Node] = []
        self.dag: Dag | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}{' (mapped)' if self.mapped else ''}>"

    # -- the Prefect 1 surface of a task inside a flow -----------------------------------------
    def set_upstream(self, other: Any, key: str | None = None) -> None:
        """`other` runs before this node (and, with `key`, passes its result as that argument)."""
        self._graph().add_edge(other, self, key=key)

    def set_downstream(self, other: Any, key: str | None = None) -> None:
        self._graph().add_edge(self, other, key=key)

    def _graph(self) -> Dag:
        from mainspring.engine.dag import tracing  # cycle: dag.tracing -> this module

        dag = self.dag or tracing.current()
        if dag is None:
            raise DagError(f"{self!r} belongs to no flow: use it inside `with Flow(...)`")
        return dag

    # -- placeholders stand in for results: what code may do with them ------------------------
    def result(self, *args: Any, **kwargs: Any) -> Node:
        """In a dry trace `future.result()` is the future's placeholder itself."""
        return self

    def wait(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __await__(self) -> Generator[Any, None, Node]:
        # `await my_async_task()` in a traced async flow
        return self
        yield  # pragma: no cover  (makes this a generator)

    def __getitem__(self, key: Any) -> Node:
        return self._graph().call(_builtin_task(operator.getitem, "GetItem"), (self, key), {})

    def __iter__(self) -> Iterator[Node]:
        dag = self._graph()
        if not dag.dry:
            raise DagError(
                f"{self!r} is a placeholder for a task's result, which does not exist until "
                "the flow runs: it cannot be iterated while the flow is being built "
                "(map a task over it instead: my_task.map(it))"
            )
        yield self[_EACH]  # a dry trace follows a loop's body once, for one element


#: the key a dry trace uses for "each element" when user code iterates a placeholder
_EACH = "*"


def _operator(fn: Callable[[Any, Any], Any], symbol: str, reflected: bool = False) -> Any:
    """Prefect 1's operators on tasks: `a + b` inside a flow is a node adding two results."""

    def method(self: Node, other: Any) -> Node:
        args = (other, self) if reflected else (self, other)
        return self._graph().call(_builtin_task(fn, symbol), args, {})

    return method


@functools.cache
def _builtin_task(fn: Callable[..., Any], name: str) -> Any:
    """The task behind an operator, made once (tasks.py imports this package's tracing)."""
    from mainspring.engine.tasks import Task  # cycle: tasks -> dag.tracing -> this module

    def call(a: Any, b: Any) -> Any:
        return fn(a, b)

    call.__name__ = call.__qualname__ = name
    return Task(call, name=name)


for _name, _fn, _symbol in (
    ("add", operator.add, "Add"),
    ("sub", operator.sub, "Sub"),
    ("mul", operator.mul, "Mul"),
    ("truediv", operator.truediv, "Div"),
    ("floordiv", operator.floordiv, "FloorDiv"),
    ("mod", operator.mod, "Mod"),
    ("pow", operator.pow, "Pow"),
):
    setattr(Node, f"__{_name}__", _operator(_fn, _symbol))
    setattr(Node, f"__r{_name}__", _operator(_fn, _symbol, reflected=True))
for _name, _fn, _symbol in (
    ("lt", operator.lt, "LessThan"),
    ("le", operator.le, "LessThanOrEqual"),
    ("gt", operator.gt, "GreaterThan"),
    ("ge", operator.ge, "GreaterThanOrEqual"),
):
    setattr(Node, f"__{_name}__", _operator(_fn, _symbol))


class Parameter(Node):
    """A value given when the flow runs: `f.run(parameters={"url": ...})`.

    Without a default (or with `required=True`) a run must give it; as in Prefect 1 a
    Parameter is a node, so passing it to a task is an edge, but it is not a task run:
    parameters are recorded on the flow run, where the UI shows them.
    """

    kind = "parameter"

    def __init__(self, name: str, default: Any = _NO_DEFAULT, required: bool | None = None) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"Parameter names must be Python identifiers (they become the flow's keyword "
                f"parameters), got {name!r}"
            )
        super().__init__(None, name=name)
        self.required = default is _NO_DEFAULT if required is None else bool(required)
        self.default = None if default is _NO_DEFAULT else default

    def __repr__(self) -> str:
        return f"<Parameter {self.name!r}>"


@dataclass(frozen=True)
class Edge:
    """`upstream` runs before `downstream`; with a `key` its result is that argument."""

    upstream: Node
    downstream: Node
    key: str | None = None


def nodes_in(value: Any) -> Iterator[Node]:
    """The nodes inside an argument, looking into lists, tuples, sets, dicts and `unmapped`."""
    if isinstance(value, Node):
        yield value
    elif isinstance(value, _CONTAINERS):
        for item in value.values() if isinstance(value, dict) else value:
            yield from nodes_in(item)
    elif type(value).__name__ == "unmapped" and hasattr(value, "value"):
        yield from nodes_in(value.value)


class Dag:
    """Nodes in the order they were added, and what each needs from the others."""

    def __init__(self, name: str, dry: bool = False) -> None:
        self.name = name
        #: a dry trace of a `@flow` (placeholders may be iterated) rather than a built DAG
        self.dry = dry
        self.nodes: list[Node] = []
        self._by_task: dict[int, Node] = {}  # id(task definition) -> its own node (add_task)

    # -- building ----------------------------------------------------------------------------
    def add(self, node: Node) -> Node:
        """Add `node` after the nodes it needs (so the order of addition reads top-down)."""
        if node.dag is not None and node.dag is not self:
            raise DagError(f"{node!r} belongs to another flow ({node.dag.name!r})")
        for value in node.inputs.values():
            for inner in nodes_in(value):
                self.add(inner)
        for inner in node.upstream:
            self.add(inner)
        if node not in self.nodes:
            self.nodes.append(node)
        if node.kind != "parameter":  # a Parameter may be used by several flows
            node.dag = self
        return node

    def node_for(self, item: Any) -> Node:
        """The node for a node, a parameter, or a task definition (Prefect 1's `add_task(t)`:
        the task itself is the node, created the first time it is named)."""
        if isinstance(item, Node):
            return self.add(item)
        from mainspring.engine.tasks import Task  # cycle: tasks -> dag.tracing -> this module

        if isinstance(item, Task):
            node = self._by_task.get(id(item))
            if node is None:
                node = self._by_task[id(item)] = self.add(Node(item))
            return node
        raise DagError(f"expected a task or a node of this flow, got {item!r}")

    def call(
        self,
        task: Any,
        args: tuple,
        kwargs: dict,
        upstream: Iterable[Any] = (),
        mapped: bool = False,
        kind: str = "task",
    ) -> Node:
        """Record one call of `task` as a new node; a call that does not fit the task's
        signature is an error here, where the call is written, not when the flow runs."""
        try:
            bound = task.parameters.signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise ParameterBindError(f"{task.name}(): {exc}") from None
        node = Node(task, mapped=mapped)
        node.kind = kind
        node.inputs = dict(bound.arguments)
        for item in upstream:
            for inner in _flatten(item):
                node.upstream.append(self.node_for(inner))
        return self.add(node)

    def add_edge(
        self, upstream: Any, downstream: Any, key: str | None = None, mapped: bool = False
    ) -> Edge:
        up, down = self.node_for(upstream), self.node_for(downstream)
        if key is None:
            if up not in down.upstream:
                down.upstream.append(up)
        else:
            down.inputs[key] = up
        down.mapped = down.mapped or mapped
        return Edge(up, down, key)

    # -- reading -----------------------------------------------------------------------------
    @property
    def parameters(self) -> list[Parameter]:
        return [n for n in self.nodes if isinstance(n, Parameter)]

    def upstream_of(self, node: Node) -> list[Node]:
        """Every node `node` waits for, data or not, each once, in order of addition."""
        seen: dict[Node, None] = {}
        for value in node.inputs.values():
            for inner in nodes_in(value):
                seen.setdefault(inner)
        for inner in node.upstream:
            seen.setdefault(inner)
        return list(seen)

    @property
    def edges(self) -> list[Edge]:
        found: list[Edge] = []
        for node in self.nodes:
            for key, value in node.inputs.items():
                found.extend(Edge(inner, node, key) for inner in dict.fromkeys(nodes_in(value)))
            found.extend(Edge(inner, node) for inner in node.upstream)
        return found

    def downstream_of(self, node: Node) -> list[Node]:
        return [n for n in self.nodes if node in self.upstream_of(n)]

    def root_nodes(self) -> list[Node]:
        return [n for n in self.nodes if not self.upstream_of(n)]

    def terminal_nodes(self) -> list[Node]:
        has_downstream = {up for n in self.nodes for up in self.upstream_of(n)}
        return [n for n in self.nodes if n not in has_downstream]

    def sorted(self) -> list[Node]:
        """Nodes in an order where each comes after all it waits for (Kahn's algorithm,
        stable: otherwise the order of addition). A cycle is an error naming its nodes."""
        waiting = {n: len(self.upstream_of(n)) for n in self.nodes}
        downstream: dict[Node, list[Node]] = {n: [] for n in self.nodes}
        for node in self.nodes:
            for up in self.upstream_of(node):
                downstream[up].append(node)
        position = {n: i for i, n in enumerate(self.nodes)}
        ready = [n for n in self.nodes if waiting[n] == 0]
        ordered: list[Node] = []
        while ready:
            node = ready.pop(0)
            ordered.append(node)
            for down in downstream[node]:
                waiting[down] -= 1
                if waiting[down] == 0:
                    ready.append(down)
                    ready.sort(key=position.__getitem__)
        if len(ordered) != len(self.nodes):
            stuck = ", ".join(repr(n.name) for n in self.nodes if waiting[n] > 0)
            raise DagError(f"Flow {self.name!r} has a cycle among: {stuck}")
        return ordered

    def depths(self) -> dict[Node, int]:
        """Each node's layer: the longest path from a root to it (used to draw the graph)."""
        depth: dict[Node, int] = {}
        for node in self.sorted():
            depth[node] = 1 + max((depth[u] for u in self.upstream_of(node)), default=-1)
        return depth


def _flatten(item: Any) -> Iterator[Any]:
    """`upstream_tasks=[a, [b, c]]` and `wait_for=` lists: the tasks and nodes inside."""
    if isinstance(item, list | tuple | set | frozenset):
        for inner in item:
            yield from _flatten(inner)
    else:
        yield item
