"""A task run's engine: the steps of one task run (enter, resolve inputs, call, retry, finish),
which the drivers in task_drivers.py call in a loop over attempts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mainspring.engine.context import FlowRunContext, TaskRunContext, task_run_context
from mainspring.engine.futures import (
    UpstreamFailure,
    resolve_arguments,
    wait_for_upstream,
)
from mainspring.engine.lifecycle import RunEngine
from mainspring.engine.logging import TASK_RUN_LOGGER
from mainspring.engine.stopping.cancellation import FlowRunCancelled
from mainspring.engine.stopping.interrupts import AsyncCall, CallGuard, current_guard
from mainspring.exceptions import (
    ParameterTypeError,
    ResultStorageError,
    SerializationError,
)
from mainspring.model import State, TaskRun, TaskRunEdge
from mainspring.model.states import Cancelled, Failed

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from mainspring.engine.concurrency_slots import Lease
    from mainspring.engine.runners.base import Invoke
    from mainspring.engine.tasks import Task
    from mainspring.store.recorder import Recorder


class TaskRunEngine(RunEngine):
    kind = "Task run"
    is_task = True
    record: TaskRun
    guard: CallGuard  # of the thread driving the run, set in `enter`

    def __init__(
        self,
        task: Task,
        task_run: TaskRun,
        label: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        wait_for: Any,
        flow_ctx: FlowRunContext | None,
        recorder: Recorder,
        invoke: Invoke | None = None,
    ) -> None:
        super().__init__(
            definition=task,
            record=task_run,
            recorder=recorder,
            label=label,
            policy=task.retry_policy,
            timeout=task.timeout_seconds,
            hooks=task.hooks,
            flow_run_id=task_run.flow_run_id,
            task_run_id=task_run.id,
            logger_name=TASK_RUN_LOGGER,
        )
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.wait_for = wait_for
        self.flow_ctx = flow_ctx
        self.invoke = invoke
        #: what an attempt calls: the task's function, or for a submitted generator task a
        #: wrapper collecting what its body yields (generator_tasks.Collect)
        self.fn: Callable[..., Any] = task.fn
        #: for a run of `map()`: the ids of the runs whose results it maps over (data edges)
        self.mapped_from: list[str] | None = None
        #: arguments hold futures: validate and name the run once they are resolved
        self.settle_later = False
        log_prints = task.log_prints
        if log_prints is None:
            log_prints = flow_ctx.log_prints if flow_ctx is not None else False
        self.log_prints = log_prints
        #: persistence and caching (results.ResultOptions), None on the default path
        results = task.results
        if (
            flow_ctx is not None
            and flow_ctx.results is not None
            and task.persist_result is not False
        ):
            results = flow_ctx.results if results is None else results.inherit(flow_ctx.results)
        self.results = results
        #: the cache key's lock, held by a SERIALIZABLE run
        self.lock: AbstractContextManager[None] | None = None
        #: an async run on an event loop of its own: how a cancel stops it (run_task_async)
        self.async_call: AsyncCall | None = None
        #: the slots of its limited tags (engine/tag_limits.py), held until it ends
        self.slots: Lease | None = None

    # -- around the attempts -----------------------------------------------------------------
    def enter(self, own_loop: bool = False) -> Any:
        self.register(own_loop)
        return task_run_context.set(self.run_context())

    def run_context(self) -> TaskRunContext:
        return TaskRunContext(self.task, self.record, self.log_prints, self.label)

    def register(self, own_loop: bool = False) -> None:
        """Make the run one of its flow run's active runs, which a cancel can interrupt."""
        self.guard = current_guard()
        flow_ctx = self.flow_ctx
        if flow_ctx is not None:
            flow_ctx.active_task_runs[self.record.id] = self.record
            if own_loop:
                self.async_call = AsyncCall()
            flow_ctx.interrupts[self.record.id] = self.async_call or self.guard

    def exit(self, token: Any) -> None:
        task_run_context.reset(token)
        self.unregister()

    def unregister(self) -> None:
        if self.flow_ctx is not None:
            self.flow_ctx.active_task_runs.pop(self.record.id, None)
            self.flow_ctx.interrupts.pop(self.record.id, None)
        if self.lock is not None:
            # lazy: results.persistence is off the default path
            from mainspring.engine.results.persistence import release

            release(self)
        if self.slots is not None:
            from mainspring.engine.concurrency_slots import release_slots  # lazy: tagged only

            release_slots(self.slots)
            self.slots = None

    def take_slots(self) -> bool:
        """Only for tagged runs: wait for the slots of its limited tags (tag_limits.py)."""
        from mainspring.engine.tag_limits import take_tag_slots  # lazy: tagged only

        return take_tag_slots(self)

    def lookup(self) -> bool:
        """Only for persisting runs: end the run from result storage (a resumed result or a
        cache hit) without calling the function; True when it did."""
        # lazy: results.persistence is off the default path
        from mainspring.engine.results.persistence import lookup

        try:
            return lookup(self)
        except ResultStorageError as exc:
            self.fail_for_results(exc)
            return True

    def succeed(self, value: Any) -> None:
        if self.results is not None:
            # lazy: results.persistence is off the default path
            from mainspring.engine.results.persistence import persist

            try:
                value = persist(self, value)  # a ResultRef holding the value, once written
            except (SerializationError, ResultStorageError) as exc:
                self.fail_for_results(exc)
                return
        super().succeed(value)
        if self.flow_ctx is not None:  # what its flow passes on names this run (a value edge)
            self.flow_ctx.produced.add(value, self.record.id)

    def fail_for_results(self, exc: Exception) -> None:
        """End Failed, without retrying, when the result cannot be kept: the value is not
        serializable or the storage unusable, which another attempt would not change."""
        self.log(logging.ERROR, str(exc))
        self.set_state(Failed(message=str(exc), data=exc))

    def resolve_inputs(self) -> bool:
        """Wait for upstream futures and put their results in the arguments.

        Returns False, with the run Failed, when an upstream run did not complete.
        """
        data: list[TaskRun] = []
        waited: list[TaskRun] = []
        #: ids of the runs that returned values among the arguments (produced_values.py)
        values: list[str] = []
        if self.mapped_from:
            values.extend(self.mapped_from)
        flow_ctx = self.flow_ctx
        if flow_ctx is not None and (self.args or self.kwargs):
            produced = flow_ctx.produced
            if produced:
                produced.producers_in(self.args, self.kwargs, values)
        try:
            wait_for_upstream(self.wait_for, waited)
        except UpstreamFailure as exc:  # the failed run is a "wait" edge, not a "data" one
            return self._upstream_failed(exc, data, waited, values, failed_in=waited)
        try:
            self.args, self.kwargs = resolve_arguments(self.args, self.kwargs, data)
        except UpstreamFailure as exc:
            return self._upstream_failed(exc, data, waited, values, failed_in=data)
        if data or waited or values:
            self._record_edges(data, waited, values)
        if self.settle_later:
            return self._settle_call()
        return True

    def _upstream_failed(
        self,
        exc: UpstreamFailure,
        data: list[TaskRun],
        waited: list[TaskRun],
        values: list[str],
        failed_in: list[TaskRun],
    ) -> bool:
        """End the run Failed without calling it, recording the edges, the failed one too."""
        if exc.upstream is not None:
            failed_in.append(exc.upstream)
        self._record_edges(data, waited, values)
        if self.cancelled():  # most likely cancelled along with it: it did not fail, it never ran
            self.cancel(FlowRunCancelled(self.flow_ctx.cancel_message))  # type: ignore[union-attr]
            return False
        self.log(logging.ERROR, str(exc))
        self.set_state(Failed(message=str(exc), data=exc))
        return False

    def _settle_call(self) -> bool:
        """Validate and name the run from its resolved arguments; a bad argument fails it."""
        try:
            self.args, self.kwargs, name = self.task.settle_call(
                self.args, self.kwargs, self.record.task_key
            )
        except ParameterTypeError as exc:
            self.log(logging.ERROR, str(exc))
            self.set_state(Failed(message=str(exc), data=exc))
            return False
        if isinstance(self.task.task_run_name, str) and name != self.record.name:
            self.record.name = name
            self.label = f"Task run {name!r}"
        return True

    def _record_edges(self, data: list[TaskRun], waited: list[TaskRun], values: list[str]) -> None:
        """One edge per upstream and kind, however many times its future or value came in."""
        run = self.record
        data_ids = [upstream.id for upstream in data] + values
        for kind, upstream_ids in (("data", data_ids), ("wait", [u.id for u in waited])):
            for upstream_id in dict.fromkeys(upstream_ids):  # in order, without repeats
                self.recorder.edge(TaskRunEdge(run.flow_run_id, run.id, upstream_id, kind))

    def if_never_started(self, future: Any) -> None:
        """Done-callback of the runner's future: when its flow run ended before this queued
        run started (the future was cancelled), end it Cancelled rather than Pending forever."""
        if future.cancelled() and self.state.is_pending():
            self.set_state(Cancelled(message="Its flow run ended before this task run started"))
            self.finish()

    def should_retry(self, failed: State) -> bool:
        condition = self.task.retry_condition_fn
        if condition is None:
            return True
        try:
            return bool(condition(self.task, self.record, failed))
        except Exception as exc:
            self.log(logging.ERROR, f"retry_condition_fn raised {exc!r}; not retrying")
            return False

    def cancelled(self) -> bool:
        """Whether the run's flow run is being cancelled: it starts nothing more."""
        return self.flow_ctx is not None and self.flow_ctx.cancel_message is not None

    def call(self, step: Callable[[], Any] | None = None) -> Any:
        """Call the function (sync driver), or `step` (the next value of a generator task's
        body): a cancel of the flow run or a timeout may interrupt it, and nothing else of the
        run (interrupts.py)."""
        guard, flow_ctx = self.guard, self.flow_ctx
        guard.calling = True
        try:
            if flow_ctx is not None and flow_ctx.cancel_message is not None:
                # checked once `calling` is set: a cancel either sees it or is seen here
                raise FlowRunCancelled(flow_ctx.cancel_message)
            if guard.due:  # a timeout around this run passed while it was not interruptible
                guard.take_due()
            if step is not None:
                return step()
            if self.invoke is not None:
                return self.call_invoke()
            return self.fn(*self.args, **self.kwargs)
        finally:
            guard.stop()

    def call_invoke(self) -> Any:
        # lazy: runners.remote_context is off the default path
        from mainspring.engine.runners.remote_context import task_run_info

        invoke = self.invoke
        assert invoke is not None  # called only when the runner supplies one
        info = task_run_info(self.record, self.label, self.log_prints, self.timeout)
        return invoke(self.fn, self.args, self.kwargs, info)

    async def call_async(self, step: Callable[[], Awaitable[Any]] | None = None) -> Any:
        """Await the function (async driver), or `step` (the next value of an async generator
        task's body); on a loop of its own, a cancel of the flow run cancels this await, and
        nothing else of the run."""
        import asyncio  # here, not at the top: `import mainspring` stays light

        if self.cancelled():
            raise FlowRunCancelled(self.flow_ctx.cancel_message)  # type: ignore[union-attr]
        own = self.async_call
        if own is not None:
            own.calling = True
        try:
            if step is not None:
                return await step()
            if self.invoke is not None:  # runs elsewhere: wait without blocking the loop
                return await asyncio.to_thread(self.call_invoke)
            return await self.fn(*self.args, **self.kwargs)
        finally:
            if own is not None:
                own.calling = False

    def wait_to_retry(self) -> None:
        """Sleep `retry_delay` (sync driver); a cancel of the flow run ends the wait."""
        self.guard.wait(self.retry_delay, self.cancelled)

    async def wait_to_retry_async(self) -> None:
        """Sleep `retry_delay` (async driver); on a loop of its own, a cancel of the flow run
        cancels the wait (the run then ends Cancelled), like a cancel of its function."""
        import asyncio  # here, not at the top: `import mainspring` stays light

        own = self.async_call
        if own is None:
            await asyncio.sleep(self.retry_delay)
            return
        own.calling = True
        try:
            if not self.cancelled():  # else the next attempt ends Cancelled without starting
                await asyncio.sleep(self.retry_delay)
        finally:
            own.calling = False
