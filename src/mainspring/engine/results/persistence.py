"""The two moments a persisting task run touches result storage: before it runs, and after.

`lookup` (once the inputs are resolved) ends the run without calling the function when a
resumed flow run already holds its result, or when a live cache record matches its cache key.
`persist` (when the function returned) writes the result where later runs will look: under
the task key of its flow run (durable resume) and under its cache key (caching). A cache hit
is copied under the task key too, so that resuming its flow run finds it even after the cache
record expired or was refreshed. Either way the final state holds a `ResultRef` to the record
under the task key, which the store keeps with the state.

Only tasks whose `ResultOptions` are set come here; the default path never imports this module.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mainspring.engine.context import TaskRunContext
from mainspring.engine.results.caching import IsolationLevel, UnhashableInputs
from mainspring.engine.results.storage import (
    ResultOptions,
    cache_record_key,
    is_live,
    persist_value,
    task_result_key,
)
from mainspring.model.states import Cached, Completed
from mainspring.store.results.storage import ResultRef, ResultStorage, decode_record, encode_record

if TYPE_CHECKING:
    from mainspring.engine.run_task import TaskRunEngine

RESUMED_MESSAGE = "Resumed: result persisted by an earlier attempt of this flow run (not run again)"


def lookup(engine: TaskRunEngine) -> bool:
    """End the run from storage when its result exists already; True when it did.

    With a SERIALIZABLE policy the cache key's lock is taken here and held (on the engine)
    until the run ends, so a racing run waits for this one's record instead of computing too.
    """
    options: ResultOptions = engine.results
    storage = options.resolved_storage()
    record = engine.record
    flow_ctx = engine.flow_ctx
    resuming = flow_ctx is not None and flow_ctx.resume is not None
    if resuming and options.persist and record.flow_run_id is not None:
        key = task_result_key(record.flow_run_id, record.task_key)
        header = storage.read_header(key)
        if header is not None:
            _resumed(engine, ResultRef(storage.url, key, header.get("serializer")))
            return True
    policy = options.cache_policy
    if policy is None:
        return False
    cache_key = _cache_key(engine, policy)
    if cache_key is None:
        return False
    record.cache_key = cache_key
    key = cache_record_key(cache_key)
    if policy.isolation_level is IsolationLevel.SERIALIZABLE:
        lock = storage.lock(key)
        lock.__enter__()
        engine.lock = lock
    if options.refresh:
        return False
    header = storage.read_header(key)
    if header is not None and is_live(header):
        ref = _keep_hit(engine, storage, key)
        engine.set_state(Cached(data=ref or ResultRef(storage.url, key, header.get("serializer"))))
        return True
    return False


def _keep_hit(engine: TaskRunEngine, storage: ResultStorage, cache_key: str) -> ResultRef | None:
    """Copy a cache hit's record under the run's own key (without the cache's expiration):
    what a resumed flow run returns, and what the Cached state points at. None when the run
    keeps no result of its own, or the record vanished (expired and removed) meanwhile."""
    key = _own_key(engine)
    blob = storage.read(cache_key) if key is not None else None
    if key is None or blob is None:
        return None
    header, payload = decode_record(blob)
    header.pop("expiration", None)
    header["cache"] = cache_key  # where it came from
    storage.write(key, encode_record(header, payload))
    return ResultRef(storage.url, key, header.get("serializer"))


def _own_key(engine: TaskRunEngine) -> str | None:
    """Where this run's result is kept as its own: under its task key in a flow run, by id
    outside any flow; None when the run does not persist (it only caches)."""
    record = engine.record
    if not engine.results.persist:
        return None
    if record.flow_run_id is not None:
        return task_result_key(record.flow_run_id, record.task_key)
    return f"task-runs/{record.id}"


def _resumed(engine: TaskRunEngine, ref: ResultRef) -> None:
    """End Completed with the earlier attempt's result, keeping that attempt's end time (the
    run's duration is the time it ran, not the time between the two attempts)."""
    record, flow_ctx = engine.record, engine.flow_ctx
    assert flow_ctx is not None and flow_ctx.resume is not None  # a task run being resumed
    earlier = flow_ctx.resume.previous.get(record.task_key)
    engine.set_state(Completed(message=RESUMED_MESSAGE, data=ref))
    if earlier is not None and earlier.state.is_completed() and earlier.end_time is not None:
        record.end_time = earlier.end_time
        engine.recorder.task_run(record, with_state=False)


def _cache_key(engine: TaskRunEngine, policy: Any) -> str | None:
    task = engine.task
    inputs = task.parameters.bind(engine.args, engine.kwargs)
    flow_ctx = engine.flow_ctx
    flow_parameters = flow_ctx.flow_run.parameters if flow_ctx is not None else {}
    context = TaskRunContext(task, engine.record, engine.log_prints, engine.label, inputs)
    try:
        return policy.compute_key(context, inputs, flow_parameters)
    except UnhashableInputs as exc:
        engine.log(logging.WARNING, f"Not caching this run: {exc}")
        return None


def persist(engine: TaskRunEngine, value: Any) -> Any:
    """Write the result under its own key (see `_own_key`) and its cache key (if any); return
    what the Completed state holds: a ResultRef (with the value) when it wrote, else `value`.

    Raises SerializationError (naming the task and the type) when the value cannot be written.
    """
    options: ResultOptions = engine.results
    record = engine.record
    keys: list[tuple[str, float | None]] = []
    own = _own_key(engine)
    if own is not None:
        keys.append((own, None))
    if record.cache_key is not None:
        keys.append((cache_record_key(record.cache_key), options.expiration))
    if not keys:
        return value
    return persist_value(
        options.resolved_storage(),
        keys,
        options.resolved_serializer(),
        value,
        f"Task {engine.task.name!r}",
    )


def release(engine: TaskRunEngine) -> None:
    """Let go of the cache key's lock, if this run took it."""
    lock, engine.lock = engine.lock, None
    if lock is not None:
        lock.__exit__(None, None, None)
