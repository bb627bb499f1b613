"""Run contexts: which flow run and task run the current code belongs to.

Held in `contextvars`, so they follow asyncio tasks, and the task runners copy them into
worker threads. `get_run_context()` is the public way to ask "where am I?".
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mainspring.engine.produced_values import ProducedValues
from mainspring.exceptions import FlowRunCancelled, MainspringError

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow
    from mainspring.engine.results.resume import Resume
    from mainspring.engine.results.storage import ResultOptions
    from mainspring.engine.runners import TaskRunner
    from mainspring.engine.tasks import Task
    from mainspring.model import FlowRun, State, TaskRun
    from mainspring.store.recorder import Recorder


class Interruptible(Protocol):
    """What stops a running task or subflow run when its flow run is cancelled."""

    def interrupt(self, error: Callable[[], BaseException]) -> None: ...


@dataclass(eq=False)
class FlowRunContext:
    flow: Flow
    flow_run: FlowRun
    recorder: Recorder
    task_runner: TaskRunner
    log_prints: bool = False
    label: str = ""
    #: task name -> counter of calls in this flow run: gives deterministic task keys
    _counters: dict[str, itertools.count] = field(default_factory=dict)
    _counter_lock: threading.Lock = field(default_factory=threading.Lock)
    #: task runs that have started and not finished: crashed together with the flow
    active_task_runs: dict[str, TaskRun] = field(default_factory=dict)
    #: run id -> what stops it when this flow run is cancelled, for its active task runs (the
    #: interrupts.CallGuard of the thread, or an interrupts.AsyncCall) and subflow runs (their
    #: engine): anything with `interrupt(error)`
    interrupts: dict[str, Interruptible] = field(default_factory=dict)
    #: set when cancelling this flow run was requested: task and subflow calls refuse to start
    cancel_message: str | None = None
    #: results.ResultOptions its tasks inherit when the flow persists results, else None
    results: ResultOptions | None = None
    #: resume.Resume when this run resumes an earlier attempt (same flow run id), else None
    resume: Resume | None = None
    #: which of its task runs returned which object: the run graph's edges for values passed
    #: on rather than futures (produced_values.py); cleared when the flow run ends
    produced: ProducedValues = field(default_factory=ProducedValues, repr=False)

    def next_task_index(self, task_name: str) -> int:
        counter = self._counters.get(task_name)
        if counter is None:
            with self._counter_lock:
                counter = self._counters.setdefault(task_name, itertools.count())
        return next(counter)  # itertools.count is atomic under the GIL

    def check_cancelled(self) -> None:
        """Raise FlowRunCancelled when this flow run is being cancelled (before a task starts)."""
        if self.cancel_message is not None:
            raise FlowRunCancelled(self.cancel_message)

    def reset_task_indexes(self) -> None:
        """A flow retry starts counting again, so its task keys match the first attempt's."""
        with self._counter_lock:
            self._counters.clear()

    def end_active_task_runs(self, final: Callable[..., State], message: str) -> None:
        """Put every task run still in progress in a final state (`Crashed`, `Cancelled`) with
        this message, and record it: the flow run has ended without them."""
        for task_run in list(self.active_task_runs.values()):
            if not task_run.state.is_final():
                task_run.state = final(message=message)
                task_run.end_time = task_run.state.ts
                self.recorder.task_run(task_run)


@dataclass(eq=False, slots=True)
class TaskRunContext:
    #: None in a process runner's worker, which runs the function without its definition
    task: Task | None
    task_run: TaskRun
    log_prints: bool = False
    label: str = ""
    parameters: dict[str, Any] | None = None


flow_run_context: ContextVar[FlowRunContext | None] = ContextVar("flow_run_context", default=None)
task_run_context: ContextVar[TaskRunContext | None] = ContextVar("task_run_context", default=None)


@dataclass(frozen=True)
class RunContext:
    """What `get_run_context()` returns: the current flow run and task run, either may be None."""

    flow_run: FlowRun | None
    task_run: TaskRun | None
    flow: Flow | None
    task: Task | None


def get_run_context() -> RunContext:
    """The flow run and task run the calling code runs in; raises outside of any run."""
    flow_ctx = flow_run_context.get()
    task_ctx = task_run_context.get()
    if flow_ctx is None and task_ctx is None:
        raise MainspringError("No run context: call this from inside a flow or a task.")
    return RunContext(
        flow_run=flow_ctx.flow_run if flow_ctx else None,
        task_run=task_ctx.task_run if task_ctx else None,
        flow=flow_ctx.flow if flow_ctx else None,
        task=task_ctx.task if task_ctx else None,
    )
