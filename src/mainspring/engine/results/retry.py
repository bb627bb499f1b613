"""`resume_flow_run`: run a Failed, Crashed or Cancelled flow run again under the same id.

The command behind `mainspring flow-run retry`; what makes resuming possible (the manifest,
task keys, persisted results, subflow keys) is resume.py, which the flow's driver uses.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

from mainspring.engine.entrypoints import entrypoint_text
from mainspring.engine.logging import configure_logging
from mainspring.engine.results.resume import Resume, child_flow_runs, load_flow, read_manifest
from mainspring.engine.run_flow import FlowRunEngine, run_flow_async, run_flow_sync
from mainspring.engine.start import validated_parameters
from mainspring.exceptions import ResumeError
from mainspring.model.states import AwaitingRetry, Crashed
from mainspring.store.processes import describe, process_gone, this_process
from mainspring.store.recorder import get_recorder
from mainspring.store.results.storage import ResultRef

if TYPE_CHECKING:
    from mainspring.model import FlowRun, State


def _running_process(run: FlowRun, manifest: dict[str, Any]) -> tuple[str, bool]:
    """The process that ran the flow run ("process 12 on host-a") and whether it may still be
    running it (when that cannot be known: assume so). The run's own record tells; for a run
    recorded by an older Mainspring, its manifest (host name and pid only)."""
    host, pid, start = run.host, run.pid, run.process_start
    if pid is None:
        host, pid, start = manifest.get("host"), manifest.get("pid"), None
        if host == socket.gethostname():
            host = this_process().host
    return describe(host, pid), not process_gone(host, pid, start)


def _kept_in_words(resume: Resume) -> str:
    """What a resumed attempt keeps of the earlier ones, in words: how many task runs have a
    persisted result (those are not run again; the others are)."""
    earlier = resume.previous.values()
    count = sum(1 for t in earlier if t.state.is_completed() and type(t.state.data) is ResultRef)
    if count == 0:
        return (
            "no task run of the earlier attempts persisted its result, so every task runs "
            "again (persist_result=True on the flow or its tasks keeps finished ones)"
        )
    return (
        f"{count} of its {len(earlier)} earlier task runs persisted their result and are not "
        "run again; the others run again"
    )


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
        process, alive = _running_process(run, manifest)
        if alive and not force:
            raise ResumeError(
                f"{label} is {run.state.name} and its {process} may still be running it; "
                "use force if it is not"
            )
        _mark_crashed(run, store, recorder, f"The {process} is gone (found by retry)")
        recorder.flush()  # the resumed attempt reads its subflow runs back
    flow = load_flow(manifest)
    parameters, invalid = validated_parameters(flow, dict(run.parameters))
    run.end_time = None
    run.state = AwaitingRetry(message=f"Resuming: attempt {run.run_count + 1} of this flow run")
    run.host, run.pid, run.process_start = this_process()  # this process runs it now
    run.entrypoint = entrypoint_text(flow) or run.entrypoint
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
        f"Resuming flow run {run.name!r} for flow {flow.name!r}: " + _kept_in_words(engine.resume),
    )
    engine.write_manifest()  # this process runs it now
    if flow.is_async:
        import asyncio  # lazy: asyncio, only for an async flow

        return asyncio.run(run_flow_async(engine))
    return run_flow_sync(engine)
