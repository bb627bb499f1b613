"""Durable resume: run a Failed, Crashed or Cancelled flow run again under the same id.

    mainspring flow-run retry <ID>           # or: mainspring.resume_flow_run("<ID>")

What makes it possible:

- the **entrypoint** every flow run records (engine/entrypoints.py: `module:qualname` or
  `path/to/script.py:qualname`) and its parameters, in the store: enough to import the flow
  again and call it as before, for any run, a killed one included.
- a **run manifest** at `flow-runs/<id>/manifest.json` of the default result storage, which
  also holds the working directory the run started in (a module is imported from there, when
  the retry runs elsewhere): a top-level flow that persists results writes it when it starts,
  any other top-level run when it ends without completing; the default, successful path does
  no storage I/O. A retry reads it when there is one, else the stored entrypoint.
- **task keys**: each task run has a deterministic key within its flow run (the task's name and
  call index, or `task_key=`), so the resumed attempt knows which earlier run each call is.
- **persisted results**: a task with `persist_result=True` (every task of a flow with
  `persist_result=True`) persists its result under `flow-runs/<id>/tasks/<task key>` when it
  completes. On resume, a call whose key has such a record ends Completed ("Resumed: ...")
  with that result, without running; the rest run again.

- **subflow keys**: each subflow run has a key within its parent (the subflow's name and call
  index, `flow_run.subflow_key`). A resumed parent gives a subflow call the identity of the
  earlier run with its key, which resumes in turn (its finished tasks are not run again); one
  that completed with a persisted result returns it without running.

The resumed attempt reuses the flow run's record (run_count goes on counting, the timeline
shows both attempts, the process columns name the retrying process) and the task run records
of the same keys. A flow run still marked Running whose process is gone (killed) is marked
Crashed first, with its subflow runs (opening the store on its host already does that:
store/dead_runs.py); one whose process is alive, or on another host, needs `force=True`.
Subflow runs are not resumed on their own: retry the parent.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mainspring.engine.entrypoints import RESUME_MODULE, entrypoint, entrypoint_text, from_text
from mainspring.exceptions import ResumeError

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow
    from mainspring.engine.run_flow import FlowRunEngine
    from mainspring.model import FlowRun, State, TaskRun

__all__ = ["RESUME_MODULE", "entrypoint", "resume_flow_run"]


def manifest_key(flow_run_id: str) -> str:
    return f"flow-runs/{flow_run_id}/manifest.json"


# -- writing the manifest ----------------------------------------------------------------------
def write_manifest(engine: FlowRunEngine) -> None:
    """Record how to run this flow run again; a failure to write only warns (the run goes on)."""
    run = engine.record
    manifest = {
        "flow_run_id": run.id,
        "flow_name": run.flow_name,
        "entrypoint": entrypoint(engine.flow),
        "cwd": os.getcwd(),
        "sys_path": [p for p in sys.path[:1] if p],
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "written": time.time(),
    }
    try:
        from mainspring.store.results import default_storage

        default_storage().write(manifest_key(run.id), json.dumps(manifest).encode())
    except Exception as exc:
        engine.log(logging.WARNING, f"Could not write the run manifest (retry needs it): {exc}")


def read_manifest(run: FlowRun) -> dict[str, Any]:
    """Where the run's flow is: its manifest if it wrote one, else its stored entrypoint; a
    ResumeError that says why there is neither, and what to do."""
    from mainspring.store.results import default_storage

    storage = default_storage()
    blob = storage.read(manifest_key(run.id))
    if blob is not None:
        return json.loads(blob)
    if run.entrypoint:
        return from_text(run.entrypoint, run.flow_name)
    raise ResumeError(
        f"Flow run {run.name!r} ({run.id}) cannot be retried: it recorded no entrypoint (where "
        f"its flow is defined) and has no run manifest in {storage.url}. It was started "
        "interactively, by an older Mainspring, or with another result storage "
        "(MAINSPRING_RESULT_STORAGE). Run the flow again."
    )


# -- loading the flow ----------------------------------------------------------------------------
def load_flow(manifest: dict[str, Any]) -> Flow:
    """Import the flow the manifest names (a script is loaded without running its __main__)."""
    from mainspring.engine.flows import Flow

    where = manifest["entrypoint"]
    for entry in [manifest.get("cwd"), *manifest.get("sys_path", [])]:
        if entry and entry not in sys.path:
            sys.path.insert(0, entry)
    if where.get("module"):
        try:
            module = importlib.import_module(where["module"])
        except ModuleNotFoundError as exc:
            if not exc.name or not f"{where['module']}.".startswith(f"{exc.name}."):
                raise  # the module is there; something it imports is not
            raise ResumeError(
                f"Cannot import module {where['module']!r}, where flow "
                f"{manifest['flow_name']!r} is defined ({exc}): retry from the folder the run "
                "was started in, or with the module importable (PYTHONPATH)."
            ) from exc
    elif where.get("path") and Path(where["path"]).is_file():
        module = sys.modules.get(RESUME_MODULE)
        if module is None or getattr(module, "__file__", None) != where["path"]:
            spec = importlib.util.spec_from_file_location(RESUME_MODULE, where["path"])
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[RESUME_MODULE] = module
            spec.loader.exec_module(module)
    else:
        raise ResumeError(
            f"Cannot find the code of flow {manifest['flow_name']!r}: it was defined "
            f"{'in ' + where['path'] if where.get('path') else 'interactively'}, which is gone."
        )
    flows = [v for v in vars(module).values() if isinstance(v, Flow)]
    named = [f for f in flows if f.name == manifest["flow_name"]]
    exact = [f for f in named if f.fn.__qualname__ == where["qualname"]]
    for candidates in (exact, named):
        if candidates:
            return candidates[0]
    obj: Any = module
    with contextlib.suppress(AttributeError):
        for part in where["qualname"].split("."):
            obj = getattr(obj, part)
        if isinstance(obj, Flow):
            return obj
    raise ResumeError(
        f"Module {module.__name__!r} has no flow named {manifest['flow_name']!r} at top level."
    )


# -- the resumed attempt -------------------------------------------------------------------------
def child_flow_runs(store: Any, flow_run_id: str) -> list[FlowRun]:
    """The subflow runs of a flow run, oldest first."""
    from mainspring.model import FlowRunFilter, FlowRunSort

    found: list[FlowRun] = []
    where = FlowRunFilter(parent_flow_run_id=flow_run_id)
    while page := store.read_flow_runs(where, FlowRunSort.CREATED_DESC, 1000, len(found)):
        found += page
    return found[::-1]


class Resume:
    """What a resumed attempt knows of the earlier ones: their task runs by task key and their
    subflow runs by subflow key (the latest run of a key, when a flow retry repeated it)."""

    def __init__(self, store: Any, flow_run_id: str) -> None:
        self.store = store
        self.previous = {t.task_key: t for t in store.read_task_runs(flow_run_id)}
        children = child_flow_runs(store, flow_run_id)
        self.subflows = {r.subflow_key: r for r in children if r.subflow_key is not None}

    def adopt(self, task_run: TaskRun) -> None:
        """Give a new call the identity of the earlier run with its key: one run per key."""
        earlier = self.previous.get(task_run.task_key)
        if earlier is not None:
            task_run.id = earlier.id
            task_run.created = earlier.created
            task_run.start_time = earlier.start_time
            task_run.run_count = earlier.run_count

    def adopt_subflow(self, run: FlowRun) -> FlowRun | None:
        """Give a subflow call the identity (id, name, times, run count) of the earlier run
        with its key; return that run, or None when the key is new."""
        earlier = self.subflows.get(run.subflow_key)
        if earlier is not None:
            run.id, run.name = earlier.id, earlier.name
            run.created = earlier.created
            run.start_time = earlier.start_time
            run.run_count = earlier.run_count
        return earlier

    def resume_subflow(self, engine: FlowRunEngine, earlier: FlowRun) -> None:
        """Let an adopted subflow run resume its own earlier attempt: its tasks and subflows
        are matched by key; if it completed with a result that is still there, it returns
        that without running (see `end_resumed`)."""
        from mainspring.store.results import ResultRef, storage_for

        engine.resume = Resume(self.store, earlier.id)
        ref = earlier.state.data
        kept = type(ref) is ResultRef and storage_for(ref.storage_url).read_header(ref.key)
        if earlier.state.is_completed() and kept:
            engine.resumed = earlier


def end_resumed(engine: FlowRunEngine) -> None:
    """End a subflow run of a resumed parent as its earlier attempt completed, without running
    it, keeping that attempt's end time."""
    from mainspring.engine.persistence import RESUMED_MESSAGE
    from mainspring.model.states import Completed

    earlier = engine.resumed
    engine.set_state(Completed(message=RESUMED_MESSAGE, data=earlier.state.data))
    if earlier.end_time is not None:
        engine.record.end_time = earlier.end_time
        engine.recorder.flow_run(engine.record, with_state=False)


def persist_flow_result(engine: FlowRunEngine, state: State) -> State:
    """Write a completed flow's return value; a value that cannot be written fails the run."""
    from mainspring.engine.results import flow_result_key, persist_value
    from mainspring.exceptions import SerializationError
    from mainspring.model.states import Failed

    options = engine.results
    try:
        ref = persist_value(
            options.resolved_storage(),
            [(flow_result_key(engine.record.id), None)],
            options.resolved_serializer(),
            state.result(),
            f"Flow {engine.flow.name!r}",
        )
    except SerializationError as exc:
        engine.log(logging.ERROR, str(exc))
        return Failed(message=str(exc), data=exc)
    return state.copy(data=ref)  # the stored run keeps where its result is


def _running_process(run: FlowRun, manifest: dict[str, Any]) -> tuple[str, bool]:
    """The process that ran the flow run ("process 12 on host-a") and whether it may still be
    running it (when that cannot be known: assume so). The run's own record tells; for a run
    recorded by an older Mainspring, its manifest (host name and pid only)."""
    from mainspring.store.processes import describe, process_gone, this_process

    host, pid, start = run.host, run.pid, run.process_start
    if pid is None:
        host, pid, start = manifest.get("host"), manifest.get("pid"), None
        if host == socket.gethostname():
            host = this_process().host
    return describe(host, pid), not process_gone(host, pid, start)


def _kept_in_words(resume: Resume) -> str:
    """What a resumed attempt keeps of the earlier ones, in words: how many task runs have a
    persisted result (those are not run again; the others are)."""
    from mainspring.store.results import ResultRef

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
    from mainspring.model.states import Crashed

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
    from mainspring.engine.logging import configure_logging
    from mainspring.engine.run_flow import FlowRunEngine, run_flow_async, run_flow_sync
    from mainspring.engine.start_flow import validated_parameters
    from mainspring.model.states import AwaitingRetry
    from mainspring.store.processes import this_process
    from mainspring.store.recorder import get_recorder

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
        import asyncio

        return asyncio.run(run_flow_async(engine))
    return run_flow_sync(engine)
