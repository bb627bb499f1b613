"""Starting a run: its arguments bound and validated, its record created and named, and its
engine handed to a driver (run_flow.py, task_drivers.py).

`run_flow` is what calling a flow does. `create_flow_run` binds the arguments (a mismatch raises
before anything is recorded), coerces them from type hints (a value that does not validate is
kept, and the run ends Failed naming it), names the run (templates see the coerced values) and
records it Pending: a subflow under its parent, with its key there, so that a resumed parent
finds it again. `call_task` and `submit_task` are what calling and submitting a task do;
`create_task_run` records it Pending, keyed within its flow run (the key durable resume finds).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from mainspring.engine.console import console
from mainspring.engine.context import (
    FlowRunContext,
    TaskRunContext,
    flow_run_context,
    task_run_context,
)
from mainspring.engine.entrypoints import entrypoint_text
from mainspring.engine.futures import MainspringFuture, has_futures
from mainspring.engine.logging import configure_logging, enable_print_capture, engine_log
from mainspring.engine.names import random_run_name, render_run_name
from mainspring.engine.run_flow import (
    FLUSH_TIMEOUT,
    FlowRunEngine,
    run_flow_async,
    run_flow_sync,
)
from mainspring.engine.run_task import TaskRunEngine
from mainspring.engine.runners import ThreadPoolTaskRunner
from mainspring.engine.stopping.interrupts import engine_entry
from mainspring.engine.task_drivers import run_task_async, run_task_on_own_loop, run_task_sync
from mainspring.exceptions import MainspringError, ParameterTypeError
from mainspring.model import FlowRecord, FlowRun, TaskRun, new_id
from mainspring.model.states import Pending
from mainspring.store.processes import this_process
from mainspring.store.recorder import get_recorder

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow
    from mainspring.engine.tasks import Task
    from mainspring.store.recorder import Recorder

#: (recorder, flow name) pairs already recorded: a flow row is written once per store, not
#: once per run (a process that switches stores, as tests do, records it again)
_recorded_flows: set[tuple[int, str]] = set()


def create_flow_run(flow: Flow, args: tuple, kwargs: dict) -> FlowRunEngine:
    """Bind arguments, create the run record (Pending) and its engine."""
    parameters, invalid = validated_parameters(flow, flow.parameters.bind(args, kwargs))
    configure_logging()
    parent = flow_run_context.get()
    task_ctx = task_run_context.get()
    if parent is not None:
        parent.check_cancelled()  # a subflow of a run being cancelled never starts
        recorder = parent.recorder
    else:
        recorder = get_recorder()
        # opened here, not by the writer in the background: the run's Running state is then
        # stored within moments of its start (see FlowRunEngine.begin_attempt), so a process
        # killed at once still leaves the run behind, and dead runs of earlier processes on
        # this host are ended first (store/sql/dead_runs.py)
        recorder.open_store()
    if (id(recorder), flow.name) not in _recorded_flows:
        recorder.flow(FlowRecord(flow.name, description=flow.description))
        _recorded_flows.add((id(recorder), flow.name))
    host, pid, process_start = this_process()
    run = FlowRun(
        id=new_id(),
        name="",
        flow_name=flow.name,
        state=Pending(),
        parameters=parameters,
        tags=list(flow.tags),
        flow_version=flow.version,
        parent_flow_run_id=parent.flow_run.id if parent is not None else None,
        parent_task_run_id=task_ctx.task_run.id if task_ctx is not None else None,
        host=host,
        pid=pid,
        process_start=process_start,
        entrypoint=entrypoint_text(flow),
    )
    if parent is not None:  # its key within the parent: how a resumed parent finds it again
        run.subflow_key = f"{flow.name}-{parent.next_task_index(f'flow:{flow.name}')}"
    run.created = run.state.ts
    try:
        run.name = name = flow_run_name(flow, run, recorder)
    except MainspringError:
        if invalid is None:
            raise
        run.name = name = random_run_name()  # the bad parameter is the error to report
    resume = parent.resume if parent is not None else None
    earlier = resume.adopt_subflow(run) if resume is not None else None
    name = run.name
    recorder.flow_run(run)
    engine = FlowRunEngine(flow, run, parameters, parent, recorder)
    engine.invalid = invalid
    if resume is not None and earlier is not None:
        resume.resume_subflow(engine, earlier)
    if parent is not None:
        engine_log(
            logging.INFO,
            parent.label,
            f"Created subflow run {name!r} for flow {flow.name!r}",
            parent.flow_run.id,
            None,
            recorder,
        )
    else:
        engine.log(logging.INFO, f"Beginning flow run {name!r} for flow {flow.name!r}")
        if flow.results is not None:  # a run that persists can be resumed even if killed
            engine.write_manifest()
    if engine.results is not None:  # ... given its record (a subflow's: its key) is stored
        recorder.flush(timeout=FLUSH_TIMEOUT)  # before it persists results that refer to it
    return engine


def validated_parameters(
    flow: Flow, parameters: dict[str, Any]
) -> tuple[dict[str, Any], ParameterTypeError | None]:
    """Coerce parameters from type hints before the run is named and recorded, so a name
    template such as "{day:%A}" formats the date, not the string it was given as.

    A value that does not validate is kept as given, with the error, for the run to end Failed.
    """
    if not flow.validate_parameters:
        return parameters, None
    try:
        return flow.parameters.validate(parameters), None
    except ParameterTypeError as exc:
        return parameters, exc


def flow_run_name(flow: Flow, run: FlowRun, recorder: Recorder) -> str:
    """The run's name: `flow_run_name` rendered, or a random adjective-animal.

    A name callable is called inside the run's context, as in Prefect, so that it can read
    `get_run_context().flow_run` (its parameters, say).
    """
    spec = flow.flow_run_name
    if not callable(spec):
        return render_run_name(spec, run.parameters, "") or random_run_name()
    context = FlowRunContext(
        flow=flow, flow_run=run, recorder=recorder, task_runner=flow.task_runner
    )
    flow_token, task_token = flow_run_context.set(context), task_run_context.set(None)
    try:
        return render_run_name(spec, run.parameters, "") or random_run_name()
    finally:
        task_run_context.reset(task_token)
        flow_run_context.reset(flow_token)


@engine_entry  # a subflow called from a function: a cancel waits until it returns
def run_flow(flow: Flow, args: tuple, kwargs: dict, return_state: bool) -> Any:
    if flow.is_async:
        from mainspring.engine.asyncutils import in_event_loop, run_coro_sync  # lazy: asyncio

        if in_event_loop() or flow_run_context.get() is None:
            # as in Prefect 3: an async flow called at top level or from async code is awaited
            # (`asyncio.run(my_flow())`); the run starts when the coroutine does
            return _start_and_await(flow, args, kwargs, return_state)
        state = run_coro_sync(run_flow_async(create_flow_run(flow, args, kwargs)))
        return state if return_state else state.result()
    state = run_flow_sync(create_flow_run(flow, args, kwargs))
    return state if return_state else state.result()


async def _start_and_await(flow: Flow, args: tuple, kwargs: dict, return_state: bool) -> Any:
    engine = create_flow_run(flow, args, kwargs)
    engine.shares_task = True  # its caller's asyncio task: the caller's cancel stops it
    state = await run_flow_async(engine)
    return state if return_state else state.result()


# -- task runs -------------------------------------------------------------------------------
def call_task(
    task: Task,
    args: tuple,
    kwargs: dict,
    wait_for: Any,
    flow_ctx: FlowRunContext | None,
    return_state: bool,
) -> Any:
    """What calling a task does: run it now and return its value (or its final State).

    An async task called from async code (or outside any flow) returns a coroutine to await;
    a generator task returns a generator whose iteration is the task run.
    """
    if task.is_generator:
        from mainspring.engine.generator_tasks import stream  # lazy: a rare kind of task

        return stream(task, args, kwargs, wait_for, flow_ctx, return_state)
    if task.is_async:
        from mainspring.engine.asyncutils import in_event_loop  # lazy: asyncio, not on import

        if in_event_loop() or flow_ctx is None:  # awaited by the caller, as in Prefect 3
            return _start_task_and_await(task, args, kwargs, wait_for, flow_ctx, return_state)
        engine = create_task_run(task, args, kwargs, wait_for, flow_ctx)
        state = run_task_on_own_loop(engine)
    else:
        engine = create_task_run(task, args, kwargs, wait_for, flow_ctx)
        state = run_task_sync(engine)
    if engine.flow_ctx is None:
        _finish_standalone(engine)
    return state if return_state else state.result()


async def _start_task_and_await(
    task: Task,
    args: tuple,
    kwargs: dict,
    wait_for: Any,
    flow_ctx: FlowRunContext | None,
    return_state: bool,
) -> Any:
    engine = create_task_run(task, args, kwargs, wait_for, flow_ctx)
    state = await run_task_async(engine)
    if engine.flow_ctx is None:
        _finish_standalone(engine)
    return state if return_state else state.result()


def submit_task(
    task: Task,
    args: tuple,
    kwargs: dict,
    wait_for: Any,
    flow_ctx: FlowRunContext | None,
    mapped_from: list[str] | None = None,
) -> MainspringFuture:
    """Start the task on the flow's task runner (outside a flow: a shared thread pool).

    `mapped_from`: for a run of `map()`, the ids of the runs whose results it maps over.
    """
    engine = create_task_run(task, args, kwargs, wait_for, flow_ctx)
    engine.mapped_from = mapped_from
    runner = flow_ctx.task_runner if flow_ctx is not None else _standalone_runner()
    engine.invoke = runner.invoke
    if task.is_generator:  # no caller iterates: the run collects what the body yields
        from mainspring.engine.generator_tasks import Collect, CollectAsync  # lazy: rare

        engine.fn = (CollectAsync if task.is_async_generator else Collect)(task.fn)
    if task.is_async or task.is_async_generator:
        future = runner.submit(lambda: run_task_on_own_loop(engine))
    else:
        future = runner.submit(lambda: run_task_sync(engine))
    future.add_done_callback(engine.if_never_started)
    return MainspringFuture(engine.record, future)


def create_task_run(
    task: Task, args: tuple, kwargs: dict, wait_for: Any, flow_ctx: FlowRunContext | None
) -> TaskRunEngine:
    """Create the task run (Pending, recorded) and the engine that will drive it."""
    if flow_ctx is not None:
        recorder = flow_ctx.recorder
        if task.task_key is None:
            index = str(flow_ctx.next_task_index(task.name))
            key = f"{task.name}-{index}"
        else:
            index = str(flow_ctx.next_task_index(f"key:{task.task_key}"))
            key = task.task_key if index == "0" else f"{task.task_key}-{index}"
        flow_run_id: str | None = flow_ctx.flow_run.id
    else:
        configure_logging()
        recorder = get_recorder()
        index = os.urandom(3).hex()
        key = f"{task.name}-{index}"
        flow_run_id = None
    name, settle_later = key, False
    if task.validate_parameters or isinstance(task.task_run_name, str):
        if has_futures(args, kwargs):
            # validated and named once the futures' results are in (see TaskRunEngine);
            # rendering now still rejects a template naming no parameter, at the call
            settle_later = True
            if isinstance(task.task_run_name, str):
                render_run_name(task.task_run_name, task.parameters.bind(args, kwargs), key)
        else:
            args, kwargs, name = task.settle_call(args, kwargs, key)
    task_run = TaskRun(
        new_id(),
        name,
        task.name,
        key,
        Pending(),
        flow_run_id,
        index,
        task.tags,
    )
    task_run.created = task_run.state.ts
    if flow_ctx is not None and flow_ctx.resume is not None:
        flow_ctx.resume.adopt(task_run)  # the earlier attempt's run of this key, same id
    if callable(task.task_run_name):
        task_run.name = name = _task_run_name_by_callable(task, task_run)
    recorder.task_run(task_run)
    label = f"Task run {name!r}"
    if flow_ctx is not None:
        engine_log(
            20,
            flow_ctx.label,
            f"Created task run {name!r}{task._created_suffix}",
            flow_run_id,
            None,
            recorder,
        )
    if task.log_prints:
        enable_print_capture()
    engine = TaskRunEngine(task, task_run, label, args, kwargs, wait_for, flow_ctx, recorder)
    engine.settle_later = settle_later
    return engine


def _task_run_name_by_callable(task: Task, task_run: TaskRun) -> str:
    """Call a `task_run_name` function inside the run's context, as Prefect does, so that
    it can read `get_run_context().task_run` (and the flow run around it)."""
    token = task_run_context.set(TaskRunContext(task, task_run))
    try:
        return render_run_name(task.task_run_name, {}, task_run.task_key)
    finally:
        task_run_context.reset(token)


def _finish_standalone(engine: TaskRunEngine) -> None:
    """A task run outside any flow is its own top-level run: written, and shown, before it
    returns."""
    engine.recorder.flush(timeout=30)
    console.flush()


_standalone: ThreadPoolTaskRunner | None = None


def _standalone_runner() -> ThreadPoolTaskRunner:
    """Task runner for `.submit()` called outside any flow."""
    global _standalone
    if _standalone is None:
        _standalone = ThreadPoolTaskRunner()
    return _standalone
