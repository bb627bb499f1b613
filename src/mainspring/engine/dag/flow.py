"""`Flow("name")`: the explicit-DAG flow of Prefect 1, built in a `with` block, run by `run()`.

    from mainspring import Flow, Parameter, task

    with Flow("etl") as f:
        url = Parameter("url", default="http://localhost:8000")
        rows = transform(extract(url))
        load(rows, upstream_tasks=[create_table()])

    state = f.run(parameters={"url": "http://..."})
    state.result[rows].result          # one node's value, as in Prefect 1
    state.result[rows].result()        # the same, as in Prefect 3 (see dag_state.py)
    f.visualize()                      # draw the graph

`Flow(fn)` with a function (what `@flow` makes) is unchanged; a name string instead gives a
`DagFlow`, which *is* an engine flow: its function runs the graph (dag_run.execute), so a DAG
run is created, recorded, retried, timed out and hooked exactly like a `@flow` run.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mainspring.engine.dag import tracing
from mainspring.engine.dag.graph import Dag, DagError, Edge, Node, Parameter
from mainspring.engine.dag.run import GatedTaskRunner, execute
from mainspring.engine.dag.state import DagState
from mainspring.engine.flows import Flow
from mainspring.engine.hooks import current_hooks
from mainspring.engine.runners import ThreadPoolTaskRunner
from mainspring.engine.start import run_flow
from mainspring.engine.tasks import Task
from mainspring.exceptions import ParameterBindError
from mainspring.model import State


class DagFlow(Flow):
    """A flow whose tasks and dependencies are declared up front, as a graph."""

    def __init__(
        self,
        name: str | None = None,
        tasks: Iterable[Any] | None = None,
        edges: Iterable[Edge] | None = None,
        task_runner: Any = None,
        **options: Any,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"Flow(name) needs a name, got {name!r}")
        self.dag = Dag(name)

        def run_dag(**parameters: Any) -> State:
            return execute(self.dag, parameters)

        run_dag.__name__ = run_dag.__qualname__ = name.replace(" ", "_")
        run_dag.__module__ = _caller_module()
        run_dag.__doc__ = options.get("description")
        if task_runner is None:
            task_runner = ThreadPoolTaskRunner()
        elif isinstance(task_runner, type):
            task_runner = task_runner()
        if not isinstance(task_runner, GatedTaskRunner):
            task_runner = GatedTaskRunner(task_runner)
        super().__init__(run_dag, name=name, task_runner=task_runner, **options)
        self._refresh_signature()
        self._token: Any = None
        for item in tasks or ():
            self.add_task(item)
        for edge in edges or ():
            self.add_edge(edge.upstream, edge.downstream, key=edge.key)

    def __repr__(self) -> str:
        return f"<Flow {self.name!r}: {len(self.dag.nodes)} nodes>"

    # -- building ----------------------------------------------------------------------------
    def __enter__(self) -> DagFlow:
        self._token = tracing.building(self.dag)
        self._token.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        token, self._token = self._token, None
        token.__exit__(*exc_info)
        self._refresh_signature()

    def add_task(self, task: Any) -> Node:
        """Add a task (or a Parameter) as a node; a task definition is its own node."""
        node = self.dag.node_for(task)
        self._refresh_signature()
        return node

    def add_edge(
        self, upstream_task: Any, downstream_task: Any, key: str | None = None, mapped: bool = False
    ) -> Edge:
        """`upstream_task` runs first; with `key`, its result is that argument downstream."""
        edge = self.dag.add_edge(upstream_task, downstream_task, key=key, mapped=mapped)
        self._refresh_signature()
        return edge

    def set_dependencies(
        self,
        task: Any,
        upstream_tasks: Iterable[Any] | None = None,
        downstream_tasks: Iterable[Any] | None = None,
        keyword_tasks: dict[str, Any] | None = None,
        mapped: bool = False,
    ) -> Node:
        """Prefect 1's functional API: declare what `task` needs, by order or by argument.

        `keyword_tasks` values that are tasks or nodes become data edges; other values are
        constant arguments.
        """
        node = self.dag.node_for(task)
        node.mapped = node.mapped or mapped
        for upstream in upstream_tasks or ():
            self.dag.add_edge(upstream, node)
        for downstream in downstream_tasks or ():
            self.dag.add_edge(node, downstream)
        for key, value in (keyword_tasks or {}).items():
            if _is_task_like(value):
                self.dag.add_edge(value, node, key=key)
            else:
                node.inputs[key] = value
        self._refresh_signature()
        return node

    # -- reading -----------------------------------------------------------------------------
    @property
    def tasks(self) -> set[Node]:
        return set(self.dag.nodes)

    @property
    def edges(self) -> set[Edge]:
        return set(self.dag.edges)

    def get_tasks(self, name: str | None = None) -> list[Node]:
        return [n for n in self.dag.nodes if name is None or n.name == name]

    def root_tasks(self) -> set[Node]:
        return set(self.dag.root_nodes())

    def terminal_tasks(self) -> set[Node]:
        return set(self.dag.terminal_nodes())

    def upstream_tasks(self, task: Any) -> set[Node]:
        return set(self.dag.upstream_of(self.dag.node_for(task)))

    def downstream_tasks(self, task: Any) -> set[Node]:
        return set(self.dag.downstream_of(self.dag.node_for(task)))

    def sorted_tasks(self) -> list[Node]:
        return self.dag.sorted()

    # -- running -----------------------------------------------------------------------------
    def run(self, parameters: dict[str, Any] | None = None, **kwargs: Any) -> DagState:
        """Run the graph once, as a recorded flow run; return its final state.

        `state.result[node]` is each node's State, and `state.result[node].result` its value
        (Prefect 1), also callable (Prefect 3): see dag_state.py. A missing required
        parameter, an unknown one, a cycle or a call missing an argument is an error before
        anything runs.
        """
        given = {**(parameters or {}), **kwargs}
        self._check(given)

        state = run_flow(self, (), given, return_state=True)
        return DagState(state.type, state.name, state.message, state.data, state.ts)

    def _check(self, given: dict[str, Any]) -> None:
        self.dag.sorted()  # a cycle is an error before anything is recorded
        known = {p.name for p in self.dag.parameters}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ParameterBindError(
                f"Flow {self.name!r} got unknown parameter(s) {', '.join(unknown)}; "
                f"its parameters are: {', '.join(sorted(known)) or 'none'}"
            )
        missing = [p.name for p in self.dag.parameters if p.required and p.name not in given]
        if missing:
            raise ParameterBindError(
                f"Flow {self.name!r} is missing required parameter(s): {', '.join(missing)}"
            )
        for node in self.dag.nodes:
            if node.kind == "parameter":
                continue
            try:
                args, kwargs = node.task.parameters.call_args(node.inputs)
                node.task.parameters.signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise DagError(f"Flow {self.name!r}, task {node.name!r}: {exc}") from None

    def _refresh_signature(self) -> None:
        """The flow's signature is its Parameters (keyword-only), so the engine binds,
        records and shows them like any flow's parameters."""
        names: dict[str, Parameter] = {}
        for param in self.dag.parameters:
            if names.setdefault(param.name, param) is not param:
                raise DagError(f"Flow {self.name!r} has two Parameters named {param.name!r}")
        signature = inspect.Signature(
            [
                inspect.Parameter(
                    p.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=inspect.Parameter.empty if p.required else p.default,
                )
                for p in names.values()
            ]
        )
        self.fn.__signature__ = signature  # type: ignore[attr-defined]
        self._parameters = None  # rebuilt from the new signature on next use

    def with_options(self, **changes: Any) -> DagFlow:
        """A copy with some options changed, sharing this flow's graph."""
        options = {**self._options, **current_hooks(self.hooks)}
        options["task_runner"] = self.task_runner.inner
        options.update(changes)
        copy = DagFlow(options.pop("name") or self.name, **options)
        copy.dag = self.dag
        copy._refresh_signature()
        return copy

    # Prefect 1's signature: the graph is declared, there are no arguments to trace it with
    def visualize(  # type: ignore[override]
        self, filename: str | Path | None = None, format: str = "png"
    ) -> list[Path]:
        """Draw the graph (see visualize.py); returns the files written, drawing first."""
        from mainspring.engine.dag.visualize import visualize  # lazy: subprocess

        return visualize(self.dag, filename=filename, format=format)


def _is_task_like(value: Any) -> bool:
    return isinstance(value, Node | Task)


def _caller_module() -> str:
    """The module that wrote `Flow("name")`, for the flow's function (shown by tools)."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__", "").startswith("mainspring."):
        frame = frame.f_back
    return frame.f_globals.get("__name__", "__main__") if frame is not None else "__main__"
