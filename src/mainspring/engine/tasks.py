"""`@task`: a function whose every call becomes a recorded, retryable task run.

@task(retries=2)
def extract(url: str) -> dict: ...

extract("http://...")           # inside a flow: runs now, returns the value
extract.submit("http://...")    # returns a future; runs on the flow's task runner
extract.map(["a", "b"])         # one task run per element, futures in a list
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar, overload

from mainspring.engine.context import FlowRunContext, flow_run_context
from mainspring.engine.dag import tracing
from mainspring.engine.definition import Definition, hook_options
from mainspring.engine.futures import FutureList, MainspringFuture
from mainspring.engine.names import render_run_name
from mainspring.engine.retries import DelaySpec
from mainspring.engine.start import call_task, submit_task
from mainspring.engine.stopping.interrupts import engine_entry
from mainspring.model import StateType
from mainspring.model.text import check_definition

P = ParamSpec("P")
R = TypeVar("R")


class unmapped:
    """Wrap an argument of `task.map()` that is passed whole to every call, not iterated."""

    def __init__(self, value: Any) -> None:
        self.value = value


class Task(Definition[P, R]):
    """A task definition: the function plus how its runs behave."""

    kind = "task"

    def __init__(
        self,
        fn: Callable[P, R],
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        version: str | None = None,
        retries: int | None = None,
        retry_delay_seconds: DelaySpec = None,
        retry_jitter_factor: float | None = None,
        retry_condition_fn: Callable[..., bool] | None = None,
        timeout_seconds: float | None = None,
        task_run_name: str | Callable[[], str] | None = None,
        log_prints: bool | None = None,
        validate_parameters: bool = False,
        on_completion: Any = None,
        on_failure: Any = None,
        on_crashed: Any = None,
        on_cancellation: Any = None,
        cache_policy: Any = None,
        cache_key_fn: Callable[..., str | None] | None = None,
        cache_expiration: Any = None,
        refresh_cache: bool | None = None,
        persist_result: bool | None = None,
        result_storage: Any = None,
        result_serializer: Any = None,
        cache_result_in_memory: bool = True,
        task_key: str | None = None,
        **unknown: Any,
    ) -> None:
        self._set_function(fn, unknown)
        self.name = name or fn.__name__
        check_definition(self.name, version, tags, task_run_name, "task", task_key)
        self._created_suffix = f" for task {self.name!r}"  # of "Created task run ..." lines
        self.description = description or inspect.getdoc(fn)
        self.tags = list(tags or [])
        self.version = version
        given = hook_options(on_completion, on_failure, on_crashed, on_cancellation)
        self._set_run_options(
            retries, retry_delay_seconds, retry_jitter_factor, timeout_seconds, given
        )
        self.retry_jitter_factor = retry_jitter_factor
        self.retry_condition_fn = retry_condition_fn
        self.task_run_name = task_run_name
        self.log_prints = log_prints
        self.validate_parameters = validate_parameters
        #: a generator function (sync or async): its body runs as the caller iterates
        self.is_async_generator = inspect.isasyncgenfunction(fn)
        self.is_generator = self.is_async_generator or inspect.isgeneratorfunction(fn)
        self.on_completion_hooks = self.hooks.setdefault(StateType.COMPLETED, [])
        self.on_failure_hooks = self.hooks.setdefault(StateType.FAILED, [])
        results = dict(
            cache_policy=cache_policy,
            cache_key_fn=cache_key_fn,
            cache_expiration=cache_expiration,
            refresh_cache=refresh_cache,
            persist_result=persist_result,
            result_storage=result_storage,
            result_serializer=result_serializer,
        )
        self.persist_result = persist_result
        self.cache_policy = cache_policy
        self.cache_key_fn = cache_key_fn
        self.cache_expiration = cache_expiration
        self.refresh_cache = refresh_cache
        self.result_storage = result_storage
        self.result_serializer = result_serializer
        self.cache_result_in_memory = cache_result_in_memory  # accepted; results stay in memory
        #: a key of the caller's choosing for this task's runs in a flow run, stable across
        #: code changes (resume matches runs by key); repeated calls get "-1", "-2", ...
        self.task_key = task_key
        #: persistence and caching options (results.ResultOptions); None on the default path
        self.results: Any = None
        if any(v is not None for v in results.values()) and persist_result is not False:
            # lazy: results.storage is off the default path
            from mainspring.engine.results.storage import task_result_options

            self.results = task_result_options(**results)
        self._options = dict(
            name=name,
            description=description,
            tags=tags,
            version=version,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            retry_jitter_factor=retry_jitter_factor,
            retry_condition_fn=retry_condition_fn,
            timeout_seconds=timeout_seconds,
            task_run_name=task_run_name,
            log_prints=log_prints,
            validate_parameters=validate_parameters,
            **given,
            **results,
            cache_result_in_memory=cache_result_in_memory,
            task_key=task_key,
        )

    def __repr__(self) -> str:
        return f"Task(name={self.name!r})"

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        """Tasks defined as methods bind like functions do."""
        if instance is None:
            return self
        bound = self.with_options()
        bound.fn = self.fn.__get__(instance, owner)  # type: ignore[attr-defined]
        return bound

    # -- calling (engine code: a cancel waits until it returns, see interrupts.py) --------------
    @engine_entry
    def __call__(
        self, *args: Any, return_state: bool = False, wait_for: Any = None, **kwargs: Any
    ) -> Any:
        """Run the task now and return its value (or its final State with `return_state`).

        For an async task called from async code this returns a coroutine to await.
        """
        flow_ctx = flow_run_context.get()
        if flow_ctx is None:
            if tracing.current() is not None:  # building a graph: a node
                return tracing.record_task_call(self, "call", args, kwargs, wait_for)
        elif flow_ctx.cancel_message is not None:
            flow_ctx.check_cancelled()  # the flow run is being cancelled: start nothing more
        return call_task(self, args, kwargs, wait_for, flow_ctx, return_state)

    @engine_entry
    def submit(
        self, *args: Any, wait_for: Any = None, return_state: bool = False, **kwargs: Any
    ) -> MainspringFuture:
        """Start the task on the flow's task runner and return a future of its run."""
        flow_ctx = flow_run_context.get()
        if flow_ctx is None:
            if tracing.current() is not None:  # building a graph: a node
                return tracing.record_task_call(self, "submit", args, kwargs, wait_for)
        elif flow_ctx.cancel_message is not None:
            flow_ctx.check_cancelled()
        return submit_task(self, args, kwargs, wait_for, flow_ctx)

    def map(self, *args: Any, wait_for: Any = None, **kwargs: Any) -> FutureList:
        """Submit one task run per element of the iterable arguments (zipped together).

        Arguments wrapped in `unmapped(...)`, strings, bytes and mappings are passed whole to
        every call. A future among the arguments is resolved first and its result iterated.
        """
        flow_ctx = flow_run_context.get()
        if flow_ctx is None and tracing.current() is not None:
            return tracing.record_task_call(self, "map", args, kwargs, wait_for)
        # lazy: mapping is off the default path
        from mainspring.engine.mapping import expand_map_calls

        sources: list[str] = []  # the runs whose results are mapped over: every run's upstream
        produced = flow_ctx.produced if flow_ctx is not None else None
        calls = expand_map_calls(self.name, self.parameters, args, kwargs, sources, produced)
        futures = FutureList()
        for call_args, call_kwargs in calls:
            futures.append(self._submit_mapped(call_args, call_kwargs, wait_for, flow_ctx, sources))
        return futures

    @engine_entry
    def _submit_mapped(
        self,
        args: tuple,
        kwargs: dict,
        wait_for: Any,
        flow_ctx: FlowRunContext | None,
        sources: list[str],
    ) -> MainspringFuture:
        """One run of `map()`: as `submit`, with data edges from the runs in `sources`."""
        if flow_ctx is not None and flow_ctx.cancel_message is not None:
            flow_ctx.check_cancelled()
        return submit_task(self, args, kwargs, wait_for, flow_ctx, sources)

    def settle_call(self, args: tuple, kwargs: dict, key: str) -> tuple[tuple, dict, str]:
        """Validate a call's arguments (when asked to) and render its run name from them
        (a `task_run_name` template; otherwise the name is `key`).

        Done on the final argument values: a future's result, not the future, is what the
        function receives, so it is what gets validated and what a name template shows.
        """
        bound = self.parameters.bind(args, kwargs)
        if self.validate_parameters:
            bound = self.parameters.validate(bound)
            positional, kwargs = self.parameters.call_args(bound)
            args = tuple(positional)
        if isinstance(self.task_run_name, str):
            key = render_run_name(self.task_run_name, bound, key)
        return args, kwargs, key


@overload
def task(__fn: Callable[P, R]) -> Task[P, R]: ...


@overload
def task(**options: Any) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(__fn: Any = None, **options: Any) -> Any:
    """Make a function a task: `@task` or `@task(name=..., retries=..., ...)`."""
    if __fn is not None:
        return Task(__fn, **options)
    return lambda fn: Task(fn, **options)
