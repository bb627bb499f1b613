"""A connection resource that belongs to one process: made on first use, made anew after fork.

A forked child inherits its parent's pooled database connections and kept-alive HTTP
connections as open sockets. Using them from both processes interleaves two conversations on
one socket (PostgreSQL answers one process with the other's rows, or drops both); closing
them in the child closes the parent's too. So the child forgets what it inherited (without
closing it) and makes its own. SqlStore keeps its SQLAlchemy engine in one, ApiStore its
httpx client.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    """`get()` returns this process's resource, making it with `make` when there is none yet
    or the one held was made before a fork; `forget` lets go of such an inherited one in the
    child (leaving its connections to the parent), `close` closes one of this process's."""

    def __init__(
        self,
        make: Callable[[], T],
        *,
        close: Callable[[T], None],
        forget: Callable[[T], None] = lambda _: None,
    ) -> None:
        self._make, self._close, self._forget = make, close, forget
        self._value: T | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is not None and self._pid == os.getpid():  # the usual case: no lock
            return value
        with self._lock:
            self._drop_inherited()
            if self._value is None:
                self._value = self._make()  # may raise: then nothing is kept
                self._pid = os.getpid()
            return self._value

    def close(self) -> None:
        """Close this process's resource (forget an inherited one); `get` makes a new one."""
        with self._lock:
            self._drop_inherited()
            value, self._value = self._value, None
            if value is not None:
                self._close(value)

    def _drop_inherited(self) -> None:
        if self._value is not None and self._pid != os.getpid():
            value, self._value = self._value, None
            self._forget(value)
