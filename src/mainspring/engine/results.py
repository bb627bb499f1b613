"""Result storage: where persisted results, cache records and run manifests live.

Storage is addressed by a URL: a local folder (a path, or `file://...`; the default is
`$MAINSPRING_HOME/results/`) or any fsspec filesystem (`s3://bucket/prefix` with the `s3` extra).
Nothing here is imported on the default path: a task without caching or persistence never
touches result storage.

Layout under a storage root (keys are relative paths):

    cache/<cache key>                      a cache record (with its expiration)
    cache/<cache key>.lock                 the lock of a SERIALIZABLE cache key (local folders)
    flow-runs/<flow run id>/manifest.json  how to run the flow again (see resume.py)
    flow-runs/<flow run id>/result         the flow's persisted return value
    flow-runs/<flow run id>/tasks/<key>    a task run's persisted result, by task key: what a
                                           resumed flow run returns instead of running it again
    task-runs/<task run id>                the persisted result of a task run outside any flow

A record is one object: a JSON header line (serializer, expiration, who wrote it), then the
serialized value. The header can be read alone, so a cache lookup checks expiration without
loading the value; `ResultRef.load_result()` reads the value when `state.result()` asks.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mainspring.engine.serializers import Serializer, get_serializer, serialize
from mainspring.exceptions import SerializationError


class ResultStorage:
    """A folder of result records, local or on any fsspec filesystem."""

    def __init__(self, url: str | os.PathLike[str]) -> None:
        text = os.fspath(url)
        if text.startswith("file://"):
            text = text[len("file://") :]
        self.fs: Any = None
        self.root: str
        if "://" in text:
            import fsspec

            self.fs, self.root = fsspec.core.url_to_fs(text)
            self.root = self.root.rstrip("/")
            self.url = text.rstrip("/")
            self.local: Path | None = None
        else:
            self.local = Path(text).expanduser().resolve()
            self.root = str(self.local)
            self.url = self.root

    def __repr__(self) -> str:
        return f"ResultStorage({self.url!r})"

    def __reduce__(self) -> tuple:
        return (storage_for, (self.url,))

    # -- objects ------------------------------------------------------------------------------
    def write(self, key: str, data: bytes) -> None:
        """Store `data` under `key` whole: readers see the old object or the new, never half."""
        if self.local is not None:
            path = self.local / key
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        else:
            self.fs.pipe_file(f"{self.root}/{key}", data)

    def read(self, key: str) -> bytes | None:
        """The object under `key`, or None when there is none."""
        try:
            if self.local is not None:
                return (self.local / key).read_bytes()
            return self.fs.cat_file(f"{self.root}/{key}")
        except FileNotFoundError:
            return None

    def read_header(self, key: str) -> dict[str, Any] | None:
        """The header of the record under `key` (its first line), or None when there is none."""
        try:
            if self.local is not None:
                with open(self.local / key, "rb") as f:
                    line = f.readline()
            else:
                with self.fs.open(f"{self.root}/{key}", "rb") as f:
                    line = f.readline()
        except FileNotFoundError:
            return None
        try:
            return json.loads(line)
        except ValueError:
            return None  # not a record of ours (or a torn write of another tool): a miss

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.local is not None:
                (self.local / key).unlink()
            else:
                self.fs.rm_file(f"{self.root}/{key}")

    # -- locks --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold an exclusive lock named `key` (blocking), across threads and processes.

        A `flock` on a lock file beside the records of a local folder, released by the OS if
        the holder dies. Object stores have no such lock: for them the lock file lives in
        `$MAINSPRING_HOME/locks/`, which serializes the runs of one machine only.
        """
        import fcntl

        if self.local is not None:
            path = self.local / f"{key}.lock"
        else:
            from hashlib import sha256

            from mainspring.settings import get_settings

            name = sha256(f"{self.url}/{key}".encode()).hexdigest()
            path = get_settings().home / "locks" / f"{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock


_storages: dict[str, ResultStorage] = {}
_storages_lock = threading.Lock()


def storage_for(spec: str | os.PathLike[str] | ResultStorage | Any) -> ResultStorage:
    """The storage `spec` names: a URL or path (instances are shared), a ResultStorage, or an
    object with a `basepath` (a Prefect LocalFileSystem-style block)."""
    if isinstance(spec, ResultStorage):
        return spec
    basepath = getattr(spec, "basepath", None)
    if basepath is not None:
        spec = basepath
    if not isinstance(spec, str | os.PathLike):
        raise TypeError(f"result_storage must be a URL or a path, got {spec!r}")
    text = os.fspath(spec)
    storage = _storages.get(text)
    if storage is None:
        with _storages_lock:
            storage = _storages.get(text) or ResultStorage(text)
            _storages[text] = storage
    return storage


def default_storage() -> ResultStorage:
    """The `result_storage` setting (MAINSPRING_RESULT_STORAGE), else `$MAINSPRING_HOME/results`."""
    from mainspring.settings import get_settings

    settings = get_settings()
    return storage_for(settings.result_storage or settings.home / "results")


# -- records ---------------------------------------------------------------------------------
def encode_record(header: dict[str, Any], payload: bytes) -> bytes:
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + payload


def decode_record(blob: bytes) -> tuple[dict[str, Any], bytes]:
    line, _, payload = blob.partition(b"\n")
    return json.loads(line), payload


class ResultRef:
    """A persisted result not loaded yet: `State.result()` calls `load_result()` on first use.

    Holds only the storage URL and key, so it pickles small and loads in any process that can
    reach the storage.
    """

    __slots__ = ("key", "storage_url")

    def __init__(self, storage_url: str, key: str) -> None:
        self.storage_url = storage_url
        self.key = key

    def load_result(self) -> Any:
        blob = storage_for(self.storage_url).read(self.key)
        if blob is None:
            raise SerializationError(f"Persisted result {self.key!r} is missing from {self}")
        header, payload = decode_record(blob)
        return get_serializer(header.get("serializer")).loads(payload)

    def __reduce__(self) -> tuple:
        return (ResultRef, (self.storage_url, self.key))

    def __repr__(self) -> str:
        return f"ResultRef({self.storage_url!r}, {self.key!r})"


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
) -> None:
    """Serialize `value` once and write a record under each (key, expiration)."""
    payload = serialize(serializer, value, what)
    now = time.time()
    for key, expiration in keys:
        header = {"serializer": serializer.type, "created": now, "by": what}
        if expiration is not None:
            header["expiration"] = now + expiration
        storage.write(key, encode_record(header, payload))


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
    from mainspring.engine.caching import DEFAULT, build_policy

    if persist_result is False:
        return None
    policy = build_policy(cache_policy, cache_key_fn)
    if persist_result and cache_policy is None and cache_key_fn is None:
        policy = DEFAULT
    if not (persist_result or policy or result_storage or result_serializer):
        return None
    return ResultOptions(
        persist=True,
        storage=None if result_storage is None else storage_for(result_storage),
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
        storage=None if result_storage is None else storage_for(result_storage),
        serializer=None if result_serializer is None else get_serializer(result_serializer),
    )
