"""The HTTP store: ApiStore, a Mainspring server's client, and the wire codec.

`ApiStore` is loaded on first use (PEP 562): the wire codec's modules are imported by the
recorder and the server, which must not pay for httpx to encode a record.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mainspring.store.http.store import ApiStore

__all__ = ["ApiStore"]

if "httpx" not in sys.modules:
    # httpx's __init__ imports its own command-line client (`httpx._main`) whenever click, rich
    # and pygments are installed, as they are here: about a third of the start-up of a CLI
    # command that talks to a server, for a program no Mainspring process runs. A None entry
    # makes that import fail, which httpx expects: its `httpx.main` then only says to install
    # httpx[cli]. Nothing else imports `httpx._main`.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def __getattr__(name: str) -> Any:
    if name == "ApiStore":
        from mainspring.store.http.store import ApiStore

        return ApiStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
