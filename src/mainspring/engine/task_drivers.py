"""The sync and async drivers of a task run: the loop over attempts around its engine.

Each takes a `TaskRunEngine` (run_task.py), drives it from Pending to its final state and
returns that state; `start.py` picks the driver for the function and the caller.

A task run's life, in `run_task_sync` (and its async twin, which differs only in `await`):

    Pending (recorded when the call is made)
    -> inputs resolved: upstream futures waited for; an upstream that failed ends it here
    -> Running -> the function is called
         returns            -> Completed
         raises             -> AwaitingRetry, sleep, Retrying -> ... or Failed when retries end
         times out          -> the same, ending TimedOut
         raises CancelledRun -> Cancelled (so does a cancel of its flow run: interrupts.py)
         is interrupted     -> Crashed, and the interruption propagates
    -> hooks of the final state, "Finished in state ..."
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mainspring.engine.futures import has_futures
from mainspring.engine.stopping.cancellation import FlowRunCancelled
from mainspring.engine.stopping.timeouts import is_own_timeout, timeout_after
from mainspring.exceptions import CancelledRun

if TYPE_CHECKING:
    from mainspring.engine.run_task import TaskRunEngine
    from mainspring.model import State


def run_task_sync(engine: TaskRunEngine) -> State:
    token = engine.enter()
    try:
        if (
            engine.resolve_inputs()
            and (not engine.record.tags or engine.take_slots())
            and (engine.results is None or not engine.lookup())
        ):
            while not engine.state.is_crashed():  # crashed with its flow while awaiting retry
                engine.begin_attempt()
                try:
                    if engine.timeout is None or engine.invoke is not None:
                        value = engine.call()
                    else:
                        with timeout_after(engine.timeout, engine.label, engine.record.id):
                            value = engine.call()
                except CancelledRun as exc:
                    engine.cancel(exc)
                except Exception as exc:
                    if engine.fail(exc, timed_out=is_own_timeout(exc, engine.record.id)):
                        engine.wait_to_retry()
                        continue
                else:
                    engine.succeed(value)
                break
    except BaseException as exc:  # KeyboardInterrupt, SystemExit, or a fault of the engine
        engine.crash(exc)
        raise
    finally:
        try:
            engine.finish()  # hooks inside the run's context: get_run_logger() logs to this run
        finally:
            engine.exit(token)
    return engine.state


def run_task_on_own_loop(engine: TaskRunEngine) -> State:
    """An async task run started from sync code (called, or submitted): on an event loop of
    its own, whose asyncio task a cancel of the flow run may cancel (interrupts.AsyncCall)."""
    from mainspring.engine.asyncutils import run_coro_sync  # lazy: asyncio

    return run_coro_sync(run_task_async(engine, own_loop=True))


async def run_task_async(engine: TaskRunEngine, own_loop: bool = False) -> State:
    import asyncio  # here, not at the top: `import mainspring` stays light

    token = engine.enter(own_loop)
    try:
        if engine.wait_for or engine.args or engine.kwargs:
            ready = (
                await asyncio.to_thread(engine.resolve_inputs)
                if engine.wait_for or has_futures(engine.args, engine.kwargs)
                else engine.resolve_inputs()
            )
        else:
            ready = True
        if ready and engine.record.tags:  # waits for its tags' slots: off the loop
            ready = await asyncio.to_thread(engine.take_slots)
        if ready and engine.results is not None:  # storage I/O and maybe a lock: off the loop
            ready = not await asyncio.to_thread(engine.lookup)
        if ready:
            while not engine.state.is_crashed():  # crashed with its flow while awaiting retry
                engine.begin_attempt()
                deadline = asyncio.timeout(engine.timeout)
                try:
                    async with deadline:
                        value = await engine.call_async()
                except CancelledRun as exc:
                    engine.cancel(exc)
                except TimeoutError as exc:  # ours when the deadline expired, else the function's
                    timed_out = deadline.expired()
                    if engine.fail(engine.timeout_error() if timed_out else exc, timed_out):
                        await engine.wait_to_retry_async()
                        continue
                except Exception as exc:
                    if engine.fail(exc):
                        await engine.wait_to_retry_async()
                        continue
                else:
                    engine.succeed(value)
                break
    except asyncio.CancelledError as exc:  # the surrounding asyncio task was cancelled
        own = engine.async_call
        if own is None or own.message is None:
            engine.asyncio_cancelled(exc)
            raise
        asyncio.current_task().uncancel()  # type: ignore[union-attr]  # ours: ends Cancelled
        engine.cancel(FlowRunCancelled(own.message))
    except BaseException as exc:
        engine.crash(exc)
        raise
    finally:
        try:
            engine.finish()  # hooks inside the run's context: get_run_logger() logs to this run
        finally:
            engine.exit(token)
    return engine.state
