"""The HTTP store: ApiStore, a Mainspring server's client, and the wire codec.

`ApiStore` is loaded on first use (PEP 562): the wire codec's modules are imported by the
recorder and the server, which must not pay for httpx to encode a record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mainspring.store.http.store import ApiStore

__all__ = ["ApiStore"]


def __getattr__(name: str) -> Any:
    if name == "ApiStore":
        from mainspring.store.http.store import ApiStore

        return ApiStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
