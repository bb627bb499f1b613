"""What persisting runs ask of result storage: their options, the keys they write, the writing.

The storage itself (local folders and fsspec URLs, records, `ResultRef`) is in the store layer,
store/results/storage.py, with the layout of its keys. Nothing here is imported on the default path:
a task without caching or persistence never touches result storage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from mainspring.store.results.serializers import Serializer, get_serializer, serialize
from mainspring.store.results.storage import (
    ResultRef,
    ResultStorage,
    default_storage,
    defined_storage,
    encode_record,
)


def task_result_key(flow_run_id: str, task_key: str) -> str:
    return f"flow-runs/{flow_run_id}/tasks/{quote(task_key, safe='')}"


def flow_result_key(flow_run_id: str) -> str:
    return f"flow-runs/{flow_run_id}/result"


def cache_record_key(cache_key: str) -> str:
    return f"cache/{quote(cache_key, safe='')}"


def is_live(header: dict[str, Any] | None, now: float | None = None) -> bool:
    """A record exists and has not expired."""
    if header is None:
        return False
    expiration = header.get("expiration")
    return expiration is None or expiration > (time.time() if now is None else now)


#: How a `result_storage` string names a saved filesystem block: "block:local-file-system/x".
BLOCK_PREFIX = "block:"


def named_storage(spec: Any) -> ResultStorage:
    """The storage a flow or task names as `result_storage`: a path, an fsspec URL, a
    filesystem block (anything with `as_result_storage()`), or "block:slug/name", a saved
    block loaded now, when the flow or task is defined (blocks/ is imported only then)."""
    if isinstance(spec, str) and spec.startswith(BLOCK_PREFIX):
        from mainspring.blocks.core import Block

        spec = Block.load(spec[len(BLOCK_PREFIX) :])
    return defined_storage(spec)


# -- what a task or flow asked for -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ResultOptions:
    """Persistence and caching of one task (or of the tasks of a flow that opted in).

    `storage` and `serializer` left None are inherited from the flow, then the defaults.
    """

    persist: bool = True
    storage: ResultStorage | None = None
    serializer: Serializer | None = None
    cache_policy: Any = None  # a caching.CachePolicy; None: no caching
    expiration: float | None = None  # seconds a cache record stays valid
    refresh: bool = False

    def inherit(self, flow_options: ResultOptions | None) -> ResultOptions:
        """Fill what this task left open from its flow's options."""
        if flow_options is None or (self.storage and self.serializer):
            return self
        return replace(
            self,
            storage=self.storage or flow_options.storage,
            serializer=self.serializer or flow_options.serializer,
        )

    def resolved_storage(self) -> ResultStorage:
        return self.storage or default_storage()

    def resolved_serializer(self) -> Serializer:
        return self.serializer or get_serializer(None)


def persist_value(
    storage: ResultStorage,
    keys: list[tuple[str, float | None]],
    serializer: Serializer,
    value: Any,
    what: str,
) -> ResultRef:
    """Serialize `value` once and write a record under each (key, expiration); return a
    reference to the first (holding `value`, so reading it back costs nothing)."""
    payload = serialize(serializer, value, what)
    now = time.time()
    for key, expiration in keys:
        header = {"serializer": serializer.type, "created": now, "by": what}
        if expiration is not None:
            header["expiration"] = now + expiration
        storage.write(key, encode_record(header, payload))
    return ResultRef(storage.url, keys[0][0], serializer.type, value)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else float(value)
    if seconds <= 0:
        raise ValueError(f"cache_expiration must be positive, got {value!r}")
    return seconds


def task_result_options(
    cache_policy: Any = None,
    cache_key_fn: Any = None,
    cache_expiration: Any = None,
    refresh_cache: bool | None = None,
    persist_result: bool | None = None,
    result_storage: Any = None,
    result_serializer: Any = None,
) -> ResultOptions | None:
    """A task's options as Prefect 3 reads them.

    Caching needs persistence, so a cache policy, key function, storage or serializer turns
    `persist_result` on; `persist_result=True` without a policy caches with DEFAULT (inputs,
    source and flow run id). `persist_result=False` turns both off.
    """
    from mainspring.engine.results.caching import DEFAULT, build_policy  # lazy: hashlib

    if persist_result is False:
        return None
    policy = build_policy(cache_policy, cache_key_fn)
    if persist_result and cache_policy is None and cache_key_fn is None:
        policy = DEFAULT
    if not (persist_result or policy or result_storage or result_serializer):
        return None
    return ResultOptions(
        persist=True,
        storage=None if result_storage is None else named_storage(result_storage),
        serializer=None if result_serializer is None else get_serializer(result_serializer),
        cache_policy=policy,
        expiration=_seconds(cache_expiration),
        refresh=bool(refresh_cache),
    )


def flow_result_options(
    persist_result: bool | None, result_storage: Any, result_serializer: Any
) -> ResultOptions | None:
    """What a flow's options ask: persisted results for the flow and every task it runs
    (each task may still opt out with `persist_result=False`)."""
    if persist_result is False:
        return None
    if not (persist_result or result_storage is not None or result_serializer is not None):
        return None
    return ResultOptions(
        persist=True,
        storage=None if result_storage is None else named_storage(result_storage),
        serializer=None if result_serializer is None else get_serializer(result_serializer),
    )
