"""Result storage: where persisted results, cache records and run manifests live.

Storage is addressed by a URL: a local folder (a path, or `file://...`; the default is
`$MAINSPRING_HOME/results/`) or any fsspec filesystem (`s3://bucket/prefix` with the `s3` extra).
It sits in the store layer, beside the run history, because a state read back from the store
carries a `ResultRef` that `state.result()` loads from here; the engine decides what to write
(engine/results/storage.py, persistence.py). Nothing here is imported on the default path: a task
without caching or persistence never touches result storage.

Layout under a storage root (keys are relative paths):

    cache/<cache key>                      a cache record (with its expiration)
    cache/<cache key>.lock                 the lock of a SERIALIZABLE cache key (local folders)
    flow-runs/<flow run id>/manifest.json  how to run the flow again (see engine/results/resume.py)
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
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mainspring.exceptions import MissingResult, ResultStorageError
from mainspring.store.private_files import FILE_MODE, private_folder


class ResultStorage:
    """A folder of result records, local or on any fsspec filesystem.

    An fsspec filesystem is resolved on first use, so that a storage that cannot be used (an
    unknown protocol, a missing extra) fails the run that uses it with a ResultStorageError
    naming it, rather than the definition naming it or the engine.
    """

    def __init__(self, url: str | os.PathLike[str], options: dict[str, Any] | None = None) -> None:
        text = os.fspath(url)
        #: the fsspec filesystem's options (a RemoteFileSystem block's settings: credentials,
        #: endpoint); never shown
        self._options = dict(options or {})
        if text.startswith("file://"):
            text = text[len("file://") :]
        self._fs: Any = None
        self.root: str
        if "://" in text:
            self.url = text.rstrip("/")
            self.root = ""  # the filesystem's own path, set by `fs`
            self.local: Path | None = None
        else:
            self.local = Path(text).expanduser().resolve()
            self.root = str(self.local)
            self.url = self.root

    def __repr__(self) -> str:
        return f"ResultStorage({self.url!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_defined_storage, (self.url, self._options or None))

    @property
    def fs(self) -> Any:
        """The fsspec filesystem of a URL storage (resolved once)."""
        if self._fs is None:
            try:
                import fsspec

                self._fs, root = fsspec.core.url_to_fs(self.url, **self._options)
            except (ImportError, ValueError, TypeError) as exc:  # a missing extra, bad options
                raise self.unusable(exc) from exc
            self.root = root.rstrip("/")
        return self._fs

    def unusable(self, exc: BaseException) -> ResultStorageError:
        return ResultStorageError(f"Result storage {self.url!r} cannot be used: {exc}")

    def _remote(self, key: str) -> tuple[Any, str]:
        fs = self.fs
        return fs, f"{self.root}/{key}"

    # -- objects ------------------------------------------------------------------------------
    def write(self, key: str, data: bytes) -> None:
        """Store `data` under `key` whole: readers see the old object or the new, never half.

        A local record is private (0600, made by mkstemp) in private folders (0700)."""
        try:
            if self.local is not None:
                self._write_local(self.local / key, data)
            else:
                fs, path = self._remote(key)
                fs.pipe_file(path, data)
        except OSError as exc:
            raise self.unusable(exc) from exc

    @staticmethod
    def _write_local(path: Path, data: bytes) -> None:
        import tempfile  # here: the recorder imports this module for ResultRef alone

        private_folder(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def read(self, key: str) -> bytes | None:
        """The object under `key`, or None when there is none."""
        try:
            if self.local is not None:
                return (self.local / key).read_bytes()
            fs, path = self._remote(key)
            data: bytes = fs.cat_file(path)
            return data
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self.unusable(exc) from exc

    def read_header(self, key: str) -> dict[str, Any] | None:
        """The header of the record under `key` (its first line), or None when there is none."""
        try:
            if self.local is not None:
                with open(self.local / key, "rb") as f:
                    line = f.readline()
            else:
                fs, path = self._remote(key)
                with fs.open(path, "rb") as f:
                    line = f.readline()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self.unusable(exc) from exc
        try:
            header = json.loads(line)
        except ValueError:
            return None  # not a record of ours (or a torn write of another tool): a miss
        return header if isinstance(header, dict) else None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.local is not None:
                (self.local / key).unlink()
            else:
                fs, path = self._remote(key)
                fs.rm_file(path)

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
        try:
            private_folder(path.parent)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise self.unusable(exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock


_storages: dict[str, ResultStorage] = {}
_storages_lock = threading.Lock()


def storage_for(
    spec: str | os.PathLike[str] | ResultStorage | Any, options: dict[str, Any] | None = None
) -> ResultStorage:
    """The storage `spec` names: a URL or path (instances are shared), a ResultStorage, an
    object with `as_result_storage()` (a filesystem block) or with a `basepath` (a Prefect
    LocalFileSystem-style object). `options` (a filesystem's credentials, endpoint) make a
    storage of their own, which then also serves its URL in this process: results read back
    from the store find it with its options."""
    if isinstance(spec, ResultStorage):
        return spec
    as_result_storage = getattr(spec, "as_result_storage", None)
    if callable(as_result_storage):
        storage = as_result_storage()
        if not isinstance(storage, ResultStorage):
            raise TypeError(f"{spec!r}.as_result_storage() did not return a ResultStorage")
        return storage
    basepath = getattr(spec, "basepath", None)
    if basepath is not None:
        spec = basepath
    if not isinstance(spec, str | os.PathLike):
        raise TypeError(f"result_storage must be a URL or a path, got {spec!r}")
    text = os.fspath(spec)
    if options:
        with _storages_lock:
            storage = _storages[text] = ResultStorage(text, options)
        return storage
    storage = _storages.get(text)
    if storage is None:
        with _storages_lock:
            storage = _storages.get(text) or ResultStorage(text)
            _storages[text] = storage
    return storage


def defined_storage(spec: str | os.PathLike[str] | ResultStorage | Any) -> ResultStorage:
    """The storage a flow or task of this process names as its `result_storage`: results are
    loaded from it as from the default storage (see store/results/trust.py)."""
    from mainspring.store.results.trust import trust

    storage = storage_for(spec)
    trust(storage.url)
    return storage


def _defined_storage(url: str, options: dict[str, Any] | None = None) -> ResultStorage:
    """Unpickle a storage (a task definition sent to a worker process): still a definition's."""
    return defined_storage(storage_for(url, options))


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


# -- references to persisted results ---------------------------------------------------------
_NOT_LOADED: Any = object()


class ResultRef:
    """A persisted result, loaded on first use: `State.result()` calls `load_result()`.

    A state holds one as its `data` when its result is persisted, in the process that ran it
    (with the value already in hand) and in a state read back from the store (where the run's
    row keeps `to_json()`). The state keeps the reference, not the value, so the recorder
    writing the state later still sees where the result lives; the value is kept here once
    loaded. Pickles as the address alone, small, loadable by any process that reaches the
    storage and trusts it (store/results/trust.py: a pickle runs code when loaded).
    """

    __slots__ = ("_value", "key", "serializer", "storage_url")

    def __init__(
        self, storage_url: str, key: str, serializer: str | None = None, value: Any = _NOT_LOADED
    ) -> None:
        self.storage_url = storage_url
        self.key = key
        self.serializer = serializer
        self._value = value

    def load_result(self) -> Any:
        value = self._value
        if value is _NOT_LOADED:
            from mainspring.store.results.trust import check_trusted

            check_trusted(self.storage_url, self.key)  # before touching it: a pickle runs code
            blob = storage_for(self.storage_url).read(self.key)
            if blob is None:
                raise MissingResult(
                    f"The persisted result {self.key!r} is missing from {self.storage_url}: "
                    "it was deleted, or that storage is not reachable from here"
                )
            from mainspring.store.results.serializers import get_serializer

            header, payload = decode_record(blob)
            value = self._value = get_serializer(header.get("serializer")).loads(payload)
        return value

    def to_json(self) -> dict[str, Any]:
        """The address as the store keeps it (a small JSON object)."""
        return {"storage": self.storage_url, "key": self.key, "serializer": self.serializer}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResultRef:
        return cls(data["storage"], data["key"], data.get("serializer"))

    def __reduce__(self) -> tuple[Any, ...]:
        return (ResultRef, (self.storage_url, self.key, self.serializer))

    def __repr__(self) -> str:
        return f"ResultRef({self.storage_url!r}, {self.key!r})"


class NotPersisted:
    """The result of a completed run read back from the store, which was never persisted: it
    lived in the memory of the process that ran it. `result()` says so instead of returning
    None, which would pass for a run that returned None."""

    __slots__ = ()

    def load_result(self) -> Any:
        raise MissingResult(
            "This run's result was not persisted: it lived only in the memory of the process "
            "that ran it. Give the task or flow persist_result=True to keep results."
        )

    def to_json(self) -> None:
        return None

    def __repr__(self) -> str:
        return "NotPersisted()"


NOT_PERSISTED = NotPersisted()


def stored_result(
    completed: bool, stored: dict[str, Any] | None
) -> ResultRef | NotPersisted | None:
    """What a state read back from the store holds as `data`: its result's address, or for a
    completed run without one, NOT_PERSISTED (other states carry no result)."""
    if stored:
        return ResultRef.from_json(stored)
    return NOT_PERSISTED if completed else None
