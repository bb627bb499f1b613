"""Running one flow run: its engine, and the sync and async drivers that loop over attempts.

A flow run's life, created by `run_flow` (start_flow.py) and then driven by `run_flow_sync`
(its async twin differs only in `await`):

    arguments bound to the signature (a mismatch raises before anything is recorded) and
    coerced from type hints, then the run named (templates see the coerced values)
    -> Pending, recorded; "Beginning flow run" (or "Created subflow run" in the parent's log)
    -> a parameter that did not validate ends the run Failed, naming it
    -> Running -> the function is called, tasks and subflows join this run
         returns a value    -> Completed (futures in it are waited for)
         returns State(s)   -> the flow decides its own state (any failed -> Failed)
         raises             -> retry while retries remain, else Failed (or TimedOut)
         raises CancelledRun -> Cancelled
         is cancelled from outside (Cancelling in the store) -> Cancelled (cancellation.py)
         is interrupted     -> Crashed with every task run still in progress; it propagates
    -> the task runner drains (if the run did not complete, queued task runs never start and
       end Cancelled), hooks fire, "Finished in state ...", and a top-level run waits
       until the recorder has written everything
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mainspring.engine.console import console
from mainspring.engine.context import FlowRunContext, flow_run_context, task_run_context
from mainspring.engine.lifecycle import RunEngine
from mainspring.engine.logging import (
    FLOW_RUN_LOGGER,
    enable_print_capture,
    engine_log,
)
from mainspring.engine.results.resume import end_resumed, persist_flow_result, write_manifest
from mainspring.engine.return_states import ReturnedFailure, state_from_return
from mainspring.engine.stopping import signals
from mainspring.engine.stopping.cancellation import CancellableRun, FlowRunCancelled
from mainspring.engine.stopping.timeouts import is_own_timeout, timeout_after
from mainspring.exceptions import (
    CancelledRun,
    ParameterTypeError,
    TerminationSignal,
)
from mainspring.model import FlowRun, State
from mainspring.model.states import Crashed, Failed

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow
    from mainspring.engine.results.resume import Resume
    from mainspring.store.recorder import Recorder

FLUSH_TIMEOUT = 60.0
#: How long a top-level flow run waits, once Running, for that state to be stored before its
#: function is called (see `FlowRunEngine.begin_attempt`).
START_FLUSH_TIMEOUT = 0.05


class FlowRunEngine(CancellableRun, RunEngine):
    kind = "Flow run"
    record: FlowRun

    def __init__(
        self,
        flow: Flow,
        flow_run: FlowRun,
        parameters: dict[str, Any],
        parent: FlowRunContext | None,
        recorder: Recorder,
    ) -> None:
        super().__init__(
            definition=flow,
            record=flow_run,
            recorder=recorder,
            label=f"Flow run {flow_run.name!r}",
            policy=flow.retry_policy,
            timeout=flow.timeout_seconds,
            hooks=flow.hooks,
            flow_run_id=flow_run.id,
            task_run_id=None,
            logger_name=FLOW_RUN_LOGGER,
        )
        self.flow = flow
        self.parameters = parameters
        self.parent = parent
        #: results.ResultOptions of this run and its tasks: the flow's own, else (a subflow
        #: that left persist_result unset) its parent's, so a resumed parent resumes it too
        self.results = flow.results
        if self.results is None and flow.persist_result is None and parent is not None:
            self.results = parent.results
        self.context: FlowRunContext | None = None
        #: the parameter error found when the run was created: the run ends Failed with it
        self.invalid: ParameterTypeError | None = None
        self._previous_handlers: Any = None
        #: resume.Resume when this engine resumes an earlier attempt of the same flow run
        self.resume: Resume | None = None
        #: the earlier run of a resumed subflow that completed with a persisted result
        self.resumed: FlowRun | None = None
        self.manifest_written = False
        self.init_cancellation()

    def crash(self, exc: BaseException) -> None:
        """As RunEngine.crash, except that SIGTERM after a cancel was asked (a runner stopping
        the process of a run it asked to cancel, before the run's heartbeat saw the cancel) is
        the cancel carried out: Cancelled, not Crashed."""
        if isinstance(exc, TerminationSignal) and self._cancel_was_asked():
            signum = exc.code - 128 if isinstance(exc.code, int) else "SIGTERM"
            self.cancel(CancelledRun(f"its process was stopped (signal {signum})"))
            return
        super().crash(exc)

    def _cancel_was_asked(self) -> bool:
        if self.cancel_message is not None:
            return True
        try:  # the process is going down: one read of the store, whatever it answers
            state = self.recorder.store.read_flow_run(self.record.id).state
        except Exception:
            return False
        return state.is_cancelling() or state.is_cancelled()

    # -- around the attempts -----------------------------------------------------------------
    def enter(self) -> Any:
        flow = self.flow
        log_prints = flow.log_prints
        if log_prints is None:
            log_prints = self.parent.log_prints if self.parent is not None else False
        if log_prints:
            enable_print_capture()
        self.context = FlowRunContext(
            flow=flow,
            flow_run=self.record,
            recorder=self.recorder,
            task_runner=flow.task_runner.duplicate(),
            log_prints=log_prints,
            label=self.label,
            results=self.results,
            resume=self.resume,
        )
        if self.parent is None:
            self._previous_handlers = signals.install()
        else:  # a cancel of the parent cancels this run too (cancellation.py)
            self.parent.interrupts[self.record.id] = self
        self.start_watching()
        return flow_run_context.set(self.context), task_run_context.set(None)

    def exit(self, tokens: Any) -> None:
        context = self.context
        assert context is not None
        self.stop_watching()
        if self.parent is not None:
            self.parent.interrupts.pop(self.record.id, None)
        crashed = self.state.is_crashed()
        cancelled = self.cancel_message is not None and not self.state.is_completed()
        try:
            # a run that did not complete starts no more task runs: queued ones end Cancelled
            context.task_runner.shutdown(
                wait=not (crashed or cancelled), cancel_futures=not self.state.is_completed()
            )
        finally:
            if crashed:
                context.end_active_task_runs(
                    Crashed,
                    f"Flow run {self.record.name!r} crashed while this task run was in progress",
                )
            elif cancelled:
                self.cancel_task_runs(context)
            try:
                self.finish()  # hooks inside the run's context: get_run_logger() logs to it
            finally:
                context.produced.clear()  # its task runs' results: no longer held for edges
                flow_token, task_token = tokens
                task_run_context.reset(task_token)
                flow_run_context.reset(flow_token)
                signals.restore(self._previous_handlers)

    def validate(self) -> bool:
        """End the run before its function is called when it need not or cannot run: a
        resumed subflow that completed earlier ends as it did; a parameter that did not
        validate at creation ends it Failed, naming the parameter."""
        if self.resumed is not None:
            end_resumed(self)
            return False
        exc = self.invalid
        if exc is None:
            return True
        self.log(logging.ERROR, f"Validation of flow parameters failed: {exc}")
        self.set_state(Failed(message=str(exc), data=exc))
        return False

    def call(self) -> Any:
        args, kwargs = self.flow.parameters.call_args(self.parameters)
        if self.flow.is_async:
            return self.flow.fn(*args, **kwargs)  # a coroutine: the driver awaits it
        return self.call_interruptibly(lambda: self.flow.fn(*args, **kwargs))

    def begin_attempt(self) -> None:
        if self.record.run_count and self.context is not None:
            self.context.reset_task_indexes()  # a retry's task keys match the first attempt's
        super().begin_attempt()
        if self.parent is None:
            self.store_start()

    def store_start(self) -> None:
        """Let the recorder store the run's Running state now, before the function is called:
        a process killed in its first moments then still leaves its run behind (found Crashed
        later, store/sql/dead_runs.py). A short wait (a small transaction, ~0.5 ms on SQLite) in
        this thread, rather than a wake of the writer alone: a write racing the first tasks of
        the flow for the GIL slowed each of them more than the wait costs the run. Bounded, and
        skipped while the store is failing: a slow or unreachable store never holds a flow up.
        """
        recorder = self.recorder
        if getattr(recorder, "last_error", None) is None:
            recorder.flush(timeout=START_FLUSH_TIMEOUT)

    def conclude(self, value: Any) -> bool:
        """Settle the final state from the function's return value; True when a retry follows."""
        if self.cancel_message is not None:  # the function returned, but too late: it was cancelled
            self.cancel(FlowRunCancelled(self.cancel_message))
            return False
        state = state_from_return(value)
        retries_done = self.record.run_count - 1 - self.attempt_base
        if state.is_failed() and retries_done < self.policy.retries:
            error = state.data if isinstance(state.data, BaseException) else None
            return self.fail(
                error or ReturnedFailure(state.message or "Flow returned Failed"),
                timed_out=state.name == "TimedOut",
            )
        self.end_in(state)
        return False

    def end_in(self, state: State) -> None:
        if self.results is not None and state.is_completed():
            state = persist_flow_result(self, state)
        super().end_in(state)

    def write_manifest(self) -> None:
        """Record how `mainspring flow-run retry` can run this flow run again (resume.py)."""
        write_manifest(self)
        self.manifest_written = True

    def finish_run(self) -> None:
        self.finish()
        if self.parent is not None:
            return
        if not self.manifest_written and not self.state.is_completed():
            self.write_manifest()  # it can be retried; a completed run needs none (no I/O)
        if not self.recorder.flush(timeout=FLUSH_TIMEOUT):
            engine_log(
                logging.WARNING,
                self.label,
                "Run history is still being written",
                self.flow_run_id,
                None,
                self.recorder,
            )
        console.flush()  # the run's last lines are on screen before the caller prints anything


def run_flow_sync(engine: FlowRunEngine) -> State:
    tokens = engine.enter()
    try:
        if engine.validate():
            while True:
                engine.begin_attempt()
                try:
                    with timeout_after(engine.timeout, engine.label, engine.record.id):
                        value = engine.call()
                    retry = engine.conclude(value)
                except CancelledRun as exc:
                    engine.cancel(exc)
                    retry = False
                except Exception as exc:
                    retry = engine.fail(exc, timed_out=is_own_timeout(exc, engine.record.id))
                if not retry:
                    break
                engine.wait_before_retry(engine.retry_delay)
    except BaseException as exc:  # KeyboardInterrupt, SIGTERM, or a fault of the engine
        engine.crash(exc)
        raise
    finally:
        try:
            engine.exit(tokens)
        finally:
            engine.finish_run()
    return engine.state


async def run_flow_async(engine: FlowRunEngine) -> State:
    import asyncio  # here, not at the top: `import mainspring` stays light

    tokens = engine.enter()
    engine.async_task, engine.loop = asyncio.current_task(), asyncio.get_running_loop()
    try:
        if engine.validate():
            while True:
                if engine.cancel_message is not None:
                    raise FlowRunCancelled(engine.cancel_message)
                engine.begin_attempt()
                deadline = asyncio.timeout(engine.timeout)
                try:
                    async with deadline:
                        value = await engine.call()
                    retry = engine.conclude(value)
                except CancelledRun as exc:
                    engine.cancel(exc)
                    retry = False
                except TimeoutError as exc:  # ours when the deadline expired, else the function's
                    timed_out = deadline.expired()
                    retry = engine.fail(engine.timeout_error() if timed_out else exc, timed_out)
                except Exception as exc:
                    retry = engine.fail(exc)
                if not retry:
                    break
                await asyncio.sleep(engine.retry_delay)
    except CancelledRun as exc:  # a cancel requested between attempts
        engine.cancel(exc)
    except asyncio.CancelledError as exc:
        if engine.cancel_message is None or engine.async_task is None:
            engine.asyncio_cancelled(exc)
            raise
        engine.async_task.uncancel()  # our own cancel: the run ends Cancelled, nothing raises
        engine.cancel(FlowRunCancelled(engine.cancel_message))
    except BaseException as exc:
        engine.crash(exc)
        raise
    finally:
        try:
            engine.exit(tokens)
        finally:
            engine.finish_run()
    return engine.state
