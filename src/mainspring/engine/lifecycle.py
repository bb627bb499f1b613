"""The lifecycle every run shares, flow or task: which state comes next, and saying so.

`RunEngine` holds one run's record and knows its transitions: start an attempt (Running, or
Retrying after a failure), succeed (Completed), fail (AwaitingRetry when a retry is due, else
Failed or TimedOut), be cancelled, crash; then finish (hooks, the closing log line). Each
transition updates the record and hands it to the recorder; none of them does I/O.

The drivers in task_drivers.py and run_flow.py call these in a loop, once for sync functions and
once for async ones; the loop is all that differs between the two.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mainspring.engine.hooks import Hook, run_hooks
from mainspring.engine.logging import engine_log
from mainspring.engine.retries import RetryPolicy
from mainspring.engine.stopping import signals
from mainspring.engine.stopping.timeouts import RunTimeout
from mainspring.exceptions import CancelledRun
from mainspring.model import State, StateType
from mainspring.model.orchestration import ENDED_FROM_OUTSIDE, TERMINAL_TYPES

if TYPE_CHECKING:
    from mainspring.engine.definition import Definition
    from mainspring.model import FlowRun, TaskRun
    from mainspring.store.recorder import Recorder

from mainspring.model.states import (
    AwaitingRetry,
    Cancelled,
    Completed,
    Crashed,
    Failed,
    Retrying,
    Running,
    TimedOut,
)

ERROR = logging.ERROR
INFO = logging.INFO


def describe_exception(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class RunEngine:
    """One run's state machine; subclasses add what flows and tasks do differently."""

    kind = "Run"  # "Task run" / "Flow run": the subject of the messages
    is_task = False
    record: FlowRun | TaskRun  # which of the two, subclasses say

    def __init__(
        self,
        *,
        definition: Definition[Any, Any],
        record: FlowRun | TaskRun,
        recorder: Recorder,
        label: str,
        policy: RetryPolicy,
        timeout: float | None,
        hooks: dict[StateType, list[Hook]],
        flow_run_id: str | None,
        task_run_id: str | None,
        logger_name: str,
    ) -> None:
        self.definition = definition
        self.record = record
        self.recorder = recorder
        self.label = label
        self.policy = policy
        self.timeout = timeout
        self.hooks = hooks
        self.flow_run_id = flow_run_id
        self.task_run_id = task_run_id
        self.logger_name = logger_name
        self.retry_delay = 0.0
        self.finished = False
        #: attempts made before this process took the run over (a resumed run): they do not
        #: use up its retries
        self.attempt_base = record.run_count
        self._write: Callable[..., None] = recorder.task_run if self.is_task else recorder.flow_run

    # -- reading -----------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self.record.state

    def log(self, level: int, message: str) -> None:
        engine_log(
            level,
            self.label,
            message,
            self.flow_run_id,
            self.task_run_id,
            self.recorder,
            self.logger_name,
        )

    # -- transitions -------------------------------------------------------------------------
    def set_state(self, state: State) -> None:
        record = self.record
        if record.state.type in ENDED_FROM_OUTSIDE:
            # its flow run crashed or was cancelled and marked it so; the thread still running
            # its function (threads cannot be stopped) must not bring it back to life
            return
        if state.type is StateType.RUNNING and record.start_time is None:
            record.start_time = state.ts
        if state.type in TERMINAL_TYPES:
            record.end_time = state.ts
        record.state = state
        self._write(record)

    def begin_attempt(self) -> None:
        record = self.record
        record.run_count += 1
        self.set_state(Running() if record.run_count == 1 else Retrying())

    def succeed(self, value: Any) -> None:
        self.set_state(Completed(data=value))

    def end_in(self, state: State) -> None:
        """Finish in a state the user's code returned (flows may decide their own state)."""
        self.set_state(state)

    def fail(self, exc: BaseException, timed_out: bool = False) -> bool:
        """Record a failed attempt; return True when a retry follows (after `retry_delay`)."""
        if self.state.type is StateType.CRASHED:
            return False  # crashed along with its flow run: no more attempts
        what = describe_exception(exc)
        message = f"{self.kind} encountered an exception {what}"
        failed = TimedOut(message=message, data=exc) if timed_out else Failed(message, data=exc)
        retries_done = self.record.run_count - 1 - self.attempt_base
        # Another run's RunTimeout is the deadline of a run around this one (its flow): that
        # run is out of time, and a retry would only run past it.
        outer_deadline = isinstance(exc, RunTimeout) and exc.owner != self.record.id
        if retries_done < self.policy.retries and not outer_deadline and self.should_retry(failed):
            retry_number = retries_done + 1
            self.retry_delay = self.policy.delay_before(retry_number)
            self.log(
                INFO,
                f"{self.kind} failed with exception: {exc!r} - Retry {retry_number}/"
                f"{self.policy.retries} will start {self.retry_delay:g} second(s) from now",
            )
            self.set_state(AwaitingRetry(message=message, data=exc))
            return True
        exhausted = " - Retries are exhausted" if self.policy.retries else ""
        trace = "".join(traceback.format_exception(exc)).rstrip()
        self.log(ERROR, f"{self.kind} failed with exception: {exc!r}{exhausted}\n{trace}")
        self.set_state(failed)
        return False

    def should_retry(self, failed: State) -> bool:
        return True

    def timeout_error(self) -> RunTimeout:
        """The error of this run's own deadline (async drivers get a bare TimeoutError)."""
        message = f"{self.label} exceeded timeout of {self.timeout:g} second(s)"
        return RunTimeout(message, self.record.id)

    def cancel(self, exc: BaseException | None = None) -> None:
        message = f"{self.kind} was cancelled" + (f": {exc}" if exc and str(exc) else "")
        self.set_state(Cancelled(message=message, data=exc))

    def asyncio_cancelled(self, exc: BaseException) -> None:
        """The run's asyncio task was cancelled: by Ctrl-C or SIGTERM tearing the event loop
        down (asyncio.run turns both into a cancellation), which is a crash; else Cancelled."""
        if signals.interruption is not None:
            self.crash(signals.interruption)
        else:
            self.cancel(exc)

    def crash(self, exc: BaseException) -> None:
        """Something outside the user's code stopped the run (Ctrl-C, SIGTERM, an engine error)."""
        if self.state.type in TERMINAL_TYPES:
            return
        if isinstance(exc, CancelledRun):  # a cancel that arrived outside the function's call
            self.cancel(exc)
            return
        reason = (
            "interrupted by the user"
            if isinstance(exc, KeyboardInterrupt)
            else (f"stopped by {describe_exception(exc)}")
        )
        self.log(ERROR, f"Crash detected! {self.kind} was {reason}")
        self.set_state(Crashed(message=f"{self.kind} was {reason}", data=exc))

    def finish(self) -> None:
        """Run the hooks of the final state and write the closing line; once."""
        if self.finished:
            return
        self.finished = True
        state = self.state
        hooks = self.hooks.get(state.type)
        if hooks:
            run_hooks(hooks, self.definition, self.record, state, self.log)
        level = ERROR if state.type in (StateType.FAILED, StateType.CRASHED) else INFO
        self.log(level, f"Finished in state {state!r}")
