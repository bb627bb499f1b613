"""Executing an explicit DAG as a real flow run.

`Flow("name")` (dag_flow.py) is an ordinary engine flow whose function is `execute` below,
so a DAG run is recorded like any flow run: its states, logs, parameters, task runs and the
edges between them. `execute` submits every node's task, in topological order, through
`task.submit()`, with upstream nodes' futures as arguments (data edges) and `wait_for=`
(order-only edges). Submitting in that order gives each task run the same key in every run.

So that a task run waiting for its upstreams does not hold a worker thread meanwhile, the
flow's task runner is wrapped in a `GatedTaskRunner`: a submission is handed to the real
runner only once the futures it depends on are done. Independent branches therefore run in
parallel on the ThreadPoolTaskRunner, and a chain of 100 tasks holds one thread, not 100.

A failed node fails its downstream nodes without running them (the engine's upstream
failure), and the flow ends Failed, naming the task runs that failed on their own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mainspring.engine.context import flow_run_context
from mainspring.engine.dag import tracing
from mainspring.engine.dag.graph import Node, nodes_in
from mainspring.engine.dag.state import TaskState, TaskStates
from mainspring.engine.futures import MainspringFuture, UpstreamFailure
from mainspring.engine.runners import TaskRunner
from mainspring.engine.runners.run_future import RunFuture
from mainspring.engine.tasks import unmapped
from mainspring.model import State
from mainspring.model.states import Completed, Failed

if TYPE_CHECKING:
    from mainspring.engine.dag.graph import Dag, Node


class GatedTaskRunner(TaskRunner):
    """Holds each submission until the futures it was gated on are done, then hands it to the
    wrapped runner; ungated submissions (a task submitting tasks) go straight through."""

    def __init__(self, inner: TaskRunner) -> None:
        self.inner = inner
        self.invoke = inner.invoke
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held: set[RunFuture] = set()
        self._closed = False

    def duplicate(self) -> GatedTaskRunner:
        return GatedTaskRunner(self.inner.duplicate())

    @contextmanager
    def gated(self, upstream: list[MainspringFuture]) -> Iterator[None]:
        """Submissions from this thread inside the block wait for `upstream` to be done."""
        self._local.gate = upstream
        try:
            yield
        finally:
            self._local.gate = None

    def submit(self, call: Any) -> RunFuture:
        upstream = [f for f in getattr(self._local, "gate", None) or () if not f.done()]
        if not upstream:
            return self.inner.submit(call)
        outer = RunFuture()
        remaining = [len(upstream)]
        with self._lock:
            self._held.add(outer)

        def one_done(_: Any) -> None:
            with self._lock:
                remaining[0] -= 1
                if remaining[0]:
                    return
                self._held.discard(outer)
                closed = self._closed
            if closed or outer.cancelled():
                outer.cancel()
                return
            self.inner.submit(call).add_done_callback(lambda inner: _copy(inner, outer))

        for future in upstream:
            future.add_done_callback(one_done)
        return outer

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            held, self._held = list(self._held), set()
        for future in held:  # waiting on upstreams that will not run: never started
            future.cancel()
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)

    def __repr__(self) -> str:
        return f"GatedTaskRunner({self.inner!r})"


def _copy(inner: RunFuture, outer: RunFuture) -> None:
    if inner.cancelled():
        outer.cancel()
    elif outer.set_running_or_notify_cancel():
        error = inner.exception()
        if error is None:
            outer.set_result(inner.result())
        else:
            outer.set_exception(error)


# -- the body of a DAG flow run ----------------------------------------------------------------
def execute(dag: Dag, parameters: dict[str, Any]) -> State:
    """Run every node of `dag` on the current flow run's task runner; return the flow's
    state, which carries each node's state."""
    flow_ctx = flow_run_context.get()
    assert flow_ctx is not None, "a DAG runs inside its flow run"
    runner = flow_ctx.task_runner
    outcome: dict[Node, Any] = {}  # node -> its future(s), or a parameter's value
    with tracing.building(None):  # calls are runs again, even if `run()` is inside a `with`
        for node in _order(dag):
            if node.kind == "parameter":
                outcome[node] = parameters[node.name]
            else:
                outcome[node] = _submit(dag, node, outcome, runner)
        states = {node: _final_state(node, outcome[node]) for node in dag.nodes}
    task_states = TaskStates(states)
    failed = [n for n, s in states.items() if not s.is_completed()]
    if not failed:
        return Completed(message=f"All {len(states)} nodes completed", data=task_states)
    own = [n for n in failed if not isinstance(states[n].data, UpstreamFailure)] or failed
    names = ", ".join(_run_name(n, outcome[n]) for n in own)
    message = f"{len(own)} task run(s) failed: {names}"
    if len(failed) > len(own):
        message += f"; {len(failed) - len(own)} downstream did not run"
    return Failed(message=message, data=task_states)


def _order(dag: Dag) -> list[Node]:
    """Topological order, with mapped nodes and what follows them last: mapping needs its
    input's value to know how many runs to submit, so the loop waits there."""
    ordered = dag.sorted()
    late: set[Node] = set()
    for node in ordered:
        if node.mapped or any(u in late for u in dag.upstream_of(node)):
            late.add(node)
    return [n for n in ordered if n not in late] + [n for n in ordered if n in late]


def _substitute(value: Any, outcome: dict[Node, Any]) -> Any:
    if isinstance(value, Node):
        return outcome[value]
    if isinstance(value, unmapped):
        return unmapped(_substitute(value.value, outcome))
    if isinstance(value, dict):
        return {k: _substitute(v, outcome) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset) and any(True for _ in nodes_in(value)):
        return type(value)(_substitute(v, outcome) for v in value)
    return value


def _futures_in(value: Any) -> list[MainspringFuture]:
    if isinstance(value, MainspringFuture):
        return [value]
    if isinstance(value, list):  # a mapped node's futures
        return [f for item in value for f in _futures_in(item)]
    return []


def _submit(dag: Dag, node: Node, outcome: dict[Node, Any], runner: Any) -> Any:
    inputs = {k: _substitute(v, outcome) for k, v in node.inputs.items()}
    args, kwargs = node.task.parameters.call_args(inputs)
    wait_for = [outcome[u] for u in node.upstream]
    gate = [f for u in dag.upstream_of(node) for f in _futures_in(outcome[u])]
    if node.mapped:
        for future in gate:  # map needs its inputs' values: wait for them here
            future.wait()
        if all(f.state.is_completed() for f in gate):
            return node.task.map(*args, wait_for=wait_for or None, **kwargs)
        # an input failed: one task run records the upstream failure for the mapped node
        args, kwargs = node.task.parameters.call_args(_unwrap_unmapped(inputs))
    gated = runner.gated(gate) if isinstance(runner, GatedTaskRunner) else _no_gate()
    with gated:
        return node.task.submit(*args, wait_for=wait_for or None, **kwargs)


def _unwrap_unmapped(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v.value if isinstance(v, unmapped) else v for k, v in inputs.items()}


@contextmanager
def _no_gate() -> Iterator[None]:
    yield


def _final_state(node: Node, outcome: Any) -> TaskState:
    if node.kind == "parameter":
        return TaskState.of(Completed(data=outcome))
    if isinstance(outcome, MainspringFuture):
        return TaskState.of(outcome.final_state())
    states = [f.final_state() for f in outcome]  # mapped: one state per element
    bad = [s for s in states if not s.is_completed()]
    if bad:
        failed = Failed(message=f"{len(bad)}/{len(states)} mapped runs did not complete")
        return TaskState.of(failed, map_states=states)
    return TaskState.of(Completed(data=[s.result() for s in states]), map_states=states)


def _run_name(node: Node, outcome: Any) -> str:
    if isinstance(outcome, MainspringFuture):
        return repr(outcome.task_run.name)
    return repr(f"{node.name} (mapped)")
