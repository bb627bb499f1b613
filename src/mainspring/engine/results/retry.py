"""`resume_flow_run`: run a Failed, Crashed or Cancelled flow run again under the same id.

The command behind `mainspring flow-run retry`; what makes resuming possible (the manifest,
task keys, persisted results, subflow keys) is resume.py, which the flow's driver uses.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from mainspring.engine.logging import configure_logging
from mainspring.engine.results.resume import Resume, child_flow_runs, load_flow, read_manifest
from mainspring.engine.run_flow import FlowRunEngine, run_flow_async, run_flow_sync
from mainspring.engine.start import validated_parameters
from mainspring.exceptions import ResumeError
from mainspring.model.states import AwaitingRetry, Crashed
from mainspring.store.recorder import get_recorder

if TYPE_CHECKING:
    from mainspring.model import FlowRun, State


def _process_alive(manifest: dict[str, Any]) -> bool:
    """Whether the process that ran the flow may still be running it (unknown: assume so)."""
    if manifest.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(manifest["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mark_crashed(run: FlowRun, store: Any, recorder: Any, message: str) -> None:
    """Mark a run its dead process left unfinished Crashed, with its unfinished task runs and
    subflow runs (and theirs)."""
    run.state = Crashed(message=message)
    run.end_time = run.state.ts
    recorder.flow_run(run)
    for task_run in store.read_task_runs(run.id):
        if not task_run.state.is_final():
            task_run.state = Crashed(message=message)
            task_run.end_time = task_run.state.ts
            recorder.task_run(task_run)
    for child in child_flow_runs(store, run.id):
        if not child.state.is_final():
            _mark_crashed(child, store, recorder, message)


def resume_flow_run(flow_run_id: str, force: bool = False) -> State:
    """Run a Failed, Crashed or Cancelled top-level flow run again under the same id, in this
    process; return its final state. Finished task runs with persisted results are not run
    again. Raises ResumeError when the run cannot be resumed (and ObjectNotFound if unknown).
    """
    configure_logging()
    recorder = get_recorder()
    store = recorder.store
    run = store.read_flow_run(flow_run_id)
    label = f"Flow run {run.name!r} ({run.id})"
    if run.parent_flow_run_id is not None:
        raise ResumeError(f"{label} is a subflow run: retry its parent {run.parent_flow_run_id}")
    if run.state.is_completed():
        raise ResumeError(f"{label} is already {run.state.name}: there is nothing to resume")
    manifest = read_manifest(run)
    if not run.state.is_final():
        if _process_alive(manifest) and not force:
            raise ResumeError(
                f"{label} is {run.state.name} and its process {manifest.get('pid')} on "
                f"{manifest.get('host')} may still be running it; use force if it is not"
            )
        where = f"Flow run process {manifest.get('pid')} on {manifest.get('host')}"
        _mark_crashed(run, store, recorder, f"{where} is gone (found by retry)")
        recorder.flush()  # the resumed attempt reads its subflow runs back
    flow = load_flow(manifest)
    parameters, invalid = validated_parameters(flow, dict(run.parameters))
    run.end_time = None
    run.state = AwaitingRetry(message=f"Resuming: attempt {run.run_count + 1} of this flow run")
    recorder.flow_run(run)
    # Stored before Running: the store keeps a Cancelled or Crashed run from stale Running
    # snapshots, and only a retry state lifts that (upserts.snapshot_may_replace). Left to the
    # next batch, AwaitingRetry would be overtaken by Running, the run would stay Cancelled,
    # and the first heartbeat answer would cancel the retry.
    recorder.flush()
    engine = FlowRunEngine(flow, run, parameters, None, recorder)
    engine.invalid = invalid
    engine.resume = Resume(store, run.id)
    engine.log(
        logging.INFO,
        f"Resuming flow run {run.name!r} for flow {flow.name!r}: task runs with persisted "
        "results are not run again",
    )
    engine.write_manifest()  # this process runs it now
    if flow.is_async:
        import asyncio  # lazy: asyncio, only for an async flow

        return asyncio.run(run_flow_async(engine))
    return run_flow_sync(engine)
