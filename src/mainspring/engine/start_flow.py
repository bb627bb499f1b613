"""Starting a flow run: its arguments bound and validated, its record created and named, and
its engine handed to a driver (run_flow.py).

`run_flow` is what calling a flow does. `create_flow_run` binds the arguments (a mismatch raises
before anything is recorded), coerces them from type hints (a value that does not validate is
kept, and the run ends Failed naming it), names the run (templates see the coerced values) and
records it Pending: a subflow under its parent, with its key there, so that a resumed parent
finds it again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mainspring.engine.context import FlowRunContext, flow_run_context, task_run_context
from mainspring.engine.entrypoints import entrypoint_text
from mainspring.engine.interrupts import engine_entry
from mainspring.engine.logging import configure_logging, engine_log
from mainspring.engine.names import random_run_name, render_run_name
from mainspring.engine.run_flow import (
    FLUSH_TIMEOUT,
    FlowRunEngine,
    run_flow_async,
    run_flow_sync,
)
from mainspring.exceptions import MainspringError, ParameterTypeError
from mainspring.model import FlowRecord, FlowRun, new_id
from mainspring.model.states import Pending
from mainspring.store.processes import this_process

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow

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
        from mainspring.store.recorder import get_recorder

        recorder = get_recorder()
        # opened here, not by the writer in the background: the run's Running state is then
        # stored within moments of its start (see FlowRunEngine.begin_attempt), so a process
        # killed at once still leaves the run behind, and dead runs of earlier processes on
        # this host are ended first (store/dead_runs.py)
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
    if earlier is not None:
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


def flow_run_name(flow: Flow, run: FlowRun, recorder: Any) -> str:
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
        from mainspring.engine.asyncutils import in_event_loop, run_coro_sync

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
