"""Which result storages this process loads results from.

A state read back from the store carries the address of its result (a `ResultRef`), and any
writer of the store (an API client with a key, anyone who can write the database) can set that
address. Loading a result unpickles it, which runs code; so a result is loaded only from a
location this process trusts:

- its own result storage (MAINSPRING_RESULT_STORAGE, default `$MAINSPRING_HOME/results`);
- the storages named by the flows and tasks defined in this process (`result_storage=`);
- the locations listed in MAINSPRING_RESULT_TRUSTED_LOCATIONS (comma-separated paths or URL
  prefixes): results written by other programs with other storages.

Locations are compared normalized, the record's key included: a local path resolved (symlinks,
`..`), a URL as scheme, host and normalized path. A record is inside a trusted location when
its location equals it or continues it after a `/`.
"""

from __future__ import annotations

import os
import posixpath
import threading
from pathlib import Path
from urllib.parse import urlsplit

from mainspring.exceptions import UntrustedResultLocation

TRUSTED_SETTING = "MAINSPRING_RESULT_TRUSTED_LOCATIONS"

_defined: set[str] = set()  # normalized roots of the storages flows and tasks here named
_defined_lock = threading.Lock()


def normalized(location: str | os.PathLike[str]) -> str:
    """`location` in the one form locations are compared in."""
    text = os.fspath(location).strip()
    if text.startswith("file://"):
        text = text[len("file://") :]
    if "://" not in text:
        return str(Path(text).expanduser().resolve())
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        return text  # not a plain storage address: equal to itself only
    path = posixpath.normpath("/" + parts.path.lstrip("/")).rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc}{path}"


def record_location(storage_url: str, key: str) -> str:
    """Where the record `key` of the storage `storage_url` really is, normalized."""
    text = storage_url[len("file://") :] if storage_url.startswith("file://") else storage_url
    if "://" not in text:
        return str((Path(text).expanduser() / key).resolve())
    return normalized(f"{text.rstrip('/')}/{key}")


def within(location: str, root: str) -> bool:
    return location == root or location.startswith(root.rstrip("/") + "/")


def trust(storage_url: str) -> None:
    """Trust a storage named by a flow or task of this process (it writes its results there)."""
    root = normalized(storage_url)
    if root not in _defined:
        with _defined_lock:
            _defined.add(root)


def trusted_roots() -> list[str]:
    """Every location this process loads results from, normalized."""
    from mainspring.settings import get_settings

    settings = get_settings()
    own = settings.result_storage or settings.home / "results"
    extra = [normalized(location) for location in settings.result_trusted_locations]
    return [normalized(own), *sorted(_defined), *extra]


def is_trusted(storage_url: str, key: str) -> bool:
    location = record_location(storage_url, key)
    return any(within(location, root) for root in trusted_roots())


def check_trusted(storage_url: str, key: str) -> None:
    """Raise UntrustedResultLocation unless the record may be loaded (see the module doc)."""
    if not is_trusted(storage_url, key):
        raise UntrustedResultLocation(
            f"Refusing to load the result {key!r} from {storage_url!r}: that location is not "
            "one this process trusts (its result storage, MAINSPRING_RESULT_STORAGE, and the "
            "result_storage of the flows and tasks defined here), and loading a result may run "
            f"code. If that storage is yours, add it to {TRUSTED_SETTING} (comma-separated "
            "paths or URL prefixes)."
        )
