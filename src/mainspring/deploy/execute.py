"""Run an existing flow run of a deployment in this process: what a worker's subprocess does.

The run was made by a scheduler (or on request) and claimed by a worker, so it already has its
id, name, parameters and entrypoint in the store. This loads the flow from the entrypoint and
runs that very run, under its id, with its stored parameters, recording into the configured
store. It mirrors `resume_flow_run` (engine/results/retry.py), for a run that never started,
or (a crashed run rescheduled by its deployment's `retries`) resumes it: its finished task runs
with persisted results are not run again. A deployment of a git source (`flow.from_source`)
is pulled first (deploy/sources.py). `mainspring flow-run execute ID` is this function.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from mainspring.deploy.sources import SourceError, local_entrypoint
from mainspring.engine.entrypoints import entrypoint_text, from_text
from mainspring.engine.logging import configure_logging
from mainspring.engine.results.resume import Resume, load_flow
from mainspring.engine.run_flow import FlowRunEngine, run_flow_async, run_flow_sync
from mainspring.engine.start import validated_parameters
from mainspring.exceptions import MainspringError, ObjectNotFound
from mainspring.model import StateType
from mainspring.model.states import Cancelled, Crashed
from mainspring.store.processes import this_process
from mainspring.store.recorder import get_recorder

if TYPE_CHECKING:
    from mainspring.model import State
    from mainspring.store.base import Store

__all__ = ["CancelledBeforeStart", "NotExecutable", "execute_exit_code", "execute_flow_run"]


class NotExecutable(MainspringError):
    """The flow run cannot be started here: finished, or no entrypoint to load it from."""


class CancelledBeforeStart(NotExecutable):
    """The run was cancelled between its claim and its start: nothing to do, nothing wrong."""


def execute_flow_run(flow_run_id: str, not_before: float | None = None) -> State:
    """Run the flow run `flow_run_id` (Scheduled, Late or Pending) here; return its final
    state. A run that ran before (retried through its pool) resumes: its task runs with
    persisted results are not run again. `not_before`: a run claimed before its time waits,
    its code loaded, until then (a cancel meanwhile: `CancelledBeforeStart`).
    `NotExecutable` when it already started or finished, or names no entrypoint;
    `ObjectNotFound` when unknown."""
    configure_logging()
    recorder = get_recorder()
    run = recorder.store.read_flow_run(flow_run_id)
    label = f"Flow run {run.name!r} ({run.id})"
    if run.state.is_cancelling():  # cancelled once its worker took it up, before it started
        recorder.store.set_state(run.id, Cancelled(message="Cancelled before it started"))
        run = recorder.store.read_flow_run(flow_run_id)
    if run.state.is_cancelled():
        raise CancelledBeforeStart(f"{label} was cancelled before it started")
    if run.state.is_final() or run.state.is_running():
        raise NotExecutable(f"{label} is {run.state.name}: it is not waiting to start")
    if not run.entrypoint:
        raise NotExecutable(f"{label} names no entrypoint: there is no code to load")
    # this process runs it now, recorded before its code is pulled and imported (which may
    # take long): a claim taken up by a process is never returned to the queue
    run.host, run.pid, run.process_start = this_process()
    recorder.flow_run(run)
    recorder.flush()
    try:  # a deployment of a git source (flow.from_source) is pulled first
        where = local_entrypoint(run.entrypoint)
    except SourceError as exc:
        raise NotExecutable(f"{label}: could not get its code: {exc}") from None
    flow = load_flow(from_text(where, run.flow_name))
    parameters, invalid = validated_parameters(flow, dict(run.parameters))
    if not_before is not None and not_before > time.time():  # claimed ahead (prefetch)
        _wait_for_its_time(recorder.store, run.id, not_before, label)
    run.entrypoint = entrypoint_text(flow) or run.entrypoint
    recorder.flow_run(run, with_state=False)
    engine = FlowRunEngine(flow, run, parameters, None, recorder)
    engine.invalid = invalid
    if run.run_count > 0:  # it ran before (a crashed run rescheduled by the deployment's
        # retries): durable resume, its finished task runs with persisted results are kept
        engine.resume = Resume(recorder.store, run.id)
        engine.log(logging.INFO, f"Resuming flow run {run.name!r}: attempt {run.run_count + 1}")
    if flow.is_async:
        import asyncio  # lazy: asyncio, only for an async flow

        return asyncio.run(run_flow_async(engine))
    return run_flow_sync(engine)


#: How long before its time a prefetched run first looks for a cancel: that read happens while
#: it waits, not after its time; a last one, timed to end at the instant, follows.
LAST_LOOK = 0.02


def _wait_for_its_time(store: Store, run_id: str, at: float, label: str) -> None:
    """A run claimed before its time (a worker's prefetch) waits for it, its code loaded. A
    cancel, a pause of its deployment (which ends it Cancelled, store/sql/claimed_stops.py) or
    its deletion meanwhile stops it before the flow is called (`CancelledBeforeStart`).
    It looks twice: early enough to stop without delaying anything, then once more, started
    so that the read (as long as the first one took) ends at the instant, so a change in the
    last moments is seen too. What is left, a change between that read and the run's Running
    state being stored (about a millisecond), is not lost either: a snapshot's Running does not
    replace Cancelled, and the run's heartbeat and its runner both see the cancel."""
    time.sleep(max(0.0, at - LAST_LOOK - time.time()))
    took = _still_waiting(store, run_id, label)
    time.sleep(max(0.0, at - took - time.time()))
    _still_waiting(store, run_id, label)
    time.sleep(max(0.0, at - time.time()))


def _still_waiting(store: Store, run_id: str, label: str) -> float:
    """Raise when the run may no longer start (cancelled, paused away, deleted, ended);
    otherwise the seconds the look took."""
    began = time.monotonic()
    try:
        state = store.read_flow_run(run_id).state
    except ObjectNotFound:
        raise CancelledBeforeStart(f"{label} was deleted before it started") from None
    if state.is_cancelling():
        store.set_state(run_id, Cancelled(message="Cancelled before it started"))
        raise CancelledBeforeStart(f"{label} was cancelled before it started")
    if state.is_cancelled():
        why = f": {state.message}" if state.message else ""
        raise CancelledBeforeStart(f"{label} was cancelled before it started{why}")
    if state.is_final() or state.is_running():
        raise NotExecutable(f"{label} is {state.name}: it is not waiting to start")
    return time.monotonic() - began


def execute_exit_code(flow_run_id: str, not_before: float | None = None) -> int:
    """`execute_flow_run` as `mainspring flow-run execute ID` ends (cli/flow_run_control.py):
    0 when the run Completed, or was cancelled before it started (said on stderr); 1 when it
    ended otherwise, or could not start (one line on stderr). A forked run's child ends so."""
    import sys

    from mainspring.exceptions import ResumeError

    try:
        state = execute_flow_run(flow_run_id, not_before)
    except CancelledBeforeStart as exc:  # a cancel won the race with the start: as asked
        print(f"{exc}.", file=sys.stderr)
        return 0
    except NotExecutable as exc:
        _crash_if_waiting(flow_run_id, str(exc))
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except (ResumeError, ObjectNotFound) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0 if state.is_completed() else 1


def _crash_if_waiting(flow_run_id: str, reason: str) -> None:
    """End a run this process could not start (its git source could not be pulled, it names
    no code) Crashed with the reason, so the run says why rather than its worker's "exited
    with code 1". A run another process started or ended is left as it is."""
    import sys

    from mainspring.store import get_store

    try:
        store = get_store()
        run = store.read_flow_run(flow_run_id)
        if run.state.type in (StateType.SCHEDULED, StateType.PENDING):
            store.set_state(flow_run_id, Crashed(message=reason))
    except Exception as exc:  # the reason is still printed; the worker ends the run
        print(f"Could not record why the run did not start: {exc}", file=sys.stderr)
