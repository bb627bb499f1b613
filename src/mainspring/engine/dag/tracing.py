"""Recording task calls as graph nodes instead of running them.

Two users: the body of `with Flow("name") as f:` (Prefect 1's explicit DAG), and the dry
trace behind `my_flow.visualize()` for `@flow` functions. While a graph is being built, a
task call (`t(...)`, `t.submit(...)`, `t.map(...)`) made outside any running flow records a
node and returns it as a placeholder for its result. tasks.py asks `current()` only when no
flow run is active, so calls inside running flows (the hot path) pay nothing for this.

A dry trace runs the flow's function for real, with placeholders instead of task results, so
its limits are those of data that does not exist yet:
- a branch on a result (`if rows:`) is traced as if the placeholder were true;
- a loop over a result (`for page in pages:`) is traced once, for one placeholder element;
- anything else done with a result (`len(rows)`, `rows.count`, `range(n + 1)`) cannot be
  traced, and visualize() says so, naming the exception.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from mainspring.engine.context import flow_run_context, task_run_context
from mainspring.engine.dag.graph import Dag, DagError, Parameter
from mainspring.exceptions import MainspringError

if TYPE_CHECKING:
    from mainspring.engine.dag.graph import Dag, Node
    from mainspring.engine.flows import Flow

_building: ContextVar[Dag | None] = ContextVar("mainspring_dag_building", default=None)


def current() -> Dag | None:
    """The graph that task calls are being recorded into, if any."""
    return _building.get()


@contextlib.contextmanager
def building(dag: Dag | None) -> Iterator[None]:
    """Record task calls into `dag` (None: run them again) for the duration of the block.

    No flow or task run is current inside: a `with Flow()` block written inside a running
    flow still builds its graph rather than running its tasks.
    """
    token = _building.set(dag)
    flow_token = flow_run_context.set(None) if dag is not None else None
    task_token = task_run_context.set(None) if dag is not None else None
    try:
        yield
    finally:
        if task_token is not None:
            task_run_context.reset(task_token)
        if flow_token is not None:
            flow_run_context.reset(flow_token)
        _building.reset(token)


def record_task_call(task: Any, how: str, args: tuple, kwargs: dict, wait_for: Any) -> Any:
    """A task called, submitted or mapped while a graph is built: its node (tasks.py).

    Prefect 1's `upstream_tasks=[...]` keyword and Prefect 3's `wait_for=` both become
    order-only edges; `return_state=` is ignored (there is no state yet).
    """
    dag = _building.get()
    assert dag is not None
    kwargs = dict(kwargs)
    upstream = [kwargs.pop("upstream_tasks", None) or [], wait_for or []]
    kwargs.pop("return_state", None)
    return dag.call(task, args, kwargs, upstream=upstream, mapped=how == "map")


def record_flow_call(flow: Flow, args: tuple, kwargs: dict) -> Node:
    """A subflow called during a dry trace is one node; in `with Flow()` it is an error."""
    dag = _building.get()
    assert dag is not None
    if not dag.dry:
        raise DagError(
            f"Flow {flow.name!r} was called inside `with Flow({dag.name!r})`: an explicit DAG "
            "holds tasks only; call the flow from a task, or use @flow style for subflows"
        )
    kwargs = {k: v for k, v in kwargs.items() if k != "return_state"}
    return dag.call(flow, args, kwargs, kind="flow")


class TraceError(MainspringError):
    """A `@flow` function could not be traced for visualize() (see tracing.py for why)."""


def trace_flow(flow: Flow, args: tuple = (), kwargs: dict | None = None) -> Dag:
    """Run `flow`'s function with task calls recorded as nodes; return the graph.

    Arguments not given, and without a default, are Parameters (placeholders), so a flow
    with required parameters can be drawn without inventing values for them.
    """
    dag = Dag(flow.name, dry=True)
    signature = flow.parameters.signature
    try:
        bound = signature.bind_partial(*args, **(kwargs or {}))
    except TypeError as exc:
        raise TraceError(f"Flow {flow.name!r}: {exc}") from None
    for name, param in signature.parameters.items():
        if name in bound.arguments or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is inspect.Parameter.empty:
            bound.arguments[name] = dag.add(Parameter(name))
    with building(dag):
        try:
            outcome = flow.fn(*bound.args, **bound.kwargs)
            if flow.is_async:
                from mainspring.engine.asyncutils import run_coro_sync  # lazy: asyncio

                run_coro_sync(outcome)
        except Exception as exc:
            raise TraceError(
                f"Could not trace flow {flow.name!r} for visualize(): {type(exc).__name__}: "
                f"{exc}. A dry trace gives the flow placeholders instead of task results; "
                "code that uses a result's value (len(), arithmetic with plain numbers, "
                "attribute access) cannot be traced. See mainspring.engine.dag.tracing for "
                "what can."
            ) from exc
    return dag
