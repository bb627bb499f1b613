"""`@flow`: a function whose every call is a recorded flow run that tasks and subflows join.

@flow(retries=1, log_prints=True)
def etl(day: date, limit: int = 100) -> int: ...

etl("2026-11-25")                     # parameters coerced from type hints: day is a date
etl(date.today(), return_state=True)  # the final State instead of the value
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from mainspring.engine.dag import tracing
from mainspring.engine.dag.tracing import trace_flow
from mainspring.engine.definition import Definition, hook_options
from mainspring.engine.hooks import Hook, add_hook
from mainspring.engine.retries import DelaySpec
from mainspring.engine.runners import ThreadPoolTaskRunner
from mainspring.engine.start import run_flow
from mainspring.model import StateType
from mainspring.model.text import check_definition

if TYPE_CHECKING:
    from mainspring.deploy.spec import RunnerDeployment

P = ParamSpec("P")
R = TypeVar("R")


class Flow(Definition[P, R]):
    """A flow definition: the function plus how its runs behave.

    `Flow("name")` with a name instead of a function is the explicit DAG of Prefect 1
    (`with Flow("name") as f: ...`), built and run by dag_flow.DagFlow, a subclass.
    """

    kind = "flow"
    #: where `from_source` loaded this flow from (deploy/sources.py), for `deploy()` to store
    source: Any = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        first = args[0] if args else kwargs.get("fn")
        if cls is Flow and (isinstance(first, str) or (first is None and "name" in kwargs)):
            from mainspring.engine.dag.flow import DagFlow  # lazy: dag.flow is off the default path

            return super().__new__(DagFlow)
        return super().__new__(cls)

    def __init__(
        self,
        fn: Callable[P, R],
        name: str | None = None,
        version: str | None = None,
        flow_run_name: str | Callable[[], str] | None = None,
        retries: int | None = None,
        retry_delay_seconds: DelaySpec = None,
        task_runner: Any = None,
        description: str | None = None,
        timeout_seconds: float | None = None,
        validate_parameters: bool = True,
        log_prints: bool | None = None,
        tags: Iterable[str] | None = None,
        on_completion: Any = None,
        on_failure: Any = None,
        on_cancellation: Any = None,
        on_crashed: Any = None,
        persist_result: bool | None = None,
        result_storage: Any = None,
        result_serializer: Any = None,
        cache_result_in_memory: bool = True,
        **unknown: Any,
    ) -> None:
        self._set_function(fn, unknown)
        self.name = name or fn.__name__.replace("_", "-")
        self.version = version
        self.flow_run_name = flow_run_name
        check_definition(self.name, version, tags, flow_run_name, "flow")
        given = hook_options(on_completion, on_failure, on_crashed, on_cancellation)
        self._set_run_options(retries, retry_delay_seconds, None, timeout_seconds, given)
        self.description = description or inspect.getdoc(fn)
        self.validate_parameters = validate_parameters
        self.log_prints = log_prints
        self.tags = list(tags or [])
        if task_runner is None:
            task_runner = ThreadPoolTaskRunner()
        elif isinstance(task_runner, type):
            task_runner = task_runner()
        self.task_runner = task_runner
        self.persist_result = persist_result
        self.result_storage = result_storage
        self.result_serializer = result_serializer
        self.cache_result_in_memory = cache_result_in_memory  # accepted; results stay in memory
        #: results.ResultOptions when the flow persists results (its own and its tasks'): what
        #: makes a resumed run skip finished tasks. None on the default path.
        self.results: Any = None
        if persist_result or result_storage is not None or result_serializer is not None:
            # lazy: results.storage is off the default path
            from mainspring.engine.results.storage import flow_result_options

            self.results = flow_result_options(persist_result, result_storage, result_serializer)
        self._options = dict(
            name=name,
            version=version,
            flow_run_name=flow_run_name,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            task_runner=task_runner,
            description=description,
            timeout_seconds=timeout_seconds,
            validate_parameters=validate_parameters,
            log_prints=log_prints,
            tags=tags,
            **given,
            persist_result=persist_result,
            result_storage=result_storage,
            result_serializer=result_serializer,
            cache_result_in_memory=cache_result_in_memory,
        )

    # -- hooks as decorators beyond the shared ones (on_completion, on_failure) ----------------
    def on_crashed(self, fn: Hook) -> Hook:
        return add_hook(self.hooks, StateType.CRASHED, fn)

    def on_cancellation(self, fn: Hook) -> Hook:
        return add_hook(self.hooks, StateType.CANCELLED, fn)

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r})"

    def __call__(self, *args: Any, return_state: bool = False, **kwargs: Any) -> Any:
        """Run the flow and return its value (or its final State with `return_state=True`).

        An async flow called from async code returns a coroutine to await; called from sync
        code it runs to completion on an event loop of its own.
        """
        if tracing.current() is not None:  # a subflow in a dry trace (visualize): a node
            return tracing.record_flow_call(self, args, kwargs)

        return run_flow(self, args, kwargs, return_state)

    def visualize(
        self, *args: Any, filename: Any = None, format: str = "png", **kwargs: Any
    ) -> list[Any]:
        """Draw the flow's task graph from a dry trace of its function (see tracing.py for
        what a trace can follow); arguments not given become Parameters. Returns the files
        written, drawing first (see visualize.py)."""
        # lazy: dag.visualize is off the default path
        from mainspring.engine.dag.visualize import visualize

        return visualize(trace_flow(self, args, kwargs), filename=filename, format=format)

    # The deploy layer sits above the engine; these two methods are its doorway on the flow,
    # as Prefect users write them (a lazy import, allowed by name in pyproject.toml).
    def to_deployment(self, name: str, **options: Any) -> RunnerDeployment:
        """A deployment of this flow to pass to `serve()`: `cron=`, `interval=` (seconds or
        timedelta), `rrule=`, `schedules=[...]`, `parameters=`, `tags=`, `paused=`,
        `timezone=` (IANA; cron and rrule are evaluated in it), `concurrency_limit=`,
        `description=`, `version=`, `catch_up=` ('latest', 'all', 'none'), `max_lateness=`.
        Every argument is checked now."""
        from mainspring.deploy.spec import RunnerDeployment

        return RunnerDeployment.from_flow(self, name, **options)

    def deploy(self, name: str, work_pool_name: str | None = None, **options: Any) -> str:
        """Register this flow as deployment `name` for the workers of `work_pool_name` and
        return its id; the options of `to_deployment`, plus `work_queue_name=` and
        `retries=` (how often a crashed run is rescheduled). Prints how to start a worker.
        Nothing runs here: see deploy/register.py."""
        from mainspring.deploy.register import deploy_flow

        return deploy_flow(self, name, work_pool_name, **options)

    @classmethod
    def from_source(cls, source: str, entrypoint: str, *, branch: str | None = None) -> Flow:
        """The flow at `entrypoint` ('path/to/file.py:flow_function') of `source`: a folder,
        or a git URL fetched into $MAINSPRING_HOME/sources. Deployed (`.deploy()`), a git
        source is pulled again by the worker before each run (deploy/sources.py)."""
        from mainspring.deploy.sources import load_from_source

        return load_from_source(source, entrypoint, branch)

    def serve(self, name: str, *, limit: int | None = None, **options: Any) -> None:
        """Register this flow as deployment `name` (the options of `to_deployment`) and run
        its runs from this process until Ctrl-C: `serve(self.to_deployment(...))`."""
        from mainspring.deploy.serve import serve

        serve(self.to_deployment(name, **options), limit=limit)


@overload
def flow(__fn: Callable[P, R]) -> Flow[P, R]: ...


@overload
def flow(**options: Any) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(__fn: Any = None, **options: Any) -> Any:
    """Make a function a flow: `@flow` or `@flow(name=..., retries=..., ...)`."""
    if __fn is not None:
        return Flow(__fn, **options)
    return lambda fn: Flow(fn, **options)


# Prefect writes `flow.from_source(...)` on the decorator as well as on the class.
flow.from_source = Flow.from_source  # type: ignore[attr-defined]
