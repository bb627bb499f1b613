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
store/sql/dead_runs.py); one whose process is alive, or on another host, needs `force=True`.
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
from types import ModuleType
from typing import TYPE_CHECKING, Any

from mainspring.engine.entrypoints import RESUME_MODULE, entrypoint, from_text
from mainspring.exceptions import ResultStorageError, ResumeError, SerializationError
from mainspring.model import FlowRunFilter, FlowRunSort
from mainspring.model.states import Completed, Failed
from mainspring.store.results.storage import ResultRef, default_storage, storage_for
from mainspring.store.results.trust import is_trusted

if TYPE_CHECKING:
    from mainspring.engine.flows import Flow
    from mainspring.engine.run_flow import FlowRunEngine
    from mainspring.model import FlowRun, State, TaskRun

__all__ = ["RESUME_MODULE", "entrypoint"]


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
        default_storage().write(manifest_key(run.id), json.dumps(manifest).encode())
    except Exception as exc:
        engine.log(logging.WARNING, f"Could not write the run manifest (retry needs it): {exc}")


def read_manifest(run: FlowRun) -> dict[str, Any]:
    """Where the run's flow is: its manifest if it wrote one, else its stored entrypoint; a
    ResumeError that says why there is neither, and what to do."""
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
    from mainspring.engine.flows import Flow  # cycle: flows -> start -> run_flow -> this module

    where = manifest["entrypoint"]
    for entry in [manifest.get("cwd"), *manifest.get("sys_path", [])]:
        if entry and entry not in sys.path:
            sys.path.insert(0, entry)
    module: ModuleType | None
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
        key = run.subflow_key
        earlier = None if key is None else self.subflows.get(key)
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
        engine.resume = Resume(self.store, earlier.id)
        ref = earlier.state.data
        if not (earlier.state.is_completed() and type(ref) is ResultRef):
            return
        if not is_trusted(ref.storage_url, ref.key):  # never loaded: the subflow runs again
            engine.log(
                logging.WARNING,
                f"Running again: its earlier result is in {ref.storage_url}, which this process "
                "does not trust (see MAINSPRING_RESULT_TRUSTED_LOCATIONS)",
            )
            return
        if storage_for(ref.storage_url).read_header(ref.key):
            engine.resumed = earlier


def end_resumed(engine: FlowRunEngine) -> None:
    """End a subflow run of a resumed parent as its earlier attempt completed, without running
    it, keeping that attempt's end time."""
    # lazy: results.persistence is off the default path
    from mainspring.engine.results.persistence import RESUMED_MESSAGE

    earlier = engine.resumed
    assert earlier is not None  # set by resume_subflow, the reason this is called
    engine.set_state(Completed(message=RESUMED_MESSAGE, data=earlier.state.data))
    if earlier.end_time is not None:
        engine.record.end_time = earlier.end_time
        engine.recorder.flow_run(engine.record, with_state=False)


def persist_flow_result(engine: FlowRunEngine, state: State) -> State:
    """Write a completed flow's return value; a value that cannot be written fails the run."""
    # lazy: results.storage is off the default path
    from mainspring.engine.results.storage import flow_result_key, persist_value

    options = engine.results
    try:
        ref = persist_value(
            options.resolved_storage(),
            [(flow_result_key(engine.record.id), None)],
            options.resolved_serializer(),
            state.result(),
            f"Flow {engine.flow.name!r}",
        )
    except (SerializationError, ResultStorageError) as exc:
        engine.log(logging.ERROR, str(exc))
        return Failed(message=str(exc), data=exc)
    return state.copy(data=ref)  # the stored run keeps where its result is
