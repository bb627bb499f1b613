"""Generator tasks: the body runs inside its task run, as the caller iterates (as in Prefect 3).

    @task(retries=1)
    def rows(path: str):
        for line in open(path):
            yield parse(line)

    for row in rows("data.csv"): ...     # each value as the body yields it

Calling a generator task returns a generator (an async generator for `async def` with
`yield`). The task run starts when the caller asks for the first value and passes each value
on as the body yields it; `timeout_seconds` bounds each wait for the next value. The run ends
with the body: Completed (its result is the body's `return` value, None for an async
generator); when the body raises, AwaitingRetry and the body runs again from the start (the
values it yielded before failing come again), or Failed, raised to the caller. A caller that
stops iterating early ends the run Completed. A called generator task is not looked up in the
cache nor resumed from a stored result: that would yield nothing.

`.submit()` and `.map()` have no caller to pass values to: there the run consumes the body and
its result is the list of the values yielded (`Collect`), cached and resumed like any result.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any

from mainspring.engine.context import task_run_context
from mainspring.engine.start import _finish_standalone, create_task_run
from mainspring.engine.stopping.timeouts import is_own_timeout, timeout_after
from mainspring.exceptions import CancelledRun

if TYPE_CHECKING:
    from mainspring.engine.context import FlowRunContext
    from mainspring.engine.run_task import TaskRunEngine
    from mainspring.engine.tasks import Task


class Collect:
    """A generator function as a submitted task run calls it: the list of what it yields."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> list[Any]:
        return list(self.fn(*args, **kwargs))


class CollectAsync(Collect):
    async def __call__(self, *args: Any, **kwargs: Any) -> list[Any]:  # type: ignore[override]
        return [value async for value in self.fn(*args, **kwargs)]


def stream(
    task: Task,
    args: tuple,
    kwargs: dict,
    wait_for: Any,
    flow_ctx: FlowRunContext | None,
    return_state: bool,
) -> Any:
    """What calling a generator task returns: a generator (async for an async body)."""
    if return_state:
        raise ValueError(
            f"Task {task.name!r} is a generator: its call returns the values it yields, not a "
            "state; use .submit() for a future of its run (its result: the values yielded)"
        )
    if task.is_async_generator:
        return stream_task_async(task, args, kwargs, wait_for, flow_ctx)
    return stream_task_sync(task, args, kwargs, wait_for, flow_ctx)


def _in_run(engine: TaskRunEngine, fn: Callable[..., Any], *args: Any) -> Any:
    """Call `fn` with the run's context set: the body sees its task run (get_run_logger), the
    caller's code between two values does not."""
    token = task_run_context.set(engine.run_context())
    try:
        return fn(*args)
    finally:
        task_run_context.reset(token)


# what one step of an attempt came to
_VALUE, _ENDED, _RETRY = "value", "ended", "retry"


def _next_value(engine: TaskRunEngine, body: Generator[Any, Any, Any] | None) -> Any:
    """The body's next value (the body made on the first step), the call interruptible by a
    cancel and bounded by the timeout."""
    if body is None:
        body = engine.call()
    if engine.timeout is None:
        return body, engine.call(body.__next__)
    with timeout_after(engine.timeout, engine.label, engine.record.id):
        return body, engine.call(body.__next__)


def _advance(engine: TaskRunEngine, body: Generator[Any, Any, Any] | None) -> tuple[str, Any, Any]:
    """One step of an attempt: (_VALUE, body, value), or the attempt ended (the run too, or a
    retry is due): (_ENDED or _RETRY, body, None). The caller's code never runs in here."""
    try:
        body, value = _in_run(engine, _next_value, engine, body)
        return _VALUE, body, value
    except StopIteration as stop:
        _in_run(engine, engine.succeed, stop.value)
    except CancelledRun as exc:
        engine.cancel(exc)
    except Exception as exc:
        if engine.fail(exc, timed_out=is_own_timeout(exc, engine.record.id)):
            engine.wait_to_retry()
            return _RETRY, body, None
    return _ENDED, body, None


def stream_task_sync(
    task: Task, args: tuple, kwargs: dict, wait_for: Any, flow_ctx: FlowRunContext | None
) -> Generator[Any, None, Any]:
    """A generator task's run, driven while the caller iterates (see run_task_sync)."""
    engine = create_task_run(task, args, kwargs, wait_for, flow_ctx)
    engine.register()
    body: Generator[Any, Any, Any] | None = None
    try:
        if _in_run(engine, engine.resolve_inputs):
            while not engine.state.is_crashed():  # crashed with its flow while awaiting retry
                engine.begin_attempt()
                body = None
                while True:
                    step, body, value = _advance(engine, body)
                    if step != _VALUE:
                        break
                    yield value
                if step != _RETRY:
                    break
    except GeneratorExit:  # the caller stopped iterating: what the body yielded is the run
        if body is not None:
            _in_run(engine, body.close)
        _ended_early(engine)
        raise
    except BaseException as exc:  # KeyboardInterrupt, SystemExit, or a fault of the engine
        engine.crash(exc)
        raise
    finally:
        _end(engine)
    return engine.state.result()  # raises the exception of a run that failed


async def _advance_async(
    engine: TaskRunEngine, body: AsyncGenerator[Any, Any] | None
) -> tuple[str, Any, Any]:
    """One step of an async generator task's attempt (see `_advance`)."""
    import asyncio

    deadline = asyncio.timeout(engine.timeout)
    token = task_run_context.set(engine.run_context())
    try:
        if body is None:
            body = engine.fn(*engine.args, **engine.kwargs)
        async with deadline:
            return _VALUE, body, await engine.call_async(body.__anext__)
    except StopAsyncIteration:
        engine.succeed(None)
    except CancelledRun as exc:
        engine.cancel(exc)
    except TimeoutError as exc:  # ours when the deadline expired, else the body's
        timed_out = deadline.expired()
        if engine.fail(engine.timeout_error() if timed_out else exc, timed_out):
            await engine.wait_to_retry_async()
            return _RETRY, body, None
    except Exception as exc:
        if engine.fail(exc):
            await engine.wait_to_retry_async()
            return _RETRY, body, None
    finally:
        task_run_context.reset(token)
    return _ENDED, body, None


async def stream_task_async(
    task: Task, args: tuple, kwargs: dict, wait_for: Any, flow_ctx: FlowRunContext | None
) -> AsyncGenerator[Any, None]:
    """An async generator task's run, driven while the caller iterates (see run_task_async)."""
    import asyncio  # here, not at the top: `import mainspring` stays light

    engine = create_task_run(task, args, kwargs, wait_for, flow_ctx)
    engine.register()
    body: AsyncGenerator[Any, Any] | None = None
    try:
        ready = True
        if engine.wait_for or engine.args or engine.kwargs:
            ready = await asyncio.to_thread(_in_run, engine, engine.resolve_inputs)
        while ready and not engine.state.is_crashed():
            engine.begin_attempt()
            body = None
            while True:
                step, body, value = await _advance_async(engine, body)
                if step != _VALUE:
                    break
                yield value
            if step != _RETRY:
                break
    except GeneratorExit:
        if body is not None:
            await body.aclose()
        _ended_early(engine)
        raise
    except asyncio.CancelledError as exc:  # the caller's asyncio task was cancelled
        engine.asyncio_cancelled(exc)
        raise
    except BaseException as exc:
        engine.crash(exc)
        raise
    finally:
        _end(engine)
    if engine.state.is_failed() or engine.state.is_cancelled():
        engine.state.result()  # raises the run's exception (an async generator returns none)


def _ended_early(engine: TaskRunEngine) -> None:
    if not engine.state.is_final():
        engine.log(logging.INFO, "The caller stopped iterating: the run ends here")
        _in_run(engine, engine.succeed, None)


def _end(engine: TaskRunEngine) -> None:
    try:
        _in_run(engine, engine.finish)  # hooks inside the run's context, as for other tasks
    finally:
        engine.unregister()
        if engine.flow_ctx is None:  # a run outside any flow: written before it returns
            _finish_standalone(engine)
