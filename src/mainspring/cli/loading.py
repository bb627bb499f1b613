"""Imports without garbage collections, for the CLI's start-up.

A command imports its command group and the store (SQLAlchemy or httpx): hundreds of thousands
of objects that all live until the process ends. Python's collector, triggered by allocations,
walked them ~120 times during `mainspring deployment run`, full collections included: ~20% of
its start-up. Inside `loading()` no collection runs; after it, in the `mainspring` process
itself, the survivors are frozen (`gc.freeze()`: never walked again; re-enabling without it
costs one collection as long as those saved) and collection resumes, so a long-running command
(a server, a worker, a flow run) collects as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_freeze = False


def freeze_after_loading() -> None:
    """Called by the `mainspring` command's own entry point only: in a process that runs the
    app in-process (a test's CliRunner), freezing would keep that process's pending garbage,
    and whatever it would have finalized, for ever."""
    global _freeze
    _freeze = True


@contextmanager
def loading() -> Iterator[None]:
    """No garbage collection inside; what was loaded is frozen after (see above). Nests."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:  # the outermost block
            if _freeze:
                gc.freeze()
            gc.enable()
